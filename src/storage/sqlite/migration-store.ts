import type { Message } from '../../collect/message.js';
import type { HistoryQuery, HistoryRow, MigrationRecord, MigrationStore } from '../../migrations/ports.js';
import { migrate, prepared, type Sqlite } from './database.js';

/** Forward-only migrations of the data-migrations component (docs/workspace.md, storage migrations). */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE data_migrations (
     workspace_id TEXT NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL, dry_run INTEGER NOT NULL, author TEXT NOT NULL,
     request TEXT NOT NULL, status TEXT NOT NULL, progress TEXT NOT NULL, report TEXT, error TEXT,
     created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
     PRIMARY KEY (workspace_id, id)
   );`,
];

interface RecordRow {
  workspace_id: string;
  id: string;
  kind: string;
  dry_run: number;
  author: string;
  request: string;
  status: MigrationRecord['status'];
  progress: string;
  report: string | null;
  error: string | null;
  created_at: number;
  updated_at: number;
}

const toRecord = (r: RecordRow): MigrationRecord => ({
  workspaceId: r.workspace_id,
  id: r.id,
  kind: r.kind,
  dryRun: r.dry_run === 1,
  author: r.author,
  request: JSON.parse(r.request) as Record<string, unknown>,
  status: r.status,
  progress: JSON.parse(r.progress) as MigrationRecord['progress'],
  ...(r.report !== null ? { report: JSON.parse(r.report) as Record<string, unknown> } : {}),
  ...(r.error !== null ? { error: JSON.parse(r.error) as MigrationRecord['error'] } : {}),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** The WHERE clause of a history scan: one workspace, optionally one event name, message types and a present JSON path. */
function where(q: Omit<HistoryQuery, 'afterId' | 'limit'>): { sql: string; params: (string | number)[] } {
  const parts = ['workspace_id = ?'];
  const params: (string | number)[] = [q.workspaceId];
  if (q.event !== undefined) (parts.push('event = ?'), params.push(q.event));
  if (q.types?.length) (parts.push(`type IN (${q.types.map(() => '?').join(', ')})`), params.push(...q.types));
  if (q.jsonPath !== undefined) (parts.push('json_type(message, ?) IS NOT NULL'), params.push(q.jsonPath));
  if (q.profileId !== undefined) (parts.push('id IN (SELECT event_id FROM identity_event_profiles WHERE profile_id = ?)'), params.push(q.profileId));
  return { sql: parts.join(' AND '), params };
}

/**
 * Data migrations in store.db: their records, and the rewrite of the stored history (the events table's `event`
 * column and message JSON, held quarantine items). Rewrites go in id order, a chunk per transaction.
 */
export function openSqliteMigrationStore(db: Sqlite): MigrationStore {
  migrate(db, 'data-migrations', MIGRATIONS);
  const s = {
    insert: db.prepare(
      `INSERT INTO data_migrations (workspace_id, id, kind, dry_run, author, request, status, progress, report, error, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?)`,
    ),
    get: db.prepare('SELECT * FROM data_migrations WHERE workspace_id = ? AND id = ?'),
    list: db.prepare('SELECT * FROM data_migrations WHERE workspace_id = ? ORDER BY created_at DESC, id DESC LIMIT ?'),
    running: db.prepare("SELECT * FROM data_migrations WHERE workspace_id = ? AND status = 'running' AND dry_run = 0 LIMIT 1"),
    interrupted: db.prepare("UPDATE data_migrations SET status = 'failed', error = ?, updated_at = ? WHERE status = 'running'"),
    rewrite: db.prepare('UPDATE events SET event = ?, message = ? WHERE workspace_id = ? AND id = ?'),
  };
  return {
    scan(q) {
      const w = where(q);
      const rows = prepared(db, `SELECT id, type, event, message FROM events WHERE ${w.sql} AND id > ? ORDER BY id LIMIT ?`).all(...w.params, q.afterId, q.limit) as { id: number; type: string; event: string | null; message: string }[];
      return rows.map((r): HistoryRow => ({ id: r.id, type: r.type, event: r.event, message: JSON.parse(r.message) as Message }));
    },
    count(q) {
      const w = where(q);
      return (prepared(db, `SELECT COUNT(*) AS n FROM events WHERE ${w.sql}`).get(...w.params) as { n: number }).n;
    },
    rewrite(workspaceId, rows) {
      db.transaction(() => {
        for (const r of rows) s.rewrite.run(r.message.type === 'track' ? (r.message.event ?? null) : null, JSON.stringify(r.message), workspaceId, r.id);
      })();
    },
    renameHeld(workspaceId, from, to) {
      return db.prepare("UPDATE quarantine SET event = ?, message = json_set(message, '$.event', ?) WHERE workspace_id = ? AND status = 'held' AND type = 'track' AND event = ?").run(to, to, workspaceId, from).changes;
    },
    countHeld(workspaceId, event) {
      return (db.prepare("SELECT COUNT(*) AS n FROM quarantine WHERE workspace_id = ? AND status = 'held' AND type = 'track' AND event = ?").get(workspaceId, event) as { n: number }).n;
    },
    profilesOf(workspaceId, eventIds) {
      if (eventIds.length === 0) return [];
      return (db.prepare('SELECT DISTINCT profile_id FROM identity_event_profiles WHERE workspace_id = ? AND event_id IN (SELECT value FROM json_each(?)) ORDER BY profile_id').pluck().all(workspaceId, JSON.stringify(eventIds)) as string[]);
    },
    deleteTraits(workspaceId, profileId, names) {
      return db.prepare('DELETE FROM profile_trait_values WHERE workspace_id = ? AND profile_id = ? AND name IN (SELECT value FROM json_each(?))').run(workspaceId, profileId, JSON.stringify(names)).changes;
    },
    create(r) {
      s.insert.run(r.workspaceId, r.id, r.kind, r.dryRun ? 1 : 0, r.author, JSON.stringify(r.request), r.status, JSON.stringify(r.progress), r.createdAt, r.updatedAt);
    },
    update(workspaceId, id, patch, at) {
      const sets: string[] = ['updated_at = ?'];
      const params: unknown[] = [at];
      if (patch.status !== undefined) (sets.push('status = ?'), params.push(patch.status));
      if (patch.progress !== undefined) (sets.push('progress = ?'), params.push(JSON.stringify(patch.progress)));
      if (patch.report !== undefined) (sets.push('report = ?'), params.push(JSON.stringify(patch.report)));
      if (patch.error !== undefined) (sets.push('error = ?'), params.push(JSON.stringify(patch.error)));
      db.prepare(`UPDATE data_migrations SET ${sets.join(', ')} WHERE workspace_id = ? AND id = ?`).run(...params, workspaceId, id);
    },
    get(workspaceId, id) {
      const r = s.get.get(workspaceId, id) as RecordRow | undefined;
      return r ? toRecord(r) : undefined;
    },
    list(workspaceId, limit) {
      return (s.list.all(workspaceId, limit) as RecordRow[]).map(toRecord);
    },
    running(workspaceId) {
      const r = s.running.get(workspaceId) as RecordRow | undefined;
      return r ? toRecord(r) : undefined;
    },
    interrupted(message, at) {
      return s.interrupted.run(JSON.stringify({ code: 'interrupted', message }), at).changes;
    },
  };
}
