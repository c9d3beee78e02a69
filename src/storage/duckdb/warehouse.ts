import { Worker } from 'node:worker_threads';
import type { SqlValue, Warehouse } from '../../core/ports/warehouse.js';

interface Reply {
  id?: number;
  ready?: boolean;
  result?: unknown;
  error?: string;
}

/** One profile as the mirror holds it (`gone`: merged away or erased; its rows are deleted). */
export interface MirrorProfile {
  ws: string;
  id: string;
  gone: boolean;
  /** Read its event mapping again (its events moved: a merge, a recompute). */
  remap: boolean;
  traits: string;
  computed: string;
  identifiers: [string, string][];
  subscriptions: [string, string][];
  memberships: string[];
}

/**
 * The embedded Warehouse: a DuckDB file beside the SQLite files, owned by its own thread
 * (warehouse-worker.mjs), which also follows the SQLite event store. Calls are messages to that thread.
 */
export class DuckDbWarehouse implements Warehouse {
  private next = 1;
  private waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private failed: Error | undefined;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: Reply) => {
      if (m.id === undefined) return;
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (this.waiting.size === 0) worker.unref();
      if (m.error !== undefined) w?.reject(new Error(`warehouse: ${m.error}`));
      else w?.resolve(m.result);
    });
    const fail = (error: Error) => {
      this.failed = error;
      for (const w of this.waiting.values()) w.reject(error);
      this.waiting.clear();
    };
    worker.on('error', fail);
    worker.on('exit', () => fail(new Error('warehouse thread stopped')));
  }

  /** Opens (or creates) `file`, following the events of the SQLite store at `storeFile`. */
  static async open(file: string, storeFile: string): Promise<DuckDbWarehouse> {
    const worker = new Worker(new URL('./warehouse-worker.mjs', import.meta.url), { workerData: { file, storeFile } });
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    worker.unref();
    return new DuckDbWarehouse(worker);
  }

  private call<T>(message: Record<string, unknown>): Promise<T> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.next++;
    this.worker.ref(); // an answer is owed: keep the process alive for it
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...message, id });
    });
  }

  catchUp(limit: number): Promise<boolean> {
    return this.call({ op: 'catchUp', limit });
  }

  lastEventId(): Promise<number> {
    return this.call({ op: 'lastEventId' });
  }

  compact(): Promise<void> {
    return this.call({ op: 'compact' });
  }

  query(sql: string, params: SqlValue[] = []): Promise<Record<string, unknown>[]> {
    return this.call({ op: 'query', sql, params });
  }

  /** Runs these statements (no parameters) in one transaction, rolled back if one fails; no other call runs between them. */
  transaction(sql: string): Promise<void> {
    return this.call({ op: 'transaction', sql });
  }

  /** Replaces a connection-scoped TEMP table (`columns`: name and BIGINT, VARCHAR or JSON) with these rows. */
  loadTable(table: string, columns: [string, 'BIGINT' | 'VARCHAR' | 'JSON'][], rows: (string | number | null)[][]): Promise<void> {
    return this.call({ op: 'load', table, columns, rows });
  }

  /** Copies these profiles' facts, computed values and memberships into the mirror (see MirrorProfile); returns the event id mapped up to. */
  mirror(profiles: MirrorProfile[]): Promise<number> {
    return this.call({ op: 'mirror', profiles });
  }

  /** Drops these profiles' mirrored rows (privacy erasure). */
  mirrorErase(workspaceId: string, profileIds: string[]): Promise<void> {
    return this.call({ op: 'mirrorErase', workspaceId, profileIds });
  }

  /** Reads these events again from the store after a data migration rewrote them; returns how many were held here. */
  refreshEvents(ids: number[]): Promise<number> {
    return this.call({ op: 'refreshEvents', ids });
  }

  meta(key: string): Promise<number | undefined> {
    return this.call({ op: 'meta', key });
  }

  setMeta(key: string, value: number): Promise<void> {
    return this.call({ op: 'setMeta', key, value });
  }

  /**
   * A compiled query over one workspace's c_* views (conditions/model.ts) over the mirror: events up to `upTo` (an
   * event id) when given. `readOnly` runs it on the SQL traits' connection in a READ ONLY transaction; interrupt()
   * stops it.
   */
  inputsQuery(q: { workspaceId: string; sql: string; params?: SqlValue[]; upTo?: number; readOnly?: boolean }): Promise<Record<string, unknown>[]> {
    return this.call({ op: 'inputsQuery', ...q });
  }

  /** An op of the SQL models (sql-models-ops.mjs; src/transforms/sql-models.ts): answers `{ error }` rather than failing. */
  sqlModelOp<T>(op: 'sqlModelCheck' | 'sqlModelPreview' | 'sqlModelRun' | 'sqlModelRows' | 'sqlModelDrop', message: Record<string, unknown>): Promise<T> {
    return this.call({ ...message, op });
  }

  /** Stops the read-only query running now, if any (it fails with an interrupt error). */
  interrupt(): Promise<void> {
    return this.call({ op: 'interrupt' });
  }

  async close(): Promise<void> {
    if (this.failed) return;
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.ref();
    this.worker.postMessage({ op: 'close' });
    await exited;
  }
}
