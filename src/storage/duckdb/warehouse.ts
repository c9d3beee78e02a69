import { Worker } from 'node:worker_threads';
import type { SqlValue, Warehouse } from '../../core/ports/warehouse.js';

interface Reply {
  id?: number;
  ready?: boolean;
  result?: unknown;
  error?: string;
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

  /** Replaces a connection-scoped TEMP table (`columns`: name and BIGINT, VARCHAR or JSON) with these rows. */
  loadTable(table: string, columns: [string, 'BIGINT' | 'VARCHAR' | 'JSON'][], rows: (string | number | null)[][]): Promise<void> {
    return this.call({ op: 'load', table, columns, rows });
  }

  async close(): Promise<void> {
    if (this.failed) return;
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.ref();
    this.worker.postMessage({ op: 'close' });
    await exited;
  }
}
