import type { Message, Violation } from '../../collect/message.js';
import type { Clock } from '../../core/clock.js';
import { newId } from '../../core/ids.js';
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
import { decodeText, encodeText, lock, LockClass, migrate, transaction, type Connection, type Pool, type Queryable } from './database.js';
import { POSTGRES_STORE_MIGRATIONS } from './store-schema.js';

/* Rows as the driver returns them: BIGINT as numbers (database.ts), json columns already parsed. */

interface EventRow {
  id: number;
  workspace_id: string;
  source_id: string;
  violations: Violation[] | null;
  message: Message;
}

interface QuarantineRow {
  id: number;
  workspace_id: string;
  source_id: string;
  message_id: string;
  type: string;
  event: string | null;
  reasons: Violation[];
  message: Message;
  received_at: number;
  status: QuarantineItem['status'];
  updated_at: number;
}

interface SourceRow {
  id: string;
  workspace_id: string;
  key: string;
  write_key_prefix: string;
  settings: SourceSettings;
  created_at: number;
}

interface VersionRow {
  workspace_id: string;
  version: number;
  at: number;
  author: string;
  message: string;
  changes: DefinitionChange[];
}

const toEvent = (r: EventRow): StoredEvent => ({ id: r.id, workspaceId: r.workspace_id, sourceId: r.source_id, message: r.message, violations: r.violations ?? [] });

const toQuarantine = (r: QuarantineRow): QuarantineItem => ({
  id: r.id,
  workspaceId: r.workspace_id,
  sourceId: r.source_id,
  messageId: decodeText(r.message_id),
  type: decodeText(r.type),
  event: decodeText(r.event),
  reasons: r.reasons,
  message: r.message,
  receivedAt: r.received_at,
  status: r.status,
  updatedAt: r.updated_at,
});

const toSource = (r: SourceRow): Source => ({ id: r.id, workspaceId: r.workspace_id, key: r.key, writeKeyPrefix: r.write_key_prefix, settings: r.settings, createdAt: r.created_at });

const toVersion = (r: VersionRow): WorkspaceVersion => ({ version: r.version, workspaceId: r.workspace_id, at: r.at, author: r.author, message: r.message, changes: r.changes });

const EVENT_COLUMNS = 'id, workspace_id, source_id, violations, message';

/**
 * Statements that run on every accept, prepared once per connection (pg's named statements). Arrays go in as
 * one parameter per column and come out as rows through unnest, so one statement text serves any batch size.
 */
const SQL = {
  eventsLock: { name: 'store.events-lock', text: 'SELECT pg_advisory_xact_lock($1::int, 0)' },
  dedupGet: {
    name: 'store.dedup-get',
    text: 'SELECT workspace_id, message_id, received_at FROM dedup WHERE (workspace_id, message_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))',
  },
  eventsInsert: {
    name: 'store.events-insert',
    text: `INSERT INTO events (workspace_id, source_id, message_id, type, event, user_id, anonymous_id, timestamp, received_at, violations, message)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::bigint[], $10::json[], $11::json[])
           RETURNING id`,
  },
  dedupPut: {
    name: 'store.dedup-put',
    text: `INSERT INTO dedup (workspace_id, message_id, received_at, event_id) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])
           ON CONFLICT (workspace_id, message_id) DO UPDATE SET received_at = excluded.received_at, event_id = excluded.event_id`,
  },
  offsetsPut: {
    name: 'store.offsets-put',
    text: `INSERT INTO consumer_offsets (consumer, partition, seq) SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[])
           ON CONFLICT (consumer, partition) DO UPDATE SET seq = excluded.seq`,
  },
  quarantineHeld: { name: 'store.quarantine-held', text: "SELECT id FROM quarantine WHERE workspace_id = $1 AND message_id = $2 AND status = 'held' ORDER BY id LIMIT 1" },
  quarantineInsert: {
    name: 'store.quarantine-insert',
    text: "INSERT INTO quarantine (workspace_id, source_id, message_id, type, event, reasons, message, received_at, status, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'held', $8)",
  },
  quarantineRefresh: { name: 'store.quarantine-refresh', text: 'UPDATE quarantine SET reasons = $1, message = $2, updated_at = $3 WHERE id = $4' },
  quarantineReplayed: { name: 'store.quarantine-replayed', text: "UPDATE quarantine SET status = 'replayed', updated_at = $1 WHERE id = $2 AND workspace_id = $3 AND status = 'held'" },
  after: { name: 'store.events-after', text: `SELECT ${EVENT_COLUMNS} FROM events WHERE id > $1 ORDER BY id LIMIT $2` },
  offsetGet: { name: 'store.offset-get', text: 'SELECT seq FROM consumer_offsets WHERE consumer = $1 AND partition = $2' },
} as const;

/** Events of one accept, column by column, in the order they are stored. */
class EventColumns {
  readonly workspace: string[] = [];
  readonly source: string[] = [];
  readonly messageId: string[] = [];
  readonly type: string[] = [];
  readonly event: (string | null)[] = [];
  readonly userId: (string | null)[] = [];
  readonly anonymousId: (string | null)[] = [];
  readonly timestamp: number[] = [];
  readonly receivedAt: number[] = [];
  readonly violations: (string | null)[] = [];
  readonly message: string[] = [];

  get length(): number {
    return this.message.length;
  }

  push(batch: AcceptBatch, m: Message, violations: Violation[]): void {
    this.workspace.push(batch.workspaceId);
    this.source.push(batch.sourceId);
    this.messageId.push(encodeText(m.messageId));
    this.type.push(encodeText(m.type));
    this.event.push(encodeText(m.event ?? null));
    this.userId.push(encodeText(m.userId ?? null));
    this.anonymousId.push(encodeText(m.anonymousId ?? null));
    this.timestamp.push(Date.parse(m.timestamp));
    this.receivedAt.push(batch.receivedAt);
    this.violations.push(violations.length ? JSON.stringify(violations) : null);
    this.message.push(JSON.stringify(m));
  }

  values(): unknown[] {
    return [this.workspace, this.source, this.messageId, this.type, this.event, this.userId, this.anonymousId, this.timestamp, this.receivedAt, this.violations, this.message];
  }
}

/**
 * The scale-out Store over a PostgreSQL pool (database.ts), with the behaviour of the SQLite store
 * (../sqlite/store.ts): the contract test (../store.contract.test.ts) runs the same assertions on both.
 *
 * Concurrency, since several processes share the database:
 * - `events.accept` takes one advisory lock (LockClass.events) for its whole transaction. Event ids are then
 *   assigned and made visible in the same order, which `events.after` readers rely on, and the dedup check
 *   cannot race another writer with the same messageId. docs/scale-out.md explains the choice.
 * - Definition, source and version writes lock their workspace (LockClass.versions), so that "latest version
 *   + 1" is never taken twice.
 *
 * `close()` ends the pool, as the SQLite store closes the database it was given: close it after the other
 * stores that share the pool.
 */
export async function openPostgresStore(pool: Pool, clock: Clock): Promise<Store> {
  await migrate(pool, 'store', POSTGRES_STORE_MIGRATIONS);

  async function acceptIn(c: Connection, batches: AcceptBatch[]): Promise<AcceptResult> {
    await c.query({ ...SQL.eventsLock, values: [LockClass.events] });
    // Keyed by the messageId as stored (encodeText), which is what the dedup table answers with.
    const key = (workspaceId: string, storedMessageId: string) => `${workspaceId}\u0000${storedMessageId}`;

    // Where each messageId was last stored, for the dedup window: read once for the whole accept, under the lock.
    const lookup: { ws: string[]; ids: string[] } = { ws: [], ids: [] };
    const asked = new Set<string>();
    for (const b of batches)
      for (const e of b.entries) {
        if (e.kind !== 'event') continue;
        const id = encodeText(e.message.messageId);
        if (asked.has(key(b.workspaceId, id))) continue;
        asked.add(key(b.workspaceId, id));
        lookup.ws.push(b.workspaceId);
        lookup.ids.push(id);
      }
    const seen = new Map<string, number>();
    if (lookup.ids.length) {
      const { rows } = await c.query<{ workspace_id: string; message_id: string; received_at: number }>({ ...SQL.dedupGet, values: [lookup.ws, lookup.ids] });
      for (const r of rows) seen.set(key(r.workspace_id, r.message_id), r.received_at);
    }

    // Walk the entries in order, as the SQLite store does one statement at a time. Quarantine entries and replay
    // resolutions are rare and depend on each other, so they run as they come; events are collected and
    // inserted together at the end (their ids depend on nothing else).
    const events = new EventColumns();
    const stored: StoredEvent[] = [];
    const dedup = new Map<string, { ws: string; messageId: string; receivedAt: number; index: number }>();
    const offsets = new Map<string, { consumer: string; partition: number; offset: number }>();
    let duplicates = 0;
    let quarantined = 0;
    for (const batch of batches) {
      const windowStart = batch.receivedAt - batch.dedupWindowMs;
      for (const entry of batch.entries) {
        const m = entry.message;
        if (entry.kind === 'quarantine') {
          const held = await c.query<{ id: number }>({ ...SQL.quarantineHeld, values: [batch.workspaceId, encodeText(m.messageId)] });
          if (held.rows.length) await c.query({ ...SQL.quarantineRefresh, values: [JSON.stringify(entry.violations), JSON.stringify(m), batch.receivedAt, held.rows[0].id] });
          else await c.query({ ...SQL.quarantineInsert, values: [batch.workspaceId, batch.sourceId, encodeText(m.messageId), encodeText(m.type), encodeText(m.event ?? null), JSON.stringify(entry.violations), JSON.stringify(m), batch.receivedAt] });
          quarantined++;
          continue;
        }
        const k = key(batch.workspaceId, encodeText(m.messageId));
        const seenAt = seen.get(k);
        if (seenAt !== undefined && seenAt >= windowStart) {
          // A replay whose messageId was meanwhile stored (the client resent it fixed) is resolved by that event.
          if (entry.replayOf !== undefined) await c.query({ ...SQL.quarantineReplayed, values: [batch.receivedAt, entry.replayOf, batch.workspaceId] });
          duplicates++;
          continue;
        }
        seen.set(k, batch.receivedAt);
        dedup.set(k, { ws: batch.workspaceId, messageId: encodeText(m.messageId), receivedAt: batch.receivedAt, index: events.length });
        events.push(batch, m, entry.violations);
        if (entry.replayOf !== undefined) await c.query({ ...SQL.quarantineReplayed, values: [batch.receivedAt, entry.replayOf, batch.workspaceId] });
        stored.push({ id: 0, workspaceId: batch.workspaceId, sourceId: batch.sourceId, message: m, violations: entry.violations });
      }
      offsets.set(`${batch.consumer}\u0000${batch.partition}`, { consumer: batch.consumer, partition: batch.partition, offset: batch.offset });
    }

    if (events.length) {
      const { rows } = await c.query<{ id: number }>({ ...SQL.eventsInsert, values: events.values() });
      // Identity values are drawn in insertion order; sorting guards against RETURNING listing them otherwise.
      const ids = rows.map((r) => r.id).sort((a, b) => a - b);
      stored.forEach((e, i) => (e.id = ids[i]));
      const d = [...dedup.values()];
      await c.query({ ...SQL.dedupPut, values: [d.map((x) => x.ws), d.map((x) => x.messageId), d.map((x) => x.receivedAt), d.map((x) => ids[x.index])] });
    }
    if (offsets.size) {
      const o = [...offsets.values()];
      await c.query({ ...SQL.offsetsPut, values: [o.map((x) => x.consumer), o.map((x) => x.partition), o.map((x) => x.offset)] });
    }
    return { stored, duplicates, quarantined };
  }

  /* ---- Definitions, sources and workspace versions: helpers run inside one transaction on `c` ---- */

  const API: (change: DefinitionChange) => VersionMeta = (c) => ({ author: 'api', message: `${c.kind}/${c.key} ${c.op === 'create' ? 'created' : c.op === 'update' ? 'updated' : 'deleted'} through the API` });
  const sourceBody = (s: Source) => ({ key: s.key, ...s.settings });
  const sourceRow = async (db: Queryable, workspaceId: string, key: string) => {
    const { rows } = await db.query<SourceRow>('SELECT * FROM sources WHERE workspace_id = $1 AND key = $2', [workspaceId, key]);
    return rows.length ? toSource(rows[0]) : undefined;
  };
  const defCurrent = async (db: Queryable, workspaceId: string, kind: string, key: string) => {
    const { rows } = await db.query<{ version: number; body: unknown; deleted: boolean }>(
      'SELECT version, body, deleted FROM definitions WHERE workspace_id = $1 AND kind = $2 AND key = $3 ORDER BY version DESC LIMIT 1',
      [workspaceId, kind, key],
    );
    const r = rows[0];
    return r && { version: r.version, deleted: r.deleted, body: r.deleted ? undefined : r.body };
  };
  const defWrite = async (c: Connection, workspaceId: string, kind: string, key: string, body: unknown): Promise<{ version: number; change: DefinitionChange } | undefined> => {
    const current = await defCurrent(c, workspaceId, kind, key);
    const live = current !== undefined && !current.deleted;
    if (body === null && !live) return undefined;
    const version = (current?.version ?? 0) + 1;
    await c.query('INSERT INTO definitions (workspace_id, kind, key, version, body, deleted, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
      workspaceId, kind, key, version, body === null ? 'null' : JSON.stringify(body), body === null, clock.now(),
    ]);
    return { version, change: { kind, key, op: body === null ? 'delete' : live ? 'update' : 'create', before: live ? current.body : null, after: body } };
  };
  const sourceWrite = async (c: Connection, workspaceId: string, write: WorkspaceWrite): Promise<DefinitionChange | undefined> => {
    const before = await sourceRow(c, workspaceId, write.key);
    if (write.body === null) {
      if (!before) return undefined;
      await c.query('DELETE FROM sources WHERE workspace_id = $1 AND key = $2', [workspaceId, write.key]);
      return { kind: 'sources', key: write.key, op: 'delete', before: sourceBody(before), after: null };
    }
    const { key: _key, ...settings } = write.body as { key: string } & SourceSettings;
    if (before) {
      await c.query('UPDATE sources SET settings = $1 WHERE workspace_id = $2 AND key = $3', [JSON.stringify(settings), workspaceId, write.key]);
      return { kind: 'sources', key: write.key, op: 'update', before: sourceBody(before), after: { key: write.key, ...settings } };
    }
    if (!write.writeKey) throw new Error(`creating source '${write.key}' needs a write key`);
    await c.query('INSERT INTO sources (id, workspace_id, key, write_key_hash, write_key_prefix, settings, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
      newId(), workspaceId, write.key, write.writeKey.hash, write.writeKey.prefix, JSON.stringify(settings), clock.now(),
    ]);
    return { kind: 'sources', key: write.key, op: 'create', before: null, after: { key: write.key, ...settings } };
  };
  const latestVersion = async (db: Queryable, workspaceId: string): Promise<number> => {
    const { rows } = await db.query<{ v: number | null }>('SELECT MAX(version) AS v FROM workspace_versions WHERE workspace_id = $1', [workspaceId]);
    return rows[0].v ?? 0;
  };
  const recordVersion = async (c: Connection, workspaceId: string, changes: DefinitionChange[], meta: VersionMeta): Promise<number> => {
    if (changes.length === 0) return 0;
    const version = (await latestVersion(c, workspaceId)) + 1;
    await c.query('INSERT INTO workspace_versions (workspace_id, version, at, author, message, changes) VALUES ($1, $2, $3, $4, $5, $6)', [
      workspaceId, version, clock.now(), meta.author, meta.message, JSON.stringify(changes),
    ]);
    return version;
  };
  /** A transaction that writes a workspace's definitions, sources or versions: one writer per workspace at a time. */
  const versioned = <T>(workspaceId: string, fn: (c: Connection) => Promise<T>) =>
    transaction(pool, async (c) => {
      await lock(c, LockClass.versions, workspaceId);
      return fn(c);
    });

  let closed: Promise<void> | undefined;
  const store: Store = {
    workspaces: {
      async ensure(id, name) {
        await pool.query('INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING', [id, name, clock.now()]);
        return (await store.workspaces.get(id)) as Workspace;
      },
      async get(id) {
        const { rows } = await pool.query<{ id: string; name: string; created_at: number }>('SELECT id, name, created_at FROM workspaces WHERE id = $1', [id]);
        return rows[0] && { id: rows[0].id, name: rows[0].name, createdAt: rows[0].created_at };
      },
    },
    tokens: {
      async add(workspaceId, name, tokenHash) {
        await pool.query('INSERT INTO admin_tokens (id, workspace_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)', [newId(), workspaceId, name, tokenHash, clock.now()]);
      },
      async workspaceOf(tokenHash) {
        const { rows } = await pool.query<{ workspace_id: string }>('SELECT workspace_id FROM admin_tokens WHERE token_hash = $1', [tokenHash]);
        return rows[0]?.workspace_id;
      },
      async count() {
        return (await pool.query<{ n: number }>('SELECT COUNT(*) AS n FROM admin_tokens')).rows[0].n;
      },
    },
    sources: {
      async create(workspaceId, key, writeKeyHash, writeKeyPrefix, settings, meta) {
        return versioned(workspaceId, async (c) => {
          const change = (await sourceWrite(c, workspaceId, { kind: 'sources', key, body: { key, ...settings }, writeKey: { hash: writeKeyHash, prefix: writeKeyPrefix } }))!;
          await recordVersion(c, workspaceId, [change], meta ?? API(change));
          return (await sourceRow(c, workspaceId, key)) as Source;
        });
      },
      async update(workspaceId, key, settings, meta) {
        return versioned(workspaceId, async (c) => {
          if (!(await sourceRow(c, workspaceId, key))) return undefined;
          const change = (await sourceWrite(c, workspaceId, { kind: 'sources', key, body: { key, ...settings } }))!;
          await recordVersion(c, workspaceId, [change], meta ?? API(change));
          return sourceRow(c, workspaceId, key);
        });
      },
      async remove(workspaceId, key, meta) {
        return versioned(workspaceId, async (c) => {
          const change = await sourceWrite(c, workspaceId, { kind: 'sources', key, body: null });
          if (change) await recordVersion(c, workspaceId, [change], meta ?? API(change));
          return change !== undefined;
        });
      },
      async get(workspaceId, key) {
        return sourceRow(pool, workspaceId, key);
      },
      async byId(id) {
        const { rows } = await pool.query<SourceRow>('SELECT * FROM sources WHERE id = $1', [id]);
        return rows[0] && toSource(rows[0]);
      },
      async byWriteKeyHash(hash) {
        const { rows } = await pool.query<SourceRow>('SELECT * FROM sources WHERE write_key_hash = $1', [hash]);
        return rows[0] && toSource(rows[0]);
      },
      async list(workspaceId) {
        // COLLATE "C": byte order, as SQLite sorts, whatever the database's collation.
        return (await pool.query<SourceRow>('SELECT * FROM sources WHERE workspace_id = $1 ORDER BY key COLLATE "C"', [workspaceId])).rows.map(toSource);
      },
    },
    definitions: {
      async put(workspaceId, kind, key, body, meta) {
        return versioned(workspaceId, async (c) => {
          const written = (await defWrite(c, workspaceId, kind, key, body))!;
          await recordVersion(c, workspaceId, [written.change], meta ?? API(written.change));
          return written.version;
        });
      },
      async get<T>(workspaceId: string, kind: string, key: string) {
        const r = await defCurrent(pool, workspaceId, kind, key);
        return r && !r.deleted ? { version: r.version, body: r.body as T } : undefined;
      },
      async list<T>(workspaceId: string, kind: string) {
        const { rows } = await pool.query<{ key: string; version: number; body: T; deleted: boolean }>(
          `SELECT * FROM (
             SELECT DISTINCT ON (key COLLATE "C") key, version, body, deleted FROM definitions
             WHERE workspace_id = $1 AND kind = $2 ORDER BY key COLLATE "C", version DESC
           ) latest WHERE NOT deleted ORDER BY key COLLATE "C"`,
          [workspaceId, kind],
        );
        return rows.map((r) => ({ key: r.key, version: r.version, body: r.body }));
      },
      async remove(workspaceId, kind, key, meta) {
        return versioned(workspaceId, async (c) => {
          const written = await defWrite(c, workspaceId, kind, key, null);
          if (written) await recordVersion(c, workspaceId, [written.change], meta ?? API(written.change));
          return written !== undefined;
        });
      },
    },
    versions: {
      async list(workspaceId, filter) {
        const { rows } = await pool.query<VersionRow>('SELECT * FROM workspace_versions WHERE workspace_id = $1 AND version < $2::bigint ORDER BY version DESC LIMIT $3', [
          workspaceId, filter.before ?? Number.MAX_SAFE_INTEGER, filter.limit,
        ]);
        return rows.map(toVersion);
      },
      async get(workspaceId, version) {
        const { rows } = await pool.query<VersionRow>('SELECT * FROM workspace_versions WHERE workspace_id = $1 AND version = $2', [workspaceId, version]);
        return rows[0] && toVersion(rows[0]);
      },
      async latest(workspaceId) {
        return latestVersion(pool, workspaceId);
      },
      async commit(workspaceId, writes, meta) {
        return versioned(workspaceId, async (c) => {
          const changes: DefinitionChange[] = [];
          const definitionVersions: Record<string, number> = {};
          for (const w of writes) {
            if (w.kind === 'sources') {
              const change = await sourceWrite(c, workspaceId, w);
              if (change) changes.push(change);
              continue;
            }
            const written = await defWrite(c, workspaceId, w.kind, w.key, w.body);
            if (!written) continue;
            changes.push(written.change);
            definitionVersions[`${w.kind}/${w.key}`] = written.version;
          }
          return { version: await recordVersion(c, workspaceId, changes, meta), definitionVersions };
        });
      },
    },
    events: {
      async accept(batches) {
        return transaction(pool, (c) => acceptIn(c, batches));
      },
      async list(workspaceId, f: EventFilter) {
        if (f.messageId !== undefined) {
          const { rows } = await pool.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE workspace_id = $1 AND message_id = $2 ORDER BY id DESC LIMIT $3`, [workspaceId, encodeText(f.messageId), f.limit]);
          return rows.map(toEvent).filter((e) => (f.sourceId === undefined || e.sourceId === f.sourceId) && (f.type === undefined || e.message.type === f.type) && (f.event === undefined || e.message.event === f.event));
        }
        const params: unknown[] = [workspaceId];
        const where = ['workspace_id = $1'];
        const add = (sql: string, value: unknown) => (params.push(value), where.push(`${sql} $${params.length}`));
        if (f.sourceId !== undefined) add('source_id =', f.sourceId);
        if (f.type !== undefined) add('type =', encodeText(f.type));
        if (f.event !== undefined) add('event =', encodeText(f.event));
        if (f.before !== undefined) add('id <', f.before);
        params.push(f.limit);
        const { rows } = await pool.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $${params.length}`, params);
        return rows.map(toEvent);
      },
      async after(afterId, limit) {
        return (await pool.query<EventRow>({ ...SQL.after, values: [afterId, limit] })).rows.map(toEvent);
      },
      async offset(consumer, partition) {
        const { rows } = await pool.query<{ seq: number }>({ ...SQL.offsetGet, values: [consumer, partition] });
        return rows[0]?.seq ?? 0;
      },
      async pruneDedup(olderThan) {
        return (await pool.query('DELETE FROM dedup WHERE received_at < $1', [olderThan])).rowCount ?? 0;
      },
      async count(workspaceId, filter = {}) {
        const { rows } = filter.event === undefined
          ? await pool.query<{ n: number }>('SELECT COUNT(*) AS n FROM events WHERE workspace_id = $1', [workspaceId])
          : await pool.query<{ n: number }>('SELECT COUNT(*) AS n FROM events WHERE workspace_id = $1 AND event = $2', [workspaceId, encodeText(filter.event)]);
        return rows[0].n;
      },
    },
    quarantine: {
      async list(workspaceId, f: QuarantineFilter) {
        const params: unknown[] = [workspaceId];
        const where = ['workspace_id = $1'];
        const add = (sql: string, value: unknown) => (params.push(value), where.push(sql.replace('?', `$${params.length}`)));
        if (f.sourceId !== undefined) add('source_id = ?', f.sourceId);
        if (f.event !== undefined) add('event = ?', encodeText(f.event));
        if (f.status !== undefined) add('status = ?', f.status);
        if (f.from !== undefined) add('received_at >= ?', f.from);
        if (f.to !== undefined) add('received_at < ?', f.to);
        if (f.before !== undefined) add('id < ?', f.before);
        // A text search, not json_array_elements(reasons)->>'kind': PostgreSQL refuses to turn a JSON string with
        // \u0000 into text, and a violation's message can quote what a client sent. Reasons are flat objects written
        // by JSON.stringify (no spaces; a quote inside a string is escaped), so `"kind":"x"` only matches the key.
        if (f.reason !== undefined) add('strpos(reasons::text, ?) > 0', `"kind":${JSON.stringify(f.reason)}`);
        params.push(f.limit);
        const { rows } = await pool.query<QuarantineRow>(`SELECT * FROM quarantine WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $${params.length}`, params);
        return rows.map(toQuarantine);
      },
      async get(workspaceId, id) {
        const { rows } = await pool.query<QuarantineRow>('SELECT * FROM quarantine WHERE workspace_id = $1 AND id = $2', [workspaceId, id]);
        return rows[0] && toQuarantine(rows[0]);
      },
      async setStatus(workspaceId, ids, status, at) {
        if (ids.length === 0) return 0;
        const r = await pool.query("UPDATE quarantine SET status = $1, updated_at = $2 WHERE workspace_id = $3 AND id = ANY($4::bigint[]) AND status = 'held'", [status, at, workspaceId, ids]);
        return r.rowCount ?? 0;
      },
      async update(workspaceId, id, message, reasons, at) {
        // type and event follow the edited message so that the list filters find it under its new name.
        const type = typeof message.type === 'string' ? encodeText(message.type) : null;
        const event = typeof message.event === 'string' ? encodeText(message.event) : null;
        await pool.query("UPDATE quarantine SET message = $1, reasons = $2, type = COALESCE($3, type), event = $4, updated_at = $5 WHERE workspace_id = $6 AND id = $7 AND status = 'held'", [
          JSON.stringify(message), JSON.stringify(reasons), type, event, at, workspaceId, id,
        ]);
      },
    },
    audit: {
      async add(entry: AuditEntry, at: number) {
        await pool.query('INSERT INTO audit (workspace_id, at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6)', [
          entry.workspaceId, at, entry.actor, entry.action, entry.target, entry.detail === undefined ? null : JSON.stringify(entry.detail),
        ]);
      },
      async list(workspaceId, limit, before) {
        // detail as text: SQL NULL (no detail) and JSON null (a detail of null) must stay apart.
        const { rows } = await pool.query<{ id: number; workspace_id: string; at: number; actor: string; action: string; target: string; detail: string | null }>(
          'SELECT id, workspace_id, at, actor, action, target, detail::text AS detail FROM audit WHERE workspace_id = $1 AND id < $3 ORDER BY id DESC LIMIT $2',
          [workspaceId, limit, before ?? Number.MAX_SAFE_INTEGER],
        );
        return rows.map((r) => ({ id: r.id, workspaceId: r.workspace_id, at: r.at, actor: r.actor, action: r.action, target: r.target, detail: r.detail === null ? undefined : JSON.parse(r.detail) }));
      },
    },
    async close() {
      closed ??= pool.end();
      return closed;
    },
  };
  return store;
}
