import type { SecretSource } from '../secrets/reference.js';
import type { Collector, PreparedBatch } from '../collect/collector.js';
import type { Clock } from '../core/clock.js';
import { badRequest, notFound, TandemError, unauthorized } from '../core/errors.js';
import { sha256 } from '../core/ids.js';
import type { Source, Store } from '../core/ports/store.js';
import type { CatalogLookup } from '../conditions/model.js';
import { compileFunction } from './compile.js';
import { FUNCTION_KIND, limitsOf, type FunctionDefinition } from './function-definition.js';
import { FunctionSandbox } from './sandbox.js';
import { verifySignature } from './signature.js';

export interface WebhookSourcesDeps {
  store: Pick<Store, 'definitions' | 'sources'>;
  collector: Pick<Collector, 'collect'>;
  catalogs: (workspaceId: string) => CatalogLookup;
  clock: Clock;
  /** The workspace of a request that carries no write key. */
  defaultWorkspace: string;
  /** Where signature secrets (`{ env }`, `{ secret }`) are read (default: the environment only). */
  secrets?: SecretSource;
}

export interface WebhookRequest {
  sourceKey: string;
  writeKey?: string;
  body: Buffer;
  headers: Record<string, string | string[] | undefined>;
}

export interface WebhookAnswer extends Omit<PreparedBatch, 'batches' | 'received' | 'flagged'> {
  /** Messages the function returned. */
  mapped: number;
}

const HIDDEN_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);

/**
 * Webhook sources: `POST /v1/webhooks/<source>` takes any JSON; the source's webhook function (kind `functions`,
 * type `webhook`) maps it to Segment-spec messages, which are then checked, tracking-planned and logged exactly as
 * /v1/batch logs them. A request is authenticated by the source's write key or, when the function configures one,
 * by an HMAC signature of the raw body (always checked when configured).
 */
export class WebhookSources {
  private readonly sandboxes = new Map<string, { version: number; sandbox: Promise<FunctionSandbox> }>();

  constructor(private readonly deps: WebhookSourcesDeps) {}

  changed(workspaceId: string, key: string): void {
    const id = `${workspaceId}\u0000${key}`;
    void this.sandboxes.get(id)?.sandbox.then((s) => s.dispose()).catch(() => undefined);
    this.sandboxes.delete(id);
  }

  async receive(req: WebhookRequest): Promise<WebhookAnswer> {
    const { store } = this.deps;
    let source: Source | undefined;
    if (req.writeKey !== undefined) {
      source = await store.sources.byWriteKeyHash(sha256(req.writeKey));
      if (!source) throw unauthorized('the write key is not valid');
      if (source.key !== req.sourceKey) throw new TandemError('forbidden', `the write key belongs to source '${source.key}', not '${req.sourceKey}'`, 403);
    } else {
      source = await store.sources.get(this.deps.defaultWorkspace, req.sourceKey);
      if (!source) throw notFound('source', req.sourceKey);
    }
    const defs = await store.definitions.list<FunctionDefinition>(source.workspaceId, FUNCTION_KIND);
    const found = defs.find((d) => d.body.type === 'webhook' && d.body.source === source.key && d.body.enabled !== false);
    if (!found) throw new TandemError('not_found', `source '${source.key}' has no webhook function; define one (kind functions, type webhook, source: ${source.key})`, 404);
    const def = found.body;
    if (def.signature) verifySignature(req.body, req.headers, def.signature, source.workspaceId, this.deps.secrets);
    else if (req.writeKey === undefined) throw unauthorized(`send the write key of source '${source.key}' (HTTP Basic or ?writeKey=), or configure a signature on function '${found.key}'`);

    let payload: unknown;
    try {
      payload = JSON.parse(req.body.toString('utf8'));
    } catch (error) {
      throw badRequest('invalid_json', `body: not valid JSON (${(error as Error).message})`, 'body');
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (!HIDDEN_HEADERS.has(name) && value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;

    const sandbox = await this.sandboxFor(source.workspaceId, found.key, found.version, def);
    const [outcome] = await sandbox.run([payload], { source: source.key, function: found.key, headers });
    if (!outcome.ok) throw new TandemError(`function_${outcome.reason}`, `function '${found.key}' (version ${found.version}) ${outcome.reason === 'error' ? `threw ${outcome.message}` : outcome.message}; nothing was logged`, 422);
    const result = outcome.value;
    const messages = result === null ? [] : Array.isArray(result) ? result : [result];
    if (messages.length === 0) return { mapped: 0, accepted: 0, quarantined: 0, errors: [] };
    const prepared = await this.deps.collector.collect(source, { kind: 'batch' }, { batch: messages }, this.deps.clock.now());
    return { mapped: messages.length, accepted: prepared.accepted, quarantined: prepared.quarantined, errors: prepared.errors };
  }

  private sandboxFor(workspaceId: string, key: string, version: number, def: FunctionDefinition): Promise<FunctionSandbox> {
    const id = `${workspaceId}\u0000${key}`;
    const cached = this.sandboxes.get(id);
    if (cached && cached.version === version) return cached.sandbox;
    if (cached) this.changed(workspaceId, key);
    const lookup = this.deps.catalogs(workspaceId);
    const sandbox = compileFunction(def.code, def.language ?? 'javascript').then((script) => FunctionSandbox.create(script, limitsOf(def), { catalog: (c, k) => lookup.get(c, k) }));
    this.sandboxes.set(id, { version, sandbox });
    sandbox.catch(() => this.sandboxes.delete(id));
    return sandbox;
  }
}
