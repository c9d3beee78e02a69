import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
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

/**
 * The writer thread: owns the only writing connection, so the inserts, the fsync and the WAL checkpoints of the
 * group commit run beside the event loop instead of on it. Plain CommonJS, so it needs no TypeScript loader.
 */
const WRITER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = ' + workerData.synchronous);
db.pragma('busy_timeout = 5000');
// Always on, not only while forgetting: rows written normally leave stale copies of their bytes in free space when
// pages are rebalanced, and an erasure must not find a copy of the person there (test/privacy-log-bytes.test.ts).
db.pragma('secure_delete = ON');
const insert = db.prepare('INSERT INTO log (partition, workspace_id, source_id, received_at, count, payload) VALUES (?, ?, ?, ?, ?, ?)');
const write = db.transaction((batches) => {
  for (const b of batches) insert.run(b.partition, b.workspaceId, b.sourceId, b.receivedAt, b.count, b.payload);
});
// Processed batches older than the retention are deleted in chunks, so no single transaction holds the lock long.
const trimChunk = db.prepare('DELETE FROM log WHERE seq IN (SELECT seq FROM log WHERE partition = ? AND seq <= ? AND received_at < ? ORDER BY seq LIMIT 2000)');
// Privacy erasure: rewrites the batches holding any of these messages without them; secure_delete (above) zeroes
// the freed bytes so the old payload does not linger in free pages.
const forgetScan = db.prepare('SELECT seq, payload FROM log WHERE workspace_id = ?');
const forgetUpdate = db.prepare('UPDATE log SET payload = ?, count = ? WHERE seq = ?');
const forget = db.transaction((workspaceId, messageIds) => {
  const ids = new Set(messageIds);
  const needles = messageIds.map((id) => '"messageId":' + JSON.stringify(id));
  const hits = [];
  for (const row of forgetScan.iterate(workspaceId)) if (needles.some((n) => row.payload.includes(n))) hits.push(row);
  let removed = 0;
  for (const row of hits) {
    const entries = JSON.parse(row.payload);
    const kept = entries.filter((e) => !(e && e.message && ids.has(e.message.messageId)));
    removed += entries.length - kept.length;
    forgetUpdate.run(JSON.stringify(kept), kept.length, row.seq);
  }
  return removed;
});
parentPort.on('message', (m) => {
  if (m === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  if (m && m.forget) {
    try {
      parentPort.postMessage({ forgotten: forget(m.forget.workspaceId, m.forget.messageIds) });
    } catch (error) {
      parentPort.postMessage({ forgotten: 0, error: String((error && error.message) || error) });
    }
    return;
  }
  if (m && m.trim) {
    let trimmed = 0;
    try {
      for (let n = -1; n !== 0; trimmed += n) n = trimChunk.run(m.trim.partition, m.trim.upTo, m.trim.before).changes;
      parentPort.postMessage({ trimmed });
    } catch (error) {
      parentPort.postMessage({ trimmed, error: String((error && error.message) || error) });
    }
    return;
  }
  try {
    write(m);
    parentPort.postMessage(null);
  } catch (error) {
    parentPort.postMessage(String((error && error.message) || error));
  }
});
`;

interface Pending {
  batches: LogBatch[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * The embedded Log: one SQLite table. Appends from concurrent requests are grouped into one transaction
 * (group commit), so one fsync acknowledges many requests; while one group commits on the writer thread the next
 * one gathers. Reads use their own connection on the caller's thread (WAL readers never wait for the writer).
 */
export class SqliteLog implements Log {
  private readonly db: Sqlite;
  private readonly writer: Worker;
  private readonly selectAfter;
  private readonly selectHead;
  private pending: Pending[] = [];
  private committing: Pending[] | undefined;
  private scheduled = false;
  private failed: Error | undefined;
  private idle: (() => void)[] = [];
  private listeners: (() => void)[] = [];
  private trims: { resolve: (n: number) => void; reject: (e: Error) => void }[] = [];
  private forgets: { resolve: (n: number) => void; reject: (e: Error) => void }[] = [];

  constructor(file: string, readonly partitions = 1, sync: SyncMode = 'full') {
    this.db = openSqlite(file, sync);
    migrate(this.db, 'log', MIGRATIONS);
    this.selectAfter = this.db.prepare('SELECT seq, partition, workspace_id, source_id, received_at, count, payload FROM log WHERE partition = ? AND seq > ? ORDER BY seq LIMIT ?');
    this.selectHead = this.db.prepare('SELECT MAX(seq) AS seq FROM log WHERE partition = ?');
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.writer = new Worker(WRITER, { eval: true, workerData: { file, driver, synchronous: sync === 'full' ? 'FULL' : 'NORMAL' } });
    this.writer.unref();
    this.writer.on('message', (m: string | null | { trimmed: number; error?: string } | { forgotten: number; error?: string }) => {
      if (m !== null && typeof m === 'object' && 'forgotten' in m) this.forgot(m);
      else if (m !== null && typeof m === 'object') this.trimmed(m);
      else this.committed(m);
    });
    this.writer.on('error', (error) => this.fail(error));
    this.writer.on('exit', () => this.fail(new Error('log writer stopped')));
  }

  append(batches: LogBatch[]): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (batches.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.pending.push({ batches, resolve, reject });
      if (!this.scheduled && !this.committing) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    if (this.committing || this.pending.length === 0) return;
    const group = this.pending;
    this.pending = [];
    this.committing = group;
    this.writer.ref(); // an acknowledgement is owed: keep the process alive until it is given
    this.writer.postMessage(group.length === 1 ? group[0].batches : group.flatMap((p) => p.batches));
  }

  private committed(error: string | null): void {
    const group = this.committing ?? [];
    this.committing = undefined;
    if (this.trims.length === 0 && this.forgets.length === 0) this.writer.unref();
    if (error !== null) for (const p of group) p.reject(new Error(`log append failed: ${error}`));
    else for (const p of group) p.resolve();
    // What arrived during that commit is already a group: send it now rather than after another turn of the loop.
    if (this.pending.length) this.flush();
    else for (const done of this.idle.splice(0)) done();
    if (error === null) for (const listener of this.listeners) listener();
  }

  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = error;
    for (const p of [...(this.committing ?? []), ...this.pending]) p.reject(error);
    for (const t of [...this.trims.splice(0), ...this.forgets.splice(0)]) t.reject(error);
    this.committing = undefined;
    this.pending = [];
    for (const done of this.idle.splice(0)) done();
  }

  trim(partition: number, upToOffset: number, receivedBefore: number): Promise<number> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.trims.push({ resolve, reject });
      this.writer.ref();
      this.writer.postMessage({ trim: { partition, upTo: upToOffset, before: receivedBefore } });
    });
  }

  private trimmed(reply: { trimmed: number; error?: string }): void {
    const waiter = this.trims.shift();
    if (!this.committing && this.trims.length === 0 && this.forgets.length === 0) this.writer.unref();
    if (reply.error !== undefined) waiter?.reject(new Error(`log trim failed: ${reply.error}`));
    else waiter?.resolve(reply.trimmed);
  }

  forget(workspaceId: string, messageIds: string[]): Promise<number> {
    if (this.failed) return Promise.reject(this.failed);
    if (messageIds.length === 0) return Promise.resolve(0);
    return new Promise((resolve, reject) => {
      this.forgets.push({ resolve, reject });
      this.writer.ref();
      this.writer.postMessage({ forget: { workspaceId, messageIds } });
    });
  }

  private forgot(reply: { forgotten: number; error?: string }): void {
    const waiter = this.forgets.shift();
    if (!this.committing && this.trims.length === 0 && this.forgets.length === 0) this.writer.unref();
    if (reply.error !== undefined) waiter?.reject(new Error(`log forget failed: ${reply.error}`));
    else waiter?.resolve(reply.forgotten);
  }

  async read(partition: number, afterOffset: number, limit: number): Promise<LogRecord[]> {
    const rows = this.selectAfter.all(partition, afterOffset, limit) as { seq: number; partition: number; workspace_id: string; source_id: string; received_at: number; count: number; payload: string }[];
    return rows.map((r) => ({ offset: r.seq, partition: r.partition, workspaceId: r.workspace_id, sourceId: r.source_id, receivedAt: r.received_at, count: r.count, payload: r.payload }));
  }

  async head(partition: number): Promise<number> {
    const row = this.selectHead.get(partition) as { seq: number | null };
    return row.seq ?? 0;
  }

  onAppend(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Another writer (the front thread's log) appended: tells this log's listeners as if it had. */
  notifyAppended(): void {
    for (const listener of this.listeners) listener();
  }

  async close(): Promise<void> {
    if (this.committing || this.pending.length) {
      await new Promise<void>((resolve) => {
        this.idle.push(resolve);
        if (!this.committing) this.flush();
      });
    }
    if (!this.failed) {
      this.failed = new Error('log is closed');
      const exited = new Promise((resolve) => this.writer.once('exit', resolve));
      this.writer.ref(); // waiting for the writer to finish must keep the process alive
      this.writer.postMessage('close');
      await exited;
    }
    this.db.close();
  }
}
