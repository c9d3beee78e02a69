import type { SecretSource } from '../secrets/reference.js';
import type { Collector, MessageError, PreparedBatch } from '../collect/collector.js';
import type { LogEntry, Message, Violation } from '../collect/message.js';
import { partitionOf } from '../collect/partition.js';
import { HELD_WEBHOOK_TYPE, type HeldWebhook } from '../collect/quarantine/held-webhook.js';
import type { Clock } from '../core/clock.js';
import { badRequest, notFound, TandemError, unauthorized } from '../core/errors.js';
import { sha256 } from '../core/ids.js';
import type { Log } from '../core/ports/log.js';
import type { Source, Store } from '../core/ports/store.js';
import type { CatalogLookup } from '../conditions/model.js';
import { compileFunction } from './compile.js';
import { FUNCTION_KIND, limitsOf, type FunctionDefinition } from './function-definition.js';
import { FunctionSandbox, type CallOutcome } from './sandbox.js';
import { verifySignature } from './signature.js';

export interface WebhookSourcesDeps {
  store: Pick<Store, 'definitions' | 'sources'>;
  collector: Pick<Collector, 'prepare'>;
  log: Pick<Log, 'partitions' | 'append'>;
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
  /** Set when the function failed on the payload: the payload itself is held in the quarantine, with this reason. */
  held?: { reason: string };
}

const HIDDEN_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);

type Found = { key: string; version: number; body: FunctionDefinition };

/**
 * Webhook sources: `POST /v1/webhooks/<source>` takes any JSON; the source's webhook function (kind `functions`,
 * type `webhook`) maps it to Segment-spec messages, which are then checked, tracking-planned and logged exactly as
 * /v1/batch logs them. A request is authenticated by the source's write key or, when the function configures one,
 * by an HMAC signature of the raw body (always checked when configured). A payload the function fails on (a throw, a
 * timeout, memory, invalid messages) is accepted all the same and held in the quarantine as it arrived, so that it
 * can be replayed once the function is fixed; only the caller's own faults (credentials, signature, JSON) are refused.
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
    const found = await this.functionOf(source);
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

    const receivedAt = this.deps.clock.now();
    const held: HeldWebhook = {
      type: HELD_WEBHOOK_TYPE,
      messageId: `webhook-${sha256(req.body.toString('latin1')).slice(0, 32)}`,
      timestamp: new Date(receivedAt).toISOString(),
      receivedAt: new Date(receivedAt).toISOString(),
      webhook: { function: found.key, version: found.version, headers },
      payload,
    };
    const mapped = await this.map(source, found, payload, headers);
    if (!mapped.ok) return this.hold(source, held, mapped.violation, 0, []);
    const { messages } = mapped;
    if (messages.length === 0) return { mapped: 0, accepted: 0, quarantined: 0, errors: [] };
    let prepared: PreparedBatch;
    try {
      prepared = this.deps.collector.prepare(source, { kind: 'batch' }, { batch: messages }, receivedAt);
    } catch (error) {
      if (!(error instanceof TandemError)) throw error;
      const errors = (error.details ?? []) as MessageError[];
      return this.hold(source, held, this.invalid(found, error.message, error.path), messages.length, errors);
    }
    // All or nothing: a payload whose messages are not all valid is held whole, so that its replay logs each once.
    if (prepared.errors.length) {
      const first = prepared.errors[0];
      return this.hold(source, held, this.invalid(found, first.message, first.path), messages.length, prepared.errors);
    }
    await this.deps.log.append(prepared.batches);
    return { mapped: messages.length, accepted: prepared.accepted, quarantined: prepared.quarantined, errors: [] };
  }

  /** The quarantine's replay of a held payload: the source's current webhook function maps it again. */
  async rerun(source: Source, held: HeldWebhook): Promise<{ ok: true; messages: unknown[] } | { ok: false; violation: Violation }> {
    const found = await this.functionOf(source);
    if (!found) return { ok: false, violation: { kind: 'schema_error', path: 'functions', message: `source '${source.key}' has no webhook function any more` } };
    return this.map(source, found, held.payload, held.webhook?.headers ?? {});
  }

  private async functionOf(source: Source): Promise<Found | undefined> {
    const defs = await this.deps.store.definitions.list<FunctionDefinition>(source.workspaceId, FUNCTION_KIND);
    return defs.find((d) => d.body.type === 'webhook' && d.body.source === source.key && d.body.enabled !== false);
  }

  private async map(source: Source, found: Found, payload: unknown, headers: Record<string, string>): Promise<{ ok: true; messages: unknown[] } | { ok: false; violation: Violation }> {
    const name = `function '${found.key}' (version ${found.version})`;
    let outcome: CallOutcome;
    try {
      const sandbox = await this.sandboxFor(source.workspaceId, found.key, found.version, found.body);
      [outcome] = await sandbox.run([payload], { source: source.key, function: found.key, headers });
    } catch (error) {
      outcome = { ok: false, reason: 'error', message: `cannot load: ${(error as Error).message}` };
    }
    if (!outcome.ok) {
      const what = outcome.reason === 'error' && !outcome.message.startsWith('cannot load') ? `threw ${outcome.message}` : outcome.message;
      return { ok: false, violation: { kind: 'schema_error', path: `functions.${found.key}`, message: `${name} ${what}` } };
    }
    const result = outcome.value;
    return { ok: true, messages: result === null ? [] : Array.isArray(result) ? result : [result] };
  }

  private invalid(found: Found, message: string, path?: string): Violation {
    return { kind: 'schema_error', path: path ?? `functions.${found.key}`, message: `function '${found.key}' (version ${found.version}) returned an invalid message: ${message}` };
  }

  /** Logs the payload as a quarantine entry (the events stage stores it); the request is answered as accepted. */
  private async hold(source: Source, held: HeldWebhook, violation: Violation, mapped: number, errors: MessageError[]): Promise<WebhookAnswer> {
    const entry: LogEntry = { kind: 'quarantine', message: held as unknown as Message, violations: [violation] };
    const receivedAt = Date.parse(held.receivedAt);
    await this.deps.log.append([
      { partition: partitionOf(held.messageId, this.deps.log.partitions), workspaceId: source.workspaceId, sourceId: source.id, receivedAt, count: 1, payload: JSON.stringify([entry]) },
    ]);
    return { mapped, accepted: 0, quarantined: 1, errors, held: { reason: `${violation.message}; the payload is held in the quarantine` } };
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
