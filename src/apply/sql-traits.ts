import type { JsonValue } from '../conditions/model.js';
import { Schedule } from '../core/schedule.js';
import type { CompiledQuery } from '../conditions/sql/compiler.js';
import { duckdbDialect } from '../conditions/sql/duckdb.js';
import type { Clock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import { TandemError } from '../core/errors.js';
import type { Store } from '../core/ports/store.js';
import { isSqlTrait, parseTraitDefinition, type SqlTraitDefinition } from '../traits/definition.js';
import { compileSqlTraitQuery } from '../traits/sql.js';
import type { ApplyStage } from './apply-stage.js';
import { TRAITS } from './definitions.js';
import type { ApplyStore, SqlTraitRun } from './ports.js';

/** Where an SQL trait's query runs: read-only over one workspace's views (c_events, c_profiles, c_identifiers, c_catalog_rows). */
export interface SqlTraitWarehouse {
  /** Rows of (profile_id, value as JSON text); the runner must make writes impossible (DuckDB: a READ ONLY transaction). */
  run(workspaceId: string, query: CompiledQuery): Promise<Record<string, unknown>[]>;
  /** Stops the query running now (past its time limit). */
  interrupt(): Promise<void>;
}

export interface SqlTraitsDeps {
  store: Store;
  applyStore: ApplyStore;
  apply: ApplyStage;
  clock: Clock;
  warehouse: SqlTraitWarehouse;
  /** A run taking longer is interrupted and recorded as an error. */
  timeoutMs?: number;
  onError?: (message: string) => void;
}

/** The state of an SQL trait as GET /api/v1/traits/<key> shows it. */
export interface SqlTraitStatus {
  state: 'never' | 'ok' | 'error';
  lastRunAt?: number;
  finishedAt?: number;
  error?: string;
  rows?: number;
  changed?: number;
  /** When the schedule runs it next. */
  nextRunAt: number;
}

export const SQL_TRAIT_TIMEOUT_MS = 5 * 60_000;

/**
 * SQL traits (batch only) on their schedule: each runs its wrapped query (compileSqlTraitQuery) read-only on the
 * warehouse and its values go through the apply stage (`setComputed`), so audiences reading them are re-evaluated
 * and their changes committed like any other. The last run (start, end, status, error) is kept in
 * apply_sql_trait_runs; a trait is due at its last start + `schedule` (a restart does not run it early), or at once
 * when it is new or its version changed. One run at a time; a failure is recorded, never thrown out of the loop.
 */
export class SqlTraits {

  private readonly schedule: Schedule;

  constructor(private readonly deps: SqlTraitsDeps) {
    this.schedule = new Schedule(deps.clock, () => this.tick(), (error) => deps.onError?.(`SQL traits: ${error.message}`));
  }

  start(): void {
    this.schedule.start();
  }

  stop(): Promise<void> {
    return this.schedule.stop();
  }

  /** Re-reads the schedule now (a trait was saved or deleted). */
  wake(): void {
    this.schedule.wake();
  }

  /** Runs every due trait; returns the next instant one is due. */
  tick(): Promise<number | undefined> {
    return this.exclusive(async () => {
      let next: number | undefined;
      for (const ws of this.deps.applyStore.traitWorkspaces()) {
        for (const d of await this.sqlTraits(ws)) {
          if (this.schedule.stopped) return next;
          let due = this.dueAt(ws, d.key, d.version, d.body);
          if (due <= this.deps.clock.now()) {
            await this.runOne(ws, d.key, d.version, d.body);
            due = this.dueAt(ws, d.key, d.version, d.body);
          }
          next = Math.min(next ?? Infinity, due);
        }
      }
      return next;
    });
  }

  /** POST /api/v1/traits/<key>/run: runs one now (after any run in progress). */
  runNow(workspaceId: string, key: string): Promise<SqlTraitRun> {
    return this.exclusive(async () => {
      const found = await this.deps.store.definitions.get<unknown>(workspaceId, TRAITS, key);
      if (!found) throw new TandemError('not_found', `trait '${key}' does not exist`, 404, 'key');
      const def = parseTraitDefinition(found.body);
      if (!isSqlTrait(def)) throw new TandemError('not_sql_trait', `trait '${key}' is an event trait, kept up to date as events arrive; only SQL traits run`, 400, 'key');
      return this.runOne(workspaceId, key, found.version, def);
    });
  }

  status(workspaceId: string, key: string, version: number, body: SqlTraitDefinition): SqlTraitStatus {
    const run = this.deps.applyStore.sqlTraitRun(workspaceId, key);
    const nextRunAt = this.dueAt(workspaceId, key, version, body);
    if (!run) return { state: 'never', nextRunAt };
    return {
      state: run.status,
      lastRunAt: run.startedAt,
      finishedAt: run.finishedAt,
      ...(run.error !== null ? { error: run.error } : {}),
      ...(run.rows !== null ? { rows: run.rows } : {}),
      ...(run.changed !== null ? { changed: run.changed } : {}),
      nextRunAt,
    };
  }

  /** A deleted trait: its run record goes. */
  forget(workspaceId: string, key: string): void {
    this.deps.applyStore.sqlTraitRunDelete(workspaceId, key);
  }

  private dueAt(workspaceId: string, key: string, version: number, body: SqlTraitDefinition): number {
    const run = this.deps.applyStore.sqlTraitRun(workspaceId, key);
    if (!run || run.version !== version) return this.deps.clock.now();
    return run.startedAt + parseDuration(body.schedule, 'schedule');
  }

  private async sqlTraits(workspaceId: string): Promise<{ key: string; version: number; body: SqlTraitDefinition }[]> {
    const out: { key: string; version: number; body: SqlTraitDefinition }[] = [];
    for (const d of await this.deps.store.definitions.list<unknown>(workspaceId, TRAITS)) {
      try {
        const def = parseTraitDefinition(d.body);
        if (isSqlTrait(def)) out.push({ key: d.key, version: d.version, body: def });
      } catch {
        // An invalid stored definition is reported by the registry; it is not run.
      }
    }
    return out;
  }

  private async runOne(workspaceId: string, key: string, version: number, def: SqlTraitDefinition): Promise<SqlTraitRun> {
    const { clock } = this.deps;
    const startedAt = clock.now();
    const run: SqlTraitRun = { workspaceId, key, version, startedAt, finishedAt: startedAt, status: 'ok', error: null, rows: null, changed: null };
    try {
      const values = await this.values(workspaceId, def);
      run.rows = values.size;
      run.changed = await this.deps.apply.setComputed(workspaceId, key, values, startedAt);
    } catch (error) {
      run.status = 'error';
      run.error = (error as Error).message;
      this.deps.onError?.(`SQL trait '${key}' failed: ${run.error}`);
    }
    run.finishedAt = clock.now();
    this.deps.applyStore.sqlTraitRunPut(run);
    return run;
  }

  /** The query's rows as values by profile, refused if a profile id is missing or repeated. Profiles not in c_profiles are left out. */
  private async values(workspaceId: string, def: SqlTraitDefinition): Promise<Map<string, JsonValue>> {
    const wrapped = compileSqlTraitQuery(def, duckdbDialect);
    const query = { sql: `SELECT q.profile_id, q.value FROM (${wrapped.sql}) q WHERE q.profile_id IS NULL OR q.profile_id IN (SELECT profile_id FROM c_profiles)`, params: wrapped.params };
    const timeoutMs = this.deps.timeoutMs ?? SQL_TRAIT_TIMEOUT_MS;
    let done = false;
    let timedOut = false;
    void this.deps.clock.sleep(timeoutMs).then(() => {
      if (done) return;
      timedOut = true;
      void this.deps.warehouse.interrupt().catch(() => undefined);
    });
    let rows: Record<string, unknown>[];
    try {
      rows = await this.deps.warehouse.run(workspaceId, query);
    } catch (error) {
      if (timedOut) throw new TandemError('sql_trait_timeout', `sql: the query ran longer than ${timeoutMs / 1000} s and was stopped`, 400, 'sql');
      throw new TandemError('sql_trait_failed', `sql: ${(error as Error).message.replace(/^warehouse: /, '')}`, 400, 'sql');
    } finally {
      done = true;
    }
    const values = new Map<string, JsonValue>();
    for (const r of rows) {
      if (r.profile_id === null || r.profile_id === undefined) throw new TandemError('sql_trait_result', 'sql: returned a row whose profile_id is null', 400, 'sql');
      const id = String(r.profile_id);
      if (values.has(id)) throw new TandemError('sql_trait_result', `sql: returned profile_id '${id}' more than once; an SQL trait returns at most one row per profile`, 400, 'sql');
      values.set(id, r.value === null || r.value === undefined ? null : (JSON.parse(String(r.value)) as JsonValue));
    }
    return values;
  }


  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.schedule.exclusive(fn);
  }
}
