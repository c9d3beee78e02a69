import type { JsonValue } from '../conditions/model.js';
import { CATALOG_KIND, type Catalog } from '../catalogs/definition.js';
import type { Clock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import { badRequest, notFound, TandemError } from '../core/errors.js';
import type { Store } from '../core/ports/store.js';
import { CycleError, dependencyOrder, upstreamOf } from './dag.js';
import { DEFAULT_TIMEOUT_MS, SQL_MODEL_KIND, SQL_VIEWS, type SqlModelDefinition } from './sql-model-definition.js';

type Op = 'sqlModelCheck' | 'sqlModelPreview' | 'sqlModelRun' | 'sqlModelRows' | 'sqlModelDrop';
type OpError = { error: { code: string; message: string; position?: { line: number; column?: number } } };

export interface SqlModelsDeps {
  store: Pick<Store, 'definitions'>;
  warehouse: { sqlModelOp<T>(op: Op, message: Record<string, unknown>): Promise<T> };
  /** Brings the warehouse's mirror (profiles of events) up to date before a run. */
  sync(): Promise<void>;
  apply: { setComputed(workspaceId: string, key: string, values: Map<string, JsonValue>, at: number): Promise<number> };
  catalogs: {
    upsert(workspaceId: string, catalog: string, rows: unknown[]): Promise<{ upserted: number; changed: number }>;
    page(workspaceId: string, catalog: string, after: string | undefined, limit: number): Promise<{ rows: { key: string }[]; total: number }>;
    remove(workspaceId: string, catalog: string, key: string): Promise<boolean>;
  };
  clock: Clock;
  onError?: (message: string) => void;
}

export interface SqlModelRun {
  key: string;
  mode: 'full' | 'incremental';
  /** Events read: id above `low`, up to `high`. */
  low: number;
  high: number;
  /** Rows the run wrote (all of them for a full run). */
  added: number;
  rows: number;
  output?: { trait?: string; changed?: number; catalog?: string; upserted?: number; removed?: number };
  ms: number;
}

export interface SqlModelStatus {
  lastRun?: SqlModelRun & { at: number };
  error?: string;
  nextRunAt?: number;
}

const MAX_SLEEP_MS = 60_000;
const PREVIEW_TIMEOUT_MS = 10_000;

/** A 4xx naming the field `sql` and, when known, the line and column of the problem. */
function sqlError(e: OpError['error'], key?: string): TandemError {
  const where = key ? `model '${key}': ` : '';
  const status = e.code === 'statement_timeout' ? 408 : 400;
  return new TandemError(e.code, `${where}sql: ${e.message}`, status, e.position ? `sql:${e.position.line}${e.position.column ? `:${e.position.column}` : ''}` : 'sql');
}

/**
 * SQL models (kind `models-sql`): named SELECTs over workspace-scoped read-only views, materialised in the warehouse
 * in dependency order, on their schedule or on demand; a model may feed a computed trait or a catalog. Runs happen
 * one at a time.
 */
export class SqlModels {
  private lock: Promise<unknown> = Promise.resolve();
  private readonly status = new Map<string, SqlModelStatus>();
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private loopDone: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;

  constructor(private readonly deps: SqlModelsDeps) {}

  private async op<T>(op: Op, message: Record<string, unknown>, key?: string): Promise<T> {
    const answer = await this.deps.warehouse.sqlModelOp<T | OpError>(op, message);
    if (answer && typeof answer === 'object' && 'error' in answer) throw sqlError((answer as OpError).error, key);
    return answer as T;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  /**
   * Checks a definition against the models it would sit among (`models`: key to body, the proposed workspace):
   * its SELECT, what it reads, no cycle, its output. Returns the body to store.
   */
  async check(workspaceId: string, def: SqlModelDefinition, models: Map<string, SqlModelDefinition>, traitKeys: Iterable<string>, catalogKeys: Set<string>): Promise<SqlModelDefinition> {
    if ((SQL_VIEWS as readonly string[]).includes(def.key)) throw badRequest('reserved_key', `key: '${def.key}' is the name of a view; name the model differently`, 'key');
    if (def.uniqueKey && (def.materialized ?? 'table') !== 'incremental') throw badRequest('invalid_value', 'uniqueKey: only incremental models have one', 'uniqueKey');
    if (def.schedule) parseDuration(def.schedule, 'schedule');
    if (def.timeout) parseDuration(def.timeout, 'timeout');
    const others = [...models.keys()].filter((k) => k !== def.key);
    const { reads } = await this.op<{ reads: string[] }>('sqlModelCheck', { workspaceId, sql: def.sql, allowed: [...SQL_VIEWS, ...others] });
    const graph = this.graph(new Map([...models, [def.key, def]]), new Map([[def.key, reads]]));
    try {
      dependencyOrder(await graph);
    } catch (error) {
      if (error instanceof CycleError) throw badRequest('cycle', `sql: ${error.message}`, 'sql');
      throw error;
    }
    const out = def.output;
    if (out && 'trait' in out) {
      for (const t of traitKeys) if (t === out.trait) throw badRequest('output_taken', `output.trait: '${out.trait}' is a computed trait definition; name the output differently`, 'output.trait');
      for (const [k, m] of models) if (k !== def.key && m.output && 'trait' in m.output && m.output.trait === out.trait) throw badRequest('output_taken', `output.trait: model '${k}' already writes '${out.trait}'`, 'output.trait');
    }
    if (out && 'catalog' in out && !catalogKeys.has(out.catalog)) throw badRequest('unknown_catalog', `output.catalog: catalog '${out.catalog}' does not exist`, 'output.catalog');
    return def;
  }

  /** What each model reads (from the warehouse's parser), `known` answers first. */
  private async graph(models: Map<string, SqlModelDefinition>, known = new Map<string, string[]>(), workspaceId = ''): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const [key, def] of models) {
      let reads = known.get(key);
      if (!reads) {
        const others = [...models.keys()].filter((k) => k !== key);
        const answer = await this.deps.warehouse.sqlModelOp<{ reads: string[] } | OpError>('sqlModelCheck', { workspaceId, sql: def.sql, allowed: [...SQL_VIEWS, ...others] });
        reads = 'error' in answer ? [] : answer.reads;
      }
      out.set(key, reads.filter((r) => models.has(r)));
    }
    return out;
  }

  private async definitions(workspaceId: string): Promise<Map<string, { version: number; body: SqlModelDefinition }>> {
    return new Map((await this.deps.store.definitions.list<SqlModelDefinition>(workspaceId, SQL_MODEL_KIND)).map((d) => [d.key, { version: d.version, body: d.body }]));
  }

  /**
   * Runs models and everything they read, in dependency order (`keys` undefined: all enabled models). `full`
   * rebuilds incremental models from all events.
   */
  run(workspaceId: string, keys: string[] | undefined, options: { full?: boolean } = {}): Promise<SqlModelRun[]> {
    return this.exclusive(async () => {
      const defs = await this.definitions(workspaceId);
      for (const k of keys ?? []) if (!defs.has(k)) throw notFound('SQL model', k);
      const bodies = new Map([...defs].filter(([k, d]) => d.body.enabled !== false || keys?.includes(k)).map(([k, d]) => [k, d.body]));
      const graph = await this.graph(bodies, new Map(), workspaceId);
      const order = keys ? upstreamOf(graph, keys) : dependencyOrder(graph);
      await this.deps.sync();
      const runs: SqlModelRun[] = [];
      for (const key of order) runs.push(await this.runOne(workspaceId, key, defs.get(key)!, graph.get(key) ?? [], options.full ?? false));
      return runs;
    });
  }

  private async runOne(workspaceId: string, key: string, found: { version: number; body: SqlModelDefinition }, reads: string[], full: boolean): Promise<SqlModelRun> {
    const def = found.body;
    const started = performance.now();
    const at = this.deps.clock.now();
    const models = Object.fromEntries(reads.map((r) => [r, { workspaceId, key: r }]));
    try {
      const r = await this.op<Omit<SqlModelRun, 'key' | 'ms' | 'output'>>(
        'sqlModelRun',
        {
          workspaceId, key, sql: def.sql, version: found.version, models, allowed: [...SQL_VIEWS, ...reads],
          mode: full || (def.materialized ?? 'table') === 'table' ? 'full' : 'incremental', uniqueKey: def.uniqueKey,
          timeoutMs: def.timeout ? parseDuration(def.timeout, 'timeout') : DEFAULT_TIMEOUT_MS,
        },
        key,
      );
      const run: SqlModelRun = { key, ...r, ms: Math.round(performance.now() - started) };
      if (def.output) run.output = await this.feed(workspaceId, key, def, at);
      this.status.set(`${workspaceId}\u0000${key}`, { lastRun: { ...run, at } });
      return run;
    } catch (error) {
      this.status.set(`${workspaceId}\u0000${key}`, { ...this.status.get(`${workspaceId}\u0000${key}`), error: (error as Error).message });
      throw error;
    }
  }

  /** Writes a model's rows to its output: a computed trait (profile_id, value) or a catalog (keyed rows). */
  private async feed(workspaceId: string, key: string, def: SqlModelDefinition, at: number): Promise<NonNullable<SqlModelRun['output']>> {
    const { columns, rows } = await this.op<{ columns: string[]; rows: Record<string, JsonValue>[] }>('sqlModelRows', { workspaceId, key }, key);
    const out = def.output!;
    if ('trait' in out) {
      if (!columns.includes('profile_id') || !columns.includes('value')) throw badRequest('output_columns', `model '${key}': output.trait needs the columns profile_id and value; the model has ${columns.join(', ')}`, 'output.trait');
      const values = new Map<string, JsonValue>();
      for (const r of rows) if (r.profile_id !== null && r.profile_id !== undefined) values.set(String(r.profile_id), r.value ?? null);
      return { trait: out.trait, changed: await this.deps.apply.setComputed(workspaceId, out.trait, values, at) };
    }
    const catalog = (await this.deps.store.definitions.get<Catalog>(workspaceId, CATALOG_KIND, out.catalog))?.body;
    if (!catalog) throw notFound('catalog', out.catalog);
    if (!columns.includes(catalog.keyField)) throw badRequest('output_columns', `model '${key}': catalog '${out.catalog}' is keyed by ${catalog.keyField}; the model has no such column (${columns.join(', ')})`, 'output.catalog');
    const fresh = new Set(rows.map((r) => String(r[catalog.keyField])));
    const { upserted } = rows.length ? await this.deps.catalogs.upsert(workspaceId, out.catalog, rows) : { upserted: 0 };
    let removed = 0;
    for (let after: string | undefined; ; ) {
      const page = await this.deps.catalogs.page(workspaceId, out.catalog, after, 500);
      for (const r of page.rows) if (!fresh.has(r.key) && (await this.deps.catalogs.remove(workspaceId, out.catalog, r.key))) removed++;
      if (page.rows.length < 500) break;
      after = page.rows[page.rows.length - 1].key;
    }
    return { catalog: out.catalog, upserted, removed };
  }

  /** Runs a SELECT (saved or not) over the views and models, at most `limit` rows, nothing materialised. */
  async preview(workspaceId: string, sql: string, limit: number): Promise<{ columns: string[]; rows: Record<string, unknown>[]; truncated: boolean; reads: string[] }> {
    const keys = [...(await this.definitions(workspaceId)).keys()];
    await this.deps.sync();
    return this.op('sqlModelPreview', { workspaceId, sql, limit, allowed: [...SQL_VIEWS, ...keys], models: Object.fromEntries(keys.map((k) => [k, { workspaceId, key: k }])), timeoutMs: PREVIEW_TIMEOUT_MS });
  }

  async rows(workspaceId: string, key: string, limit: number, offset: number): Promise<{ columns: string[]; rows: Record<string, unknown>[] }> {
    return this.op('sqlModelRows', { workspaceId, key, limit, offset }, key);
  }

  statusOf(workspaceId: string, key: string, def: SqlModelDefinition): SqlModelStatus {
    const s = this.status.get(`${workspaceId}\u0000${key}`) ?? {};
    return def.schedule ? { ...s, nextRunAt: (s.lastRun?.at ?? this.deps.clock.now()) + parseDuration(def.schedule, 'schedule') } : s;
  }

  /** A model was saved or deleted: a deleted one's table goes; the scheduler looks again. */
  async changed(workspaceId: string, key: string, deleted: boolean): Promise<void> {
    if (deleted) {
      this.status.delete(`${workspaceId}\u0000${key}`);
      await this.exclusive(() => this.op('sqlModelDrop', { workspaceId, key }));
    }
    this.wake();
  }

  /* ---- the schedule ---- */

  start(workspaces: () => string[]): void {
    this.loopDone = this.loop(workspaces);
  }

  wake(): void {
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loopDone;
    await this.lock;
  }

  /** Runs the scheduled models that are due (with what they read); returns when one is due next. */
  async tick(workspaceId: string): Promise<number | undefined> {
    const now = this.deps.clock.now();
    const defs = await this.definitions(workspaceId);
    let next: number | undefined;
    const due: string[] = [];
    for (const [key, d] of defs) {
      if (!d.body.schedule || d.body.enabled === false) continue;
      const last = this.status.get(`${workspaceId}\u0000${key}`)?.lastRun?.at;
      const at = last === undefined ? now : last + parseDuration(d.body.schedule, 'schedule');
      if (at <= now) due.push(key);
      else next = Math.min(next ?? Infinity, at);
    }
    if (due.length) {
      try {
        await this.run(workspaceId, due);
      } catch (error) {
        this.deps.onError?.(`scheduled SQL models ${due.join(', ')} failed: ${(error as Error).message}`);
        for (const key of due) {
          const k = `${workspaceId}\u0000${key}`;
          const s = this.status.get(k);
          // A failed run waits for its next slot rather than retrying in a tight loop.
          this.status.set(k, { ...s, lastRun: { ...(s?.lastRun ?? { key, mode: 'full', low: 0, high: 0, added: 0, rows: 0, ms: 0 }), at: now } });
        }
      }
      return this.tick(workspaceId);
    }
    return next;
  }

  private async loop(workspaces: () => string[]): Promise<void> {
    while (!this.stopped) {
      let next: number | undefined;
      for (const ws of workspaces()) {
        if (this.stopped) return;
        try {
          const n = await this.tick(ws);
          if (n !== undefined) next = Math.min(next ?? Infinity, n);
        } catch (error) {
          this.deps.onError?.(`SQL models schedule: ${(error as Error).message}`);
        }
      }
      if (this.stopped) return;
      const wait = Math.max(10, Math.min(MAX_SLEEP_MS, (next ?? Infinity) - this.deps.clock.now()));
      await new Promise<void>((resolve) => {
        this.wakeUp = resolve;
        this.timer = setTimeout(resolve, wait);
        this.timer.unref?.();
      });
      clearTimeout(this.timer);
    }
  }
}

