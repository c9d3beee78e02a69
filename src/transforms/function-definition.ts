import { Type, type Static } from '@sinclair/typebox';
import { DefinitionKey } from '../catalogs/definition.js';
import { SecretRef } from '../secrets/reference.js';
import { badRequest } from '../core/errors.js';
import { compileFunction } from './compile.js';
import { DEFAULT_LIMITS, FunctionSandbox, type SandboxLimits } from './sandbox.js';

export const FUNCTION_KIND = 'functions';

export const FunctionSignature = Type.Object(
  {
    header: Type.String({ minLength: 1, maxLength: 200, description: 'Request header carrying the signature, such as X-Shopify-Hmac-Sha256.' }),
    secret: SecretRef,
    algorithm: Type.Optional(Type.Union([Type.Literal('sha256'), Type.Literal('sha1'), Type.Literal('sha512')], { default: 'sha256' })),
    encoding: Type.Optional(Type.Union([Type.Literal('hex'), Type.Literal('base64')], { default: 'hex' })),
    prefix: Type.Optional(Type.String({ maxLength: 40, description: 'Text before the digest in the header, such as `sha256=`.' })),
  },
  { additionalProperties: false, description: 'HMAC of the raw request body with the secret, compared in constant time.' },
);
export type FunctionSignature = Static<typeof FunctionSignature>;

export const FunctionBody = Type.Object(
  {
    key: DefinitionKey,
    name: Type.Optional(Type.String({ maxLength: 200 })),
    type: Type.Union([Type.Literal('event'), Type.Literal('webhook')], {
      description: 'event: runs on every event of its sources before it is stored; webhook: maps POST /v1/webhooks/<source> payloads to messages.',
    }),
    language: Type.Optional(Type.Union([Type.Literal('javascript'), Type.Literal('typescript')], { default: 'javascript', description: 'TypeScript types are stripped, not checked.' })),
    code: Type.String({ minLength: 1, maxLength: 256 * 1024, description: 'An ES module whose default export is `(event, ctx) => event | event[] | null`.' }),
    sources: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { uniqueItems: true, description: 'event functions: keys of the sources whose events it transforms (in function key order when several apply).' })),
    source: Type.Optional(Type.String({ minLength: 1, description: 'webhook functions: the source the mapped messages are logged under (the <source> of the URL).' })),
    signature: Type.Optional(FunctionSignature),
    enabled: Type.Optional(Type.Boolean({ default: true })),
    limits: Type.Optional(
      Type.Object(
        {
          timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: DEFAULT_LIMITS.timeoutMs, description: 'CPU time per call.' })),
          memoryMb: Type.Optional(Type.Integer({ minimum: 1, maximum: 512, default: DEFAULT_LIMITS.memoryBytes / 1048576, description: 'Memory of the function heap.' })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, description: 'A sandboxed function (docs/transformations.md).' },
);
export type FunctionDefinition = Static<typeof FunctionBody>;

export const limitsOf = (def: FunctionDefinition): SandboxLimits => ({
  timeoutMs: def.limits?.timeoutMs ?? DEFAULT_LIMITS.timeoutMs,
  memoryBytes: (def.limits?.memoryMb ?? DEFAULT_LIMITS.memoryBytes / 1048576) * 1048576,
});

/** Compiles and loads the function once, so that a save is refused when it cannot run; returns the body to store. */
export async function checkFunction(def: FunctionDefinition, sourceKeys?: Set<string>): Promise<FunctionDefinition> {
  if (def.type === 'event') {
    if (!def.sources?.length) throw badRequest('required', 'sources: an event function names at least one source key', 'sources');
    if (def.source !== undefined || def.signature !== undefined) throw badRequest('invalid_value', `${def.source !== undefined ? 'source' : 'signature'}: only webhook functions have it; event functions use sources`, def.source !== undefined ? 'source' : 'signature');
    if (sourceKeys) def.sources.forEach((s, i) => {
      if (!sourceKeys.has(s)) throw badRequest('unknown_source', `sources[${i}]: source '${s}' does not exist`, `sources[${i}]`);
    });
  } else {
    if (!def.source) throw badRequest('required', 'source: a webhook function names the source its messages are logged under', 'source');
    if (def.sources !== undefined) throw badRequest('invalid_value', 'sources: only event functions have it; a webhook function names one source', 'sources');
    if (sourceKeys && !sourceKeys.has(def.source)) throw badRequest('unknown_source', `source: source '${def.source}' does not exist`, 'source');
  }
  const script = await compileFunction(def.code, def.language ?? 'javascript');
  try {
    (await FunctionSandbox.create(script, limitsOf(def), { catalog: () => undefined })).dispose();
  } catch (error) {
    throw badRequest('invalid_function', `code: ${(error as Error).message}`, 'code');
  }
  return def;
}

/** Refuses a second webhook function for the same source (the URL names the source, so one function answers it). */
export function checkWebhookUnique(def: FunctionDefinition, others: Iterable<[string, unknown]>): void {
  if (def.type !== 'webhook') return;
  for (const [key, body] of others) {
    const o = body as FunctionDefinition | null;
    if (key !== def.key && o?.type === 'webhook' && o.source === def.source) throw badRequest('source_taken', `source: function '${key}' already maps the webhooks of source '${def.source}'`, 'source');
  }
}
