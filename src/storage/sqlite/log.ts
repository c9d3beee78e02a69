import type { Log, LogBatch, LogRecord } from '../../core/ports/log.js';
import { migrate, openSqlite, type Sqlite, type SyncMode } from './database.js';

const MIGRATIONS = [
  `CREATE TABLE log (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     partition INTEGER NOT NULL,
     workspace_id TEXT NOT NULL,
     source_id TEXT NOT NULL,
     received_at INTEGER NOT NULL,
     count INTEGER NOT NULL,
     payload TEXT NOT NULL
   );
   CREATE INDEX log_partition_seq ON log (partition, seq);`,
];

interface Pending {
  batches: LogBatch[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * The embedded Log: one SQLite table. Appends from concurrent requests are grouped into one transaction
 * (group commit), so one fsync acknowledges many requests.
 */
export class SqliteLog implements Log {
  private readonly db: Sqlite;
  private readonly insert;
  private pending: Pending[] = [];
  private scheduled = false;
  private listeners: (() => void)[] = [];

  constructor(file: string, readonly partitions = 1, sync: SyncMode = 'full') {
    this.db = openSqlite(file, sync);
    migrate(this.db, 'log', MIGRATIONS);
    this.insert = this.db.prepare(
      'INSERT INTO log (partition, workspace_id, source_id, received_at, count, payload) VALUES (?, ?, ?, ?, ?, ?)',
    );
  }

  append(batches: LogBatch[]): Promise<void> {
    if (batches.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.pending.push({ batches, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const group = this.pending;
    this.pending = [];
    try {
      this.db.transaction(() => {
        for (const p of group) {
          for (const b of p.batches) this.insert.run(b.partition, b.workspaceId, b.sourceId, b.receivedAt, b.count, b.payload);
        }
      })();
    } catch (error) {
      for (const p of group) p.reject(error);
      return;
    }
    for (const p of group) p.resolve();
    for (const listener of this.listeners) listener();
  }

  async read(partition: number, afterOffset: number, limit: number): Promise<LogRecord[]> {
    const rows = this.db
      .prepare('SELECT seq, partition, workspace_id, source_id, received_at, count, payload FROM log WHERE partition = ? AND seq > ? ORDER BY seq LIMIT ?')
      .all(partition, afterOffset, limit) as { seq: number; partition: number; workspace_id: string; source_id: string; received_at: number; count: number; payload: string }[];
    return rows.map((r) => ({ offset: r.seq, partition: r.partition, workspaceId: r.workspace_id, sourceId: r.source_id, receivedAt: r.received_at, count: r.count, payload: r.payload }));
  }

  async head(partition: number): Promise<number> {
    const row = this.db.prepare('SELECT MAX(seq) AS seq FROM log WHERE partition = ?').get(partition) as { seq: number | null };
    return row.seq ?? 0;
  }

  onAppend(listener: () => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    if (this.pending.length) this.flush();
    this.db.close();
  }
}
