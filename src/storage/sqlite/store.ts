import type { LogEntry, Message, Violation } from '../../collect/message.js';
import type {
  AcceptBatch,
  AcceptResult,
  AuditEntry,
  DefinitionChange,
  EventFilter,
  QuarantineFilter,
  QuarantineItem,
  Source,
  SourceSettings,
  Store,
  StoredEvent,
  VersionMeta,
  Workspace,
  WorkspaceVersion,
  WorkspaceWrite,
} from '../../core/ports/store.js';
import { newId } from '../../core/ids.js';
import type { Clock } from '../../core/clock.js';
import { migrate, type Sqlite, prepared } from './database.js';
import { STORE_MIGRATIONS } from './store-schema.js';

/** A row of the `events` table as the stages and readers select it. */
export interface EventRow {
  id: number;
  workspace_id: string;
  source_id: string;
  violations: string | null;
  message: string;
}

interface QuarantineRow {
  id: number;
  workspace_id: string;
  source_id: string;
  message_id: string;
  type: string;
  event: string | null;
  reasons: string;
  message: string;
  received_at: number;
  status: QuarantineItem['status'];
  updated_at: number;
}

interface SourceRow {
  id: string;
  workspace_id: string;
  key: string;
  write_key_prefix: string;
  settings: string;
  created_at: number;
}

export const toEvent = (r: EventRow): StoredEvent => ({
  id: r.id,
  workspaceId: r.workspace_id,
  sourceId: r.source_id,
  message: JSON.parse(r.message) as Message,
  violations: r.violations ? (JSON.parse(r.violations) as Violation[]) : [],
});

const toQuarantine = (r: QuarantineRow): QuarantineItem => ({
  id: r.id,
  workspaceId: r.workspace_id,
  sourceId: r.source_id,
  messageId: r.message_id,
  type: r.type,
  event: r.event,
  reasons: JSON.parse(r.reasons) as Violation[],
  message: JSON.parse(r.message) as Message,
  receivedAt: r.received_at,
  status: r.status,
  updatedAt: r.updated_at,
});

const toSource = (r: SourceRow): Source => ({
  id: r.id,
  workspaceId: r.workspace_id,
  key: r.key,
  writeKeyPrefix: r.write_key_prefix,
  settings: JSON.parse(r.settings) as SourceSettings,
  createdAt: r.created_at,
});

/**
 * The embedded Store over an open SQLite database (shared with other embedded components, such as identity,
 * so that a stage's effects and its offset commit in one transaction). Each port method is one statement or
 * one transaction.
 */
export function openSqliteStore(db: Sqlite, clock: Clock): Store {
  migrate(db, 'store', STORE_MIGRATIONS);

  const stmt = {
    dedupGet: db.prepare('SELECT received_at FROM dedup WHERE workspace_id = ? AND message_id = ?'),
    dedupPut: db.prepare('INSERT OR REPLACE INTO dedup (workspace_id, message_id, received_at, event_id) VALUES (?, ?, ?, ?)'),
    eventInsert: db.prepare(
      'INSERT INTO events (workspace_id, source_id, message_id, type, event, user_id, anonymous_id, timestamp, received_at, violations, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    quarantineHeld: db.prepare("SELECT id FROM quarantine WHERE workspace_id = ? AND message_id = ? AND status = 'held'"),
    quarantineInsert: db.prepare(
      "INSERT INTO quarantine (workspace_id, source_id, message_id, type, event, reasons, message, received_at, status, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'held', ?)",
    ),
    quarantineRefresh: db.prepare('UPDATE quarantine SET reasons = ?, message = ?, updated_at = ? WHERE id = ?'),
    quarantineReplayed: db.prepare("UPDATE quarantine SET status = 'replayed', updated_at = ? WHERE id = ? AND workspace_id = ? AND status = 'held'"),
    offsetGet: db.prepare('SELECT seq FROM consumer_offsets WHERE consumer = ? AND partition = ?'),
    offsetPut: db.prepare('INSERT INTO consumer_offsets (consumer, partition, seq) VALUES (?, ?, ?) ON CONFLICT (consumer, partition) DO UPDATE SET seq = excluded.seq'),
  };

  // Several log records in one transaction: fewer commits, and each record's offset is still committed with its effects.
  const acceptTx = db.transaction((batches: AcceptBatch[]): AcceptResult => {
    const stored: StoredEvent[] = [];
    let duplicates = 0;
    let quarantined = 0;
    for (const batch of batches) {
      const windowStart = batch.receivedAt - batch.dedupWindowMs;
      for (const entry of batch.entries as LogEntry[]) {
        const m = entry.message;
        if (entry.kind === 'quarantine') {
          const held = stmt.quarantineHeld.get(batch.workspaceId, m.messageId) as { id: number } | undefined;
          if (held) stmt.quarantineRefresh.run(JSON.stringify(entry.violations), JSON.stringify(m), batch.receivedAt, held.id);
          else stmt.quarantineInsert.run(batch.workspaceId, batch.sourceId, m.messageId, m.type, m.event ?? null, JSON.stringify(entry.violations), JSON.stringify(m), batch.receivedAt, batch.receivedAt);
          quarantined++;
          continue;
        }
        const seen = stmt.dedupGet.get(batch.workspaceId, m.messageId) as { received_at: number } | undefined;
        if (seen && seen.received_at >= windowStart) {
          // A replay whose messageId was meanwhile stored (the client resent it fixed) is resolved by that event.
          if (entry.replayOf !== undefined) stmt.quarantineReplayed.run(batch.receivedAt, entry.replayOf, batch.workspaceId);
          duplicates++;
          continue;
        }
        const violations = entry.violations.length ? JSON.stringify(entry.violations) : null;
        const info = stmt.eventInsert.run(
          batch.workspaceId,
          batch.sourceId,
          m.messageId,
          m.type,
          m.event ?? null,
          m.userId ?? null,
          m.anonymousId ?? null,
          Date.parse(m.timestamp),
          batch.receivedAt,
          violations,
          JSON.stringify(m),
        );
        const id = Number(info.lastInsertRowid);
        stmt.dedupPut.run(batch.workspaceId, m.messageId, batch.receivedAt, id);
        if (entry.replayOf !== undefined) stmt.quarantineReplayed.run(batch.receivedAt, entry.replayOf, batch.workspaceId);
        stored.push({ id, workspaceId: batch.workspaceId, sourceId: batch.sourceId, message: m, violations: entry.violations });
      }
      stmt.offsetPut.run(batch.consumer, batch.partition, batch.offset);
    }
    return { stored, duplicates, quarantined };
  });

  /* ---- Definitions, sources and workspace versions: synchronous parts, so that a commit is one transaction ---- */

  const API: (change: DefinitionChange) => VersionMeta = (c) => ({ author: 'api', message: `${c.kind}/${c.key} ${c.op === 'create' ? 'created' : c.op === 'update' ? 'updated' : 'deleted'} through the API` });
  const sourceBody = (s: Source) => ({ key: s.key, ...s.settings });
  const sourceRow = (workspaceId: string, key: string) => {
    const r = prepared(db, 'SELECT * FROM sources WHERE workspace_id = ? AND key = ?').get(workspaceId, key) as SourceRow | undefined;
    return r && toSource(r);
  };
  const defCurrent = (workspaceId: string, kind: string, key: string) => {
    const r = prepared(db, 'SELECT version, body, deleted FROM definitions WHERE workspace_id = ? AND kind = ? AND key = ? ORDER BY version DESC LIMIT 1')
      .get(workspaceId, kind, key) as { version: number; body: string; deleted: number } | undefined;
    return r && { version: r.version, deleted: r.deleted === 1, body: r.deleted ? undefined : (JSON.parse(r.body) as unknown) };
  };
  const defWrite = (workspaceId: string, kind: string, key: string, body: unknown): { version: number; change: DefinitionChange } | undefined => {
    const current = defCurrent(workspaceId, kind, key);
    const live = current && !current.deleted;
    if (body === null && !live) return undefined;
    const version = (current?.version ?? 0) + 1;
    prepared(db, 'INSERT INTO definitions (workspace_id, kind, key, version, body, deleted, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
      workspaceId, kind, key, version, body === null ? 'null' : JSON.stringify(body), body === null ? 1 : 0, clock.now(),
    );
    return { version, change: { kind, key, op: body === null ? 'delete' : live ? 'update' : 'create', before: live ? current.body : null, after: body } };
  };
  const sourceWrite = (workspaceId: string, write: WorkspaceWrite): DefinitionChange | undefined => {
    const before = sourceRow(workspaceId, write.key);
    if (write.body === null) {
      if (!before) return undefined;
      prepared(db, 'DELETE FROM sources WHERE workspace_id = ? AND key = ?').run(workspaceId, write.key);
      return { kind: 'sources', key: write.key, op: 'delete', before: sourceBody(before), after: null };
    }
    const { key: _key, ...settings } = write.body as { key: string } & SourceSettings;
    if (before) {
      prepared(db, 'UPDATE sources SET settings = ? WHERE workspace_id = ? AND key = ?').run(JSON.stringify(settings), workspaceId, write.key);
      return { kind: 'sources', key: write.key, op: 'update', before: sourceBody(before), after: { key: write.key, ...settings } };
    }
    if (!write.writeKey) throw new Error(`creating source '${write.key}' needs a write key`);
    prepared(db, 'INSERT INTO sources (id, workspace_id, key, write_key_hash, write_key_prefix, settings, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
      newId(), workspaceId, write.key, write.writeKey.hash, write.writeKey.prefix, JSON.stringify(settings), clock.now(),
    );
    return { kind: 'sources', key: write.key, op: 'create', before: null, after: { key: write.key, ...settings } };
  };
  const recordVersion = (workspaceId: string, changes: DefinitionChange[], meta: VersionMeta): number => {
    if (changes.length === 0) return 0;
    const r = prepared(db, 'SELECT MAX(version) AS v FROM workspace_versions WHERE workspace_id = ?').get(workspaceId) as { v: number | null };
    const version = (r.v ?? 0) + 1;
    prepared(db, 'INSERT INTO workspace_versions (workspace_id, version, at, author, message, changes) VALUES (?, ?, ?, ?, ?, ?)').run(
      workspaceId, version, clock.now(), meta.author, meta.message, JSON.stringify(changes),
    );
    return version;
  };
  const toVersion = (r: { workspace_id: string; version: number; at: number; author: string; message: string; changes: string }): WorkspaceVersion => ({
    version: r.version, workspaceId: r.workspace_id, at: r.at, author: r.author, message: r.message, changes: JSON.parse(r.changes) as DefinitionChange[],
  });

  const store: Store = {
    workspaces: {
      async ensure(id, name) {
        prepared(db, 'INSERT OR IGNORE INTO workspaces (id, name, created_at) VALUES (?, ?, ?)').run(id, name, clock.now());
        return (await store.workspaces.get(id)) as Workspace;
      },
      async get(id) {
        const r = prepared(db, 'SELECT id, name, created_at FROM workspaces WHERE id = ?').get(id) as { id: string; name: string; created_at: number } | undefined;
        return r && { id: r.id, name: r.name, createdAt: r.created_at };
      },
    },
    tokens: {
      async add(workspaceId, name, tokenHash) {
        prepared(db, 'INSERT INTO admin_tokens (id, workspace_id, name, token_hash, created_at) VALUES (?, ?, ?, ?, ?)').run(newId(), workspaceId, name, tokenHash, clock.now());
      },
      async workspaceOf(tokenHash) {
        const r = prepared(db, 'SELECT workspace_id FROM admin_tokens WHERE token_hash = ?').get(tokenHash) as { workspace_id: string } | undefined;
        return r?.workspace_id;
      },
      async count() {
        return (prepared(db, 'SELECT COUNT(*) AS n FROM admin_tokens').get() as { n: number }).n;
      },
    },
    sources: {
      async create(workspaceId, key, writeKeyHash, writeKeyPrefix, settings, meta) {
        db.transaction(() => {
          const change = sourceWrite(workspaceId, { kind: 'sources', key, body: { key, ...settings }, writeKey: { hash: writeKeyHash, prefix: writeKeyPrefix } })!;
          recordVersion(workspaceId, [change], meta ?? API(change));
        })();
        return sourceRow(workspaceId, key) as Source;
      },
      async update(workspaceId, key, settings, meta) {
        if (!sourceRow(workspaceId, key)) return undefined;
        db.transaction(() => {
          const change = sourceWrite(workspaceId, { kind: 'sources', key, body: { key, ...settings } })!;
          recordVersion(workspaceId, [change], meta ?? API(change));
        })();
        return sourceRow(workspaceId, key);
      },
      async remove(workspaceId, key, meta) {
        return db.transaction(() => {
          const change = sourceWrite(workspaceId, { kind: 'sources', key, body: null });
          if (change) recordVersion(workspaceId, [change], meta ?? API(change));
          return change !== undefined;
        })();
      },
      async get(workspaceId, key) {
        const r = prepared(db, 'SELECT * FROM sources WHERE workspace_id = ? AND key = ?').get(workspaceId, key) as SourceRow | undefined;
        return r && toSource(r);
      },
      async byId(id) {
        const r = prepared(db, 'SELECT * FROM sources WHERE id = ?').get(id) as SourceRow | undefined;
        return r && toSource(r);
      },
      async byWriteKeyHash(hash) {
        const r = prepared(db, 'SELECT * FROM sources WHERE write_key_hash = ?').get(hash) as SourceRow | undefined;
        return r && toSource(r);
      },
      async list(workspaceId) {
        return (prepared(db, 'SELECT * FROM sources WHERE workspace_id = ? ORDER BY key').all(workspaceId) as SourceRow[]).map(toSource);
      },
    },
    definitions: {
      async put(workspaceId, kind, key, body, meta) {
        return db.transaction(() => {
          const written = defWrite(workspaceId, kind, key, body)!;
          recordVersion(workspaceId, [written.change], meta ?? API(written.change));
          return written.version;
        })();
      },
      async get<T>(workspaceId: string, kind: string, key: string) {
        const r = defCurrent(workspaceId, kind, key);
        return r && !r.deleted ? { version: r.version, body: r.body as T } : undefined;
      },
      async list<T>(workspaceId: string, kind: string) {
        const rows = prepared(db, 
            `SELECT d.key, d.version, d.body FROM definitions d
             JOIN (SELECT key, MAX(version) AS v FROM definitions WHERE workspace_id = ? AND kind = ? GROUP BY key) m ON m.key = d.key AND m.v = d.version
             WHERE d.workspace_id = ? AND d.kind = ? AND d.deleted = 0 ORDER BY d.key`,
          )
          .all(workspaceId, kind, workspaceId, kind) as { key: string; version: number; body: string }[];
        return rows.map((r) => ({ key: r.key, version: r.version, body: JSON.parse(r.body) as T }));
      },
      async remove(workspaceId, kind, key, meta) {
        return db.transaction(() => {
          const written = defWrite(workspaceId, kind, key, null);
          if (written) recordVersion(workspaceId, [written.change], meta ?? API(written.change));
          return written !== undefined;
        })();
      },
    },
    versions: {
      async list(workspaceId, filter) {
        const rows = prepared(db, 'SELECT * FROM workspace_versions WHERE workspace_id = ? AND version < ? ORDER BY version DESC LIMIT ?')
          .all(workspaceId, filter.before ?? Number.MAX_SAFE_INTEGER, filter.limit) as Parameters<typeof toVersion>[0][];
        return rows.map(toVersion);
      },
      async get(workspaceId, version) {
        const r = prepared(db, 'SELECT * FROM workspace_versions WHERE workspace_id = ? AND version = ?').get(workspaceId, version) as Parameters<typeof toVersion>[0] | undefined;
        return r && toVersion(r);
      },
      async latest(workspaceId) {
        return (prepared(db, 'SELECT MAX(version) AS v FROM workspace_versions WHERE workspace_id = ?').get(workspaceId) as { v: number | null }).v ?? 0;
      },
      async commit(workspaceId, writes, meta) {
        return db.transaction(() => {
          const changes: DefinitionChange[] = [];
          const definitionVersions: Record<string, number> = {};
          for (const w of writes) {
            if (w.kind === 'sources') {
              const change = sourceWrite(workspaceId, w);
              if (change) changes.push(change);
              continue;
            }
            const written = defWrite(workspaceId, w.kind, w.key, w.body);
            if (!written) continue;
            changes.push(written.change);
            definitionVersions[`${w.kind}/${w.key}`] = written.version;
          }
          return { version: recordVersion(workspaceId, changes, meta), definitionVersions };
        })();
      },
    },
    events: {
      async accept(batches) {
        return acceptTx(batches);
      },
      async list(workspaceId, f: EventFilter) {
        if (f.messageId !== undefined) {
          const rows = prepared(db, 'SELECT e.id, e.workspace_id, e.source_id, e.violations, e.message FROM events e WHERE e.workspace_id = ? AND e.message_id = ? ORDER BY e.id DESC LIMIT ?')
            .all(workspaceId, f.messageId, f.limit) as EventRow[];
          return rows.map(toEvent).filter((e) => (f.sourceId === undefined || e.sourceId === f.sourceId) && (f.type === undefined || e.message.type === f.type) && (f.event === undefined || e.message.event === f.event));
        }
        const where = ['workspace_id = ?'];
        const params: (string | number)[] = [workspaceId];
        if (f.sourceId !== undefined) (where.push('source_id = ?'), params.push(f.sourceId));
        if (f.type !== undefined) (where.push('type = ?'), params.push(f.type));
        if (f.event !== undefined) (where.push('event = ?'), params.push(f.event));
        if (f.before !== undefined) (where.push('id < ?'), params.push(f.before));
        params.push(f.limit);
        const rows = prepared(db, `SELECT id, workspace_id, source_id, violations, message FROM events WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`).all(...params) as EventRow[];
        return rows.map(toEvent);
      },
      async after(afterId, limit) {
        const rows = prepared(db, 'SELECT id, workspace_id, source_id, violations, message FROM events WHERE id > ? ORDER BY id LIMIT ?').all(afterId, limit) as EventRow[];
        return rows.map(toEvent);
      },
      async offset(consumer, partition) {
        const r = stmt.offsetGet.get(consumer, partition) as { seq: number } | undefined;
        return r?.seq ?? 0;
      },
      async pruneDedup(olderThan) {
        return db.prepare('DELETE FROM dedup WHERE received_at < ?').run(olderThan).changes;
      },
      async count(workspaceId, filter = {}) {
        const r = filter.event === undefined
          ? prepared(db, 'SELECT COUNT(*) AS n FROM events WHERE workspace_id = ?').get(workspaceId)
          : db.prepare('SELECT COUNT(*) AS n FROM events WHERE workspace_id = ? AND event = ?').get(workspaceId, filter.event);
        return (r as { n: number }).n;
      },
    },
    quarantine: {
      async list(workspaceId, f: QuarantineFilter) {
        const where = ['workspace_id = ?'];
        const params: (string | number)[] = [workspaceId];
        if (f.sourceId !== undefined) (where.push('source_id = ?'), params.push(f.sourceId));
        if (f.event !== undefined) (where.push('event = ?'), params.push(f.event));
        if (f.status !== undefined) (where.push('status = ?'), params.push(f.status));
        if (f.from !== undefined) (where.push('received_at >= ?'), params.push(f.from));
        if (f.to !== undefined) (where.push('received_at < ?'), params.push(f.to));
        if (f.before !== undefined) (where.push('id < ?'), params.push(f.before));
        if (f.reason !== undefined) (where.push("EXISTS (SELECT 1 FROM json_each(reasons) r WHERE json_extract(r.value, '$.kind') = ?)"), params.push(f.reason));
        params.push(f.limit);
        const rows = prepared(db, `SELECT * FROM quarantine WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`).all(...params) as QuarantineRow[];
        return rows.map(toQuarantine);
      },
      async get(workspaceId, id) {
        const r = prepared(db, 'SELECT * FROM quarantine WHERE workspace_id = ? AND id = ?').get(workspaceId, id) as QuarantineRow | undefined;
        return r && toQuarantine(r);
      },
      async setStatus(workspaceId, ids, status, at) {
        const update = prepared(db, "UPDATE quarantine SET status = ?, updated_at = ? WHERE workspace_id = ? AND id = ? AND status = 'held'");
        return db.transaction(() => ids.reduce((n, id) => n + update.run(status, at, workspaceId, id).changes, 0))();
      },
      async update(workspaceId, id, message, reasons, at) {
        // type and event follow the edited message so that the list filters find it under its new name.
        const type = typeof message.type === 'string' ? message.type : null;
        const event = typeof message.event === 'string' ? message.event : null;
        prepared(db, "UPDATE quarantine SET message = ?, reasons = ?, type = COALESCE(?, type), event = ?, updated_at = ? WHERE workspace_id = ? AND id = ? AND status = 'held'").run(
          JSON.stringify(message), JSON.stringify(reasons), type, event, at, workspaceId, id,
        );
      },
    },
    audit: {
      async add(entry: AuditEntry, at: number) {
        prepared(db, 'INSERT INTO audit (workspace_id, at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)').run(
          entry.workspaceId, at, entry.actor, entry.action, entry.target, entry.detail === undefined ? null : JSON.stringify(entry.detail),
        );
      },
      async list(workspaceId, limit, before) {
        const rows = prepared(db, 'SELECT * FROM audit WHERE workspace_id = ? AND id < ? ORDER BY id DESC LIMIT ?').all(workspaceId, before ?? Number.MAX_SAFE_INTEGER, limit) as {
          id: number; workspace_id: string; at: number; actor: string; action: string; target: string; detail: string | null;
        }[];
        return rows.map((r) => ({ id: r.id, workspaceId: r.workspace_id, at: r.at, actor: r.actor, action: r.action, target: r.target, detail: r.detail ? JSON.parse(r.detail) : undefined }));
      },
    },
    async close() {
      db.close();
    },
  };
  return store;
}
