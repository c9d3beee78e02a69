import type {
  AudienceChange,
  AudienceExportRecord,
  DeliveryFilter,
  DeliveryLogEntry,
  DeliveryRecord,
  DeliveryStatus,
  DeliveryStore,
  OutboxMessage,
  PendingDeliveryEvent,
  Settlement,
} from '../../delivery/ports.js';
import { migrate, type Sqlite } from './database.js';
import { DELIVERY_MIGRATIONS } from './delivery-schema.js';

interface MessageRow {
  id: number;
  message_id: string;
  workspace_id: string;
  profile_id: string;
  channel: string;
  template: string | null;
  payload: string;
  idempotency_key: string;
  priority: number;
  journey: string | null;
  node: string | null;
  state: DeliveryRecord['state'];
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  provider_id: string | null;
  created_at: number;
  updated_at: number;
}

const toRecord = (r: MessageRow): DeliveryRecord => ({
  id: r.message_id,
  seq: r.id,
  workspaceId: r.workspace_id,
  profileId: r.profile_id,
  channel: r.channel,
  template: r.template,
  payload: JSON.parse(r.payload) as Record<string, unknown>,
  idempotencyKey: r.idempotency_key,
  priority: r.priority,
  journey: r.journey,
  node: r.node,
  state: r.state,
  status: r.status,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  lastError: r.last_error,
  providerId: r.provider_id,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** How far along a message is: a later status never goes back to an earlier one (an open after a click stays clicked). */
const RANK: Record<DeliveryStatus, number> = { queued: 0, sent: 1, delivered: 2, opened: 3, clicked: 4, failed: 5, bounced: 5, suppressed: 5 };

/**
 * The delivery tables over the shared store.db handle. Every method is synchronous, so `enqueue` can run inside a
 * caller's `db.transaction(...)` (a journey step commits its state and its outbox rows together).
 */
export function openSqliteDeliveryStore(db: Sqlite): DeliveryStore {
  migrate(db, 'delivery', DELIVERY_MIGRATIONS);
  const s = {
    insert: db.prepare(
      `INSERT INTO delivery_messages (message_id, workspace_id, profile_id, channel, template, payload, idempotency_key, priority, journey, node,
         state, status, attempts, next_attempt_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 'queued', 0, ?, ?, ?)
       ON CONFLICT (workspace_id, idempotency_key) DO NOTHING`,
    ),
    byKey: db.prepare('SELECT * FROM delivery_messages WHERE workspace_id = ? AND idempotency_key = ?'),
    get: db.prepare('SELECT * FROM delivery_messages WHERE message_id = ?'),
    // A message is due when its time has come and no earlier message of its (profile, channel) queue is still pending.
    due: db.prepare(
      `SELECT o.* FROM delivery_messages o
       WHERE o.state = 'pending' AND o.next_attempt_at <= ?
         AND NOT EXISTS (SELECT 1 FROM delivery_messages p
                         WHERE p.state = 'pending' AND p.workspace_id = o.workspace_id AND p.profile_id = o.profile_id
                           AND p.channel = o.channel AND p.id < o.id)
       ORDER BY o.priority DESC, o.next_attempt_at, o.id LIMIT ?`,
    ),
    nextDue: db.prepare("SELECT MIN(next_attempt_at) AS t FROM delivery_messages WHERE state = 'pending'"),
    claim: db.prepare("UPDATE delivery_messages SET attempts = ?, next_attempt_at = ?, updated_at = ? WHERE message_id = ? AND state = 'pending' AND attempts = ?"),
    settle: db.prepare(
      `UPDATE delivery_messages SET state = ?, status = COALESCE(?, status), last_error = ?, provider_id = COALESCE(?, provider_id),
         next_attempt_at = COALESCE(?, next_attempt_at), updated_at = ? WHERE message_id = ?`,
    ),
    status: db.prepare('UPDATE delivery_messages SET status = ?, updated_at = ? WHERE message_id = ?'),
    requeue: db.prepare("UPDATE delivery_messages SET state = 'pending', status = 'queued', attempts = 0, next_attempt_at = ?, updated_at = ? WHERE workspace_id = ? AND message_id = ? AND state <> 'pending'"),
    logPut: db.prepare('INSERT INTO delivery_log (workspace_id, message_id, status, at, attempt, detail) VALUES (?, ?, ?, ?, ?, ?)'),
    logGet: db.prepare('SELECT status, at, attempt, detail FROM delivery_log WHERE message_id = ? ORDER BY id'),
    eventPut: db.prepare('INSERT INTO delivery_event_queue (workspace_id, profile_id, message) VALUES (?, ?, ?)'),
    events: db.prepare('SELECT id, workspace_id, profile_id, message FROM delivery_event_queue ORDER BY id LIMIT ?'),
    eventDel: db.prepare('DELETE FROM delivery_event_queue WHERE id = ?'),
    secretGet: db.prepare('SELECT secret FROM delivery_keys WHERE name = ?'),
    secretPut: db.prepare('INSERT OR IGNORE INTO delivery_keys (name, secret, created_at) VALUES (?, ?, ?)'),
    memberGet: db.prepare('SELECT 1 FROM delivery_audience_members WHERE workspace_id = ? AND channel = ? AND profile_id = ?'),
    memberPut: db.prepare(
      `INSERT INTO delivery_audience_members (workspace_id, channel, profile_id, email, phone, changed_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (workspace_id, channel, profile_id) DO UPDATE SET email = excluded.email, phone = excluded.phone, changed_at = excluded.changed_at`,
    ),
    memberDel: db.prepare('DELETE FROM delivery_audience_members WHERE workspace_id = ? AND channel = ? AND profile_id = ?'),
    changePut: db.prepare('INSERT INTO delivery_audience_changes (workspace_id, channel, profile_id, action, email, phone, at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    members: db.prepare('SELECT profile_id, email, phone FROM delivery_audience_members WHERE workspace_id = ? AND channel = ? ORDER BY profile_id'),
    changesAfter: db.prepare('SELECT seq, profile_id, action, email, phone FROM delivery_audience_changes WHERE workspace_id = ? AND channel = ? AND seq > ? ORDER BY seq'),
    lastSeq: db.prepare('SELECT MAX(seq) AS seq FROM delivery_audience_changes WHERE workspace_id = ? AND channel = ?'),
    exports: db.prepare('SELECT * FROM delivery_audience_exports WHERE workspace_id = ? AND channel = ? ORDER BY id DESC'),
    exportPut: db.prepare('INSERT INTO delivery_audience_exports (workspace_id, channel, kind, platform, file, rows, through_seq, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
  };

  const log = (workspaceId: string, messageId: string, e: DeliveryLogEntry) =>
    s.logPut.run(workspaceId, messageId, e.status, e.at, e.attempt ?? null, e.detail === undefined ? null : JSON.stringify(e.detail));
  const queueEvent = (workspaceId: string, profileId: string, e: PendingDeliveryEvent) => s.eventPut.run(workspaceId, profileId, JSON.stringify(e));
  const row = (messageId: string) => s.get.get(messageId) as MessageRow | undefined;

  const enqueue = (m: OutboxMessage, messageId: string, at: number) => {
    const info = s.insert.run(
      messageId, m.workspaceId, m.profileId, m.channel, m.template ?? null, JSON.stringify(m.payload ?? {}), m.idempotencyKey,
      m.priority ?? 0, m.journey ?? null, m.node ?? null, Math.max(at, m.notBefore ?? at), at, at,
    );
    const created = info.changes > 0;
    if (created) log(m.workspaceId, messageId, { status: 'queued', at, ...(m.notBefore !== undefined && m.notBefore > at ? { detail: { notBefore: m.notBefore } } : {}) });
    return { message: toRecord(s.byKey.get(m.workspaceId, m.idempotencyKey) as MessageRow), created };
  };

  const settleTx = db.transaction((messageId: string, x: Settlement, at: number) => {
    const r = row(messageId);
    if (!r) return;
    s.settle.run(x.state, x.status ?? null, x.lastError === undefined ? r.last_error : x.lastError, x.providerId ?? null, x.nextAttemptAt ?? null, at, messageId);
    for (const e of x.log) log(r.workspace_id, messageId, e);
    for (const e of x.events) queueEvent(r.workspace_id, r.profile_id, e);
  });

  const recordTx = db.transaction((messageId: string, status: DeliveryLogEntry['status'], detail: Record<string, unknown>, event: PendingDeliveryEvent | undefined, at: number) => {
    const r = row(messageId);
    if (!r) return;
    log(r.workspace_id, messageId, { status, at, detail });
    if (status in RANK && RANK[status as DeliveryStatus] > RANK[r.status]) s.status.run(status, at, messageId);
    if (event) queueEvent(r.workspace_id, r.profile_id, event);
  });

  const requeueTx = db.transaction((workspaceId: string, messageId: string, at: number) => {
    if (s.requeue.run(at, at, workspaceId, messageId).changes === 0) return false;
    log(workspaceId, messageId, { status: 'requeued', at });
    return true;
  });

  const audienceTx = db.transaction((workspaceId: string, channel: string, c: AudienceChange, at: number) => {
    const member = s.memberGet.get(workspaceId, channel, c.profileId) !== undefined;
    if (c.action === 'add') {
      if (member) {
        s.memberPut.run(workspaceId, channel, c.profileId, c.email, c.phone, at); // refresh the hashes, no change to export
        return false;
      }
      s.memberPut.run(workspaceId, channel, c.profileId, c.email, c.phone, at);
    } else {
      if (!member) return false;
      s.memberDel.run(workspaceId, channel, c.profileId);
    }
    s.changePut.run(workspaceId, channel, c.profileId, c.action, c.email, c.phone, at);
    return true;
  });

  return {
    enqueue,
    due(now, limit) {
      return (s.due.all(now, limit) as MessageRow[]).map(toRecord);
    },
    nextDue() {
      return (s.nextDue.get() as { t: number | null }).t ?? undefined;
    },
    claim(messageId, attempt, retryAt, at) {
      return s.claim.run(attempt, retryAt, at, messageId, attempt - 1).changes > 0;
    },
    settle(messageId, x, at) {
      settleTx(messageId, x, at);
    },
    record(messageId, status, detail, event, at) {
      recordTx(messageId, status, detail, event, at);
    },
    requeue(workspaceId, messageId, at) {
      return requeueTx(workspaceId, messageId, at);
    },
    get(messageId) {
      const r = row(messageId);
      return r && toRecord(r);
    },
    byKey(workspaceId, key) {
      const r = s.byKey.get(workspaceId, key) as MessageRow | undefined;
      return r && toRecord(r);
    },
    log(messageId) {
      return (s.logGet.all(messageId) as { status: DeliveryLogEntry['status']; at: number; attempt: number | null; detail: string | null }[]).map((r) => ({
        status: r.status,
        at: r.at,
        ...(r.attempt !== null ? { attempt: r.attempt } : {}),
        ...(r.detail !== null ? { detail: JSON.parse(r.detail) as Record<string, unknown> } : {}),
      }));
    },
    list(workspaceId, f: DeliveryFilter) {
      const where = ['workspace_id = ?'];
      const params: (string | number)[] = [workspaceId];
      if (f.status !== undefined) (where.push('status = ?'), params.push(f.status));
      if (f.state !== undefined) (where.push('state = ?'), params.push(f.state));
      if (f.channel !== undefined) (where.push('channel = ?'), params.push(f.channel));
      if (f.profileId !== undefined) (where.push('profile_id = ?'), params.push(f.profileId));
      if (f.journey !== undefined) (where.push('journey = ?'), params.push(f.journey));
      if (f.before !== undefined) (where.push('id < ?'), params.push(f.before));
      params.push(f.limit);
      return (db.prepare(`SELECT * FROM delivery_messages WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`).all(...params) as MessageRow[]).map(toRecord);
    },
    pendingEvents(limit) {
      return (s.events.all(limit) as { id: number; workspace_id: string; profile_id: string; message: string }[]).map((r) => ({
        id: r.id, workspaceId: r.workspace_id, profileId: r.profile_id, event: JSON.parse(r.message) as PendingDeliveryEvent,
      }));
    },
    eventsDone(ids) {
      db.transaction(() => { for (const id of ids) s.eventDel.run(id); })();
    },
    secret(name, generate, at) {
      const found = s.secretGet.get(name) as { secret: string } | undefined;
      if (found) return found.secret;
      s.secretPut.run(name, generate(), at);
      return (s.secretGet.get(name) as { secret: string }).secret;
    },
    eraseProfiles(workspaceId, profileIds) {
      return db.transaction(() => {
        let n = 0;
        for (const p of profileIds) {
          const ids = (db.prepare('SELECT message_id FROM delivery_messages WHERE workspace_id = ? AND profile_id = ?').all(workspaceId, p) as { message_id: string }[]).map((r) => r.message_id);
          for (const id of ids) db.prepare('DELETE FROM delivery_log WHERE message_id = ?').run(id);
          n += db.prepare('DELETE FROM delivery_messages WHERE workspace_id = ? AND profile_id = ?').run(workspaceId, p).changes;
          db.prepare('DELETE FROM delivery_event_queue WHERE workspace_id = ? AND profile_id = ?').run(workspaceId, p);
          db.prepare('DELETE FROM delivery_audience_members WHERE workspace_id = ? AND profile_id = ?').run(workspaceId, p);
          db.prepare('DELETE FROM delivery_audience_changes WHERE workspace_id = ? AND profile_id = ?').run(workspaceId, p);
        }
        return n;
      })();
    },
    audience: {
      apply: (workspaceId, channel, change, at) => audienceTx(workspaceId, channel, change, at),
      members(workspaceId, channel) {
        return (s.members.all(workspaceId, channel) as { profile_id: string; email: string | null; phone: string | null }[]).map((r) => ({
          profileId: r.profile_id, email: r.email, phone: r.phone,
        }));
      },
      changesAfter(workspaceId, channel, seq) {
        return (s.changesAfter.all(workspaceId, channel, seq) as { seq: number; profile_id: string; action: 'add' | 'remove'; email: string | null; phone: string | null }[]).map((r) => ({
          seq: r.seq, profileId: r.profile_id, action: r.action, email: r.email, phone: r.phone,
        }));
      },
      lastSeq(workspaceId, channel) {
        return (s.lastSeq.get(workspaceId, channel) as { seq: number | null }).seq ?? 0;
      },
      exported(workspaceId, channel) {
        return (s.exports.all(workspaceId, channel) as { id: number; kind: AudienceExportRecord['kind']; platform: string; file: string; rows: number; through_seq: number; at: number }[]).map((r) => ({
          id: r.id, kind: r.kind, platform: r.platform, file: r.file, rows: r.rows, throughSeq: r.through_seq, at: r.at,
        }));
      },
      recordExport(workspaceId, channel, r) {
        s.exportPut.run(workspaceId, channel, r.kind, r.platform, r.file, r.rows, r.throughSeq, r.at);
      },
    },
  };
}
