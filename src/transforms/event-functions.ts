import { Counter, type Registry } from 'prom-client';
import type { LogEntry, Message } from '../collect/message.js';
import type { CatalogLookup } from '../conditions/model.js';
import type { AcceptBatch, Store } from '../core/ports/store.js';
import { compileFunction } from './compile.js';
import { FUNCTION_KIND, limitsOf, type FunctionDefinition } from './function-definition.js';
import { messagesFrom } from './function-output.js';
import { FunctionSandbox } from './sandbox.js';

export interface EventFunctionsDeps {
  store: Pick<Store, 'definitions' | 'sources'>;
  catalogs: (workspaceId: string) => CatalogLookup;
  /** Nesting limit of collection (config collect.maxDepth): results are checked as /v1 checks messages. */
  maxDepth: number;
  registry?: Registry;
  onError?: (message: string) => void;
}

/** A loaded function: its sandbox, or why it cannot run (then every event it should transform is quarantined). */
interface Loaded {
  key: string;
  version: number;
  def: FunctionDefinition;
  sandbox?: FunctionSandbox;
  loadError?: string;
}

interface Item {
  /** Index of the log entry it came from. */
  origin: number;
  message: Message;
}

/**
 * Event functions (kind `functions`, type `event`) in the events stage: between the Log, which keeps the raw
 * message, and deduplication and storage, so that reprocessing the log or replaying the quarantine runs them again.
 * An event whose function throws, runs out of time or memory, or returns something that is not a valid message is
 * stored in the quarantine, as it arrived, with the reason; the other events of the batch go on.
 */
export class EventFunctions {
  private readonly loaded = new Map<string, Promise<Loaded[]>>();
  private readonly sourceKeys = new Map<string, string | undefined>();
  private readonly outcomes?: Counter<'function' | 'outcome'>;

  constructor(private readonly deps: EventFunctionsDeps) {
    if (deps.registry) {
      this.outcomes = new Counter({
        name: 'tandem_function_events_total',
        help: 'Events an event function handled, by outcome (ok, dropped, split, error, timeout, memory, invalid).',
        labelNames: ['function', 'outcome'] as const,
        registers: [deps.registry],
      });
    }
  }

  /** A function or source changed: its workspace's functions load again on the next event. */
  changed(workspaceId: string): void {
    const before = this.loaded.get(workspaceId);
    this.loaded.delete(workspaceId);
    this.sourceKeys.clear();
    void before?.then((list) => list.forEach((f) => f.sandbox?.dispose())).catch(() => undefined);
  }

  close(): void {
    for (const ws of [...this.loaded.keys()]) this.changed(ws);
  }

  /** The events stage's hook: the batches with each event entry replaced by what its source's functions made of it. */
  async transform(batches: AcceptBatch[]): Promise<AcceptBatch[]> {
    const out: AcceptBatch[] = [];
    for (const batch of batches) {
      const { source, chain } = await this.chainFor(batch.workspaceId, batch.sourceId);
      out.push(chain.length === 0 || !batch.entries.some((e) => e.kind === 'event') ? batch : { ...batch, entries: await this.apply(batch.workspaceId, source!, chain, batch.entries) });
    }
    return out;
  }

  private async chainFor(workspaceId: string, sourceId: string): Promise<{ source?: string; chain: Loaded[] }> {
    let key = this.sourceKeys.get(sourceId);
    if (!this.sourceKeys.has(sourceId)) {
      key = (await this.deps.store.sources.byId(sourceId))?.key;
      this.sourceKeys.set(sourceId, key);
    }
    if (key === undefined) return { chain: [] };
    const all = await this.functions(workspaceId);
    return { source: key, chain: all.filter((f) => f.def.sources?.includes(key)) };
  }

  private functions(workspaceId: string): Promise<Loaded[]> {
    let found = this.loaded.get(workspaceId);
    if (!found) {
      found = this.load(workspaceId);
      this.loaded.set(workspaceId, found);
      found.catch(() => this.loaded.delete(workspaceId));
    }
    return found;
  }

  private async load(workspaceId: string): Promise<Loaded[]> {
    const defs = await this.deps.store.definitions.list<FunctionDefinition>(workspaceId, FUNCTION_KIND);
    const lookup = this.deps.catalogs(workspaceId);
    const host = { catalog: (catalog: string, key: string) => lookup.get(catalog, key) };
    const active = defs.filter((d) => d.body.type === 'event' && d.body.enabled !== false).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return Promise.all(
      active.map(async (d): Promise<Loaded> => {
        try {
          const script = await compileFunction(d.body.code, d.body.language ?? 'javascript');
          return { key: d.key, version: d.version, def: d.body, sandbox: await FunctionSandbox.create(script, limitsOf(d.body), host) };
        } catch (error) {
          this.deps.onError?.(`function '${d.key}' cannot load: ${(error as Error).message}`);
          return { key: d.key, version: d.version, def: d.body, loadError: (error as Error).message };
        }
      }),
    );
  }

  /** Runs the chain (functions in key order) over a batch's event entries; quarantine entries pass as they are. */
  private async apply(workspaceId: string, source: string, chain: Loaded[], entries: LogEntry[]): Promise<LogEntry[]> {
    const failed = new Map<number, LogEntry>();
    let items: Item[] = [];
    entries.forEach((e, origin) => {
      if (e.kind === 'event') items.push({ origin, message: e.message });
    });
    for (const f of chain) {
      if (items.length === 0) break;
      const count = (outcome: string, n = 1) => this.outcomes?.inc({ function: `${workspaceId}/${f.key}`, outcome }, n);
      const fail = (item: Item, reason: string) => {
        const input = entries[item.origin];
        failed.set(item.origin, { kind: 'quarantine', message: input.message, violations: [{ kind: 'schema_error', path: `functions.${f.key}`, message: `function '${f.key}' (version ${f.version}) ${reason}` }] });
      };
      if (!f.sandbox) {
        items.forEach((item) => fail(item, `cannot run: ${f.loadError}`));
        count('error', items.length);
        items = [];
        break;
      }
      const results = await f.sandbox.run(items.map((i) => i.message), { source, function: f.key });
      const next: Item[] = [];
      items.forEach((item, n) => {
        if (failed.has(item.origin)) return; // an earlier split sibling failed: the whole event is held
        const r = results[n];
        if (!r.ok) {
          count(r.reason);
          return fail(item, r.reason === 'error' ? `threw ${r.message}` : r.message);
        }
        const checked = messagesFrom(r.value, item.message, this.deps.maxDepth);
        if (!checked.ok) {
          count('invalid');
          return fail(item, `returned an invalid event: ${checked.message}`);
        }
        count(checked.messages.length === 0 ? 'dropped' : checked.messages.length > 1 ? 'split' : 'ok');
        for (const message of checked.messages) next.push({ origin: item.origin, message });
      });
      items = next.filter((i) => !failed.has(i.origin));
    }
    const byOrigin = new Map<number, Message[]>();
    for (const i of items) {
      const list = byOrigin.get(i.origin);
      if (list) list.push(i.message);
      else byOrigin.set(i.origin, [i.message]);
    }
    const out: LogEntry[] = [];
    entries.forEach((e, origin) => {
      if (e.kind !== 'event') return out.push(e);
      const held = failed.get(origin);
      if (held) return out.push(e.replayOf !== undefined ? { ...held, replayOf: e.replayOf } : held);
      for (const message of byOrigin.get(origin) ?? []) out.push({ ...e, message });
    });
    return out;
  }
}
