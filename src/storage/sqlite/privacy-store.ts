import type { ErasureCounts, ErasurePlan, PendingErasure, PrivacyStore, SubscriptionChange } from '../../core/ports/privacy.js';
import { migrate, type Sqlite, prepared } from './database.js';
import { rebuildAccounts } from './identity-accounts.js';
import { toEvent, type EventRow } from './store.js';

/** Forward-only migrations of component `privacy`. Append; never edit a released entry. */
const PRIVACY_MIGRATIONS: readonly string[] = [
  `CREATE TABLE privacy_tombstones (workspace_id TEXT NOT NULL, hash TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (workspace_id, hash)) WITHOUT ROWID;
   CREATE TABLE privacy_pending (id INTEGER PRIMARY KEY AUTOINCREMENT, workspace_id TEXT NOT NULL, event_ids TEXT NOT NULL, message_ids TEXT NOT NULL);
   CREATE TABLE privacy_subscriptions (
     id INTEGER PRIMARY KEY AUTOINCREMENT, workspace_id TEXT NOT NULL, profile_id TEXT NOT NULL, grp TEXT NOT NULL,
     status TEXT NOT NULL, at INTEGER NOT NULL, actor TEXT
   );
   CREATE INDEX privacy_subscriptions_profile ON privacy_subscriptions (profile_id);`,
];

/**
 * The embedded privacy store over the shared store.db handle. Erasure spans the tables of the store and identity
 * components: in the embedded mode they share one file, so one transaction removes the person everywhere.
 * secure_delete is on for this shared connection so deleted rows are zeroed, not left in free pages.
 */
export function openSqlitePrivacyStore(db: Sqlite): PrivacyStore {
  migrate(db, 'privacy', PRIVACY_MIGRATIONS);
  db.pragma('secure_delete = ON');

  const run = (sql: string, ...params: unknown[]) => prepared(db, sql).run(...params).changes;
  const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(', ');
  /** Runs `sql` with `IN (...)` over `values` in chunks (SQLite's parameter limit). */
  const each = <T>(values: T[], sql: (marks: string) => string, head: unknown[] = []) => {
    let n = 0;
    for (let i = 0; i < values.length; i += 500) {
      const chunk = values.slice(i, i + 500);
      n += prepared(db, sql(placeholders(chunk.length))).run(...head, ...chunk).changes;
    }
    return n;
  };

  const eraseEventRows = (workspaceId: string, eventIds: number[], messageIds: string[]) => {
    // Accounts named by erased group calls: their remaining calls rebuild them, or they go (docs/decisions/0007).
    const groups = new Set<string>();
    for (let i = 0; i < eventIds.length; i += 500) {
      const chunk = eventIds.slice(i, i + 500);
      for (const r of db.prepare(`SELECT group_id FROM account_events WHERE workspace_id = ? AND event_id IN (${placeholders(chunk.length)})`).all(workspaceId, ...chunk) as { group_id: string }[]) groups.add(r.group_id);
    }
    each(eventIds, (m) => `DELETE FROM account_events WHERE workspace_id = ? AND event_id IN (${m})`, [workspaceId]);
    const n = each(eventIds, (m) => `DELETE FROM events WHERE workspace_id = ? AND id IN (${m})`, [workspaceId]);
    rebuildAccounts(db, workspaceId, groups);
    each(eventIds, (m) => `DELETE FROM identity_event_profiles WHERE workspace_id = ? AND event_id IN (${m})`, [workspaceId]);
    each(messageIds, (m) => `DELETE FROM dedup WHERE workspace_id = ? AND message_id IN (${m})`, [workspaceId]);
    return n;
  };

  const eraseTx = db.transaction((p: ErasurePlan): { counts: ErasureCounts; pending: number } => {
    const ws = p.workspaceId;
    const events = eraseEventRows(ws, p.eventIds, p.messageIds);
    // Conflicts that concern the person name their identifiers: the whole record goes, for everyone it concerned.
    const conflictIds = [
      ...new Set((prepared(db, `SELECT conflict_id AS id FROM identity_conflict_profiles WHERE profile_id IN (${placeholders(p.profileIds.length)})`).all(...p.profileIds) as { id: number }[]).map((r) => r.id)),
    ];
    for (let i = 0; i < p.eventIds.length; i += 500) {
      const chunk = p.eventIds.slice(i, i + 500);
      for (const r of db.prepare(`SELECT id FROM identity_conflicts WHERE workspace_id = ? AND event_id IN (${placeholders(chunk.length)})`).all(ws, ...chunk) as { id: number }[]) {
        if (!conflictIds.includes(r.id)) conflictIds.push(r.id);
      }
    }
    const conflicts = each(conflictIds, (m) => `DELETE FROM identity_conflicts WHERE workspace_id = ? AND id IN (${m})`, [ws]);
    each(conflictIds, (m) => `DELETE FROM identity_conflict_profiles WHERE conflict_id IN (${m})`);
    let identifiers = 0;
    for (const i of p.identifiers) {
      identifiers += run('DELETE FROM identity_identifiers WHERE workspace_id = ? AND type = ? AND value = ?', ws, i.type, i.value);
      run('DELETE FROM identity_links WHERE workspace_id = ? AND ((from_type = ? AND from_value = ?) OR (to_type = ? AND to_value = ?))', ws, i.type, i.value, i.type, i.value);
    }
    identifiers += each(p.profileIds, (m) => `DELETE FROM identity_identifiers WHERE workspace_id = ? AND profile_id IN (${m})`, [ws]);
    each(p.profileIds, (m) => `DELETE FROM account_profiles WHERE workspace_id = ? AND profile_id IN (${m})`, [ws]);
    // Graph edits that concern the person (docs/decisions/0007): unmerge records name identifiers, so the whole record
    // goes, for everyone it concerned; separations naming their identifiers; identifiers blocked by unmerging their
    // profile. A value blocked through the block API is workspace configuration: it stays, without the profile id.
    const unmergeIds = [
      ...new Set((prepared(db, `SELECT unmerge_id AS id FROM identity_unmerge_profiles WHERE profile_id IN (${placeholders(p.profileIds.length)})`).all(...p.profileIds) as { id: number }[]).map((r) => r.id)),
    ];
    each(unmergeIds, (m) => `DELETE FROM identity_unmerges WHERE workspace_id = ? AND id IN (${m})`, [ws]);
    each(unmergeIds, (m) => `DELETE FROM identity_unmerge_profiles WHERE unmerge_id IN (${m})`);
    for (const i of p.identifiers) {
      run('DELETE FROM identity_separations WHERE workspace_id = ? AND ((a_type = ? AND a_value = ?) OR (b_type = ? AND b_value = ?))', ws, i.type, i.value, i.type, i.value);
    }
    each(p.profileIds, (m) => `DELETE FROM identity_blocked WHERE workspace_id = ? AND reason = 'unmerge' AND profile_id IN (${m})`, [ws]);
    each(p.profileIds, (m) => `UPDATE identity_blocked SET profile_id = NULL WHERE workspace_id = ? AND profile_id IN (${m})`, [ws]);
    const traits = each(p.profileIds, (m) => `DELETE FROM profile_trait_values WHERE workspace_id = ? AND profile_id IN (${m})`, [ws]);
    const merges =
      each(p.profileIds, (m) => `DELETE FROM identity_merges WHERE workspace_id = ? AND winner_id IN (${m})`, [ws]) +
      each(p.profileIds, (m) => `DELETE FROM identity_merges WHERE workspace_id = ? AND loser_id IN (${m})`, [ws]);
    each(p.profileIds, (m) => `DELETE FROM identity_profiles WHERE workspace_id = ? AND id IN (${m})`, [ws]);
    each(p.profileIds, (m) => `DELETE FROM privacy_subscriptions WHERE workspace_id = ? AND profile_id IN (${m})`, [ws]);
    const quarantine = each(p.quarantineIds, (m) => `DELETE FROM quarantine WHERE workspace_id = ? AND id IN (${m})`, [ws]);
    const tomb = prepared(db, 'INSERT OR IGNORE INTO privacy_tombstones (workspace_id, hash, at) VALUES (?, ?, ?)');
    for (const h of p.tombstones) tomb.run(ws, h, p.at);
    const pending = Number(
      prepared(db, 'INSERT INTO privacy_pending (workspace_id, event_ids, message_ids) VALUES (?, ?, ?)').run(ws, JSON.stringify(p.eventIds), JSON.stringify(p.messageIds)).lastInsertRowid,
    );
    return { counts: { events, identifiers, traits, merges, conflicts, quarantine }, pending };
  });

  const eraseEventsTx = db.transaction((workspaceId: string, events: { id: number; messageId: string }[]) => {
    const n = eraseEventRows(workspaceId, events.map((e) => e.id), events.map((e) => e.messageId));
    prepared(db, 'INSERT INTO privacy_pending (workspace_id, event_ids, message_ids) VALUES (?, ?, ?)').run(
      workspaceId, JSON.stringify(events.map((e) => e.id)), JSON.stringify(events.map((e) => e.messageId)),
    );
    return n;
  });

  return {
    async profileIds(workspaceId, canonical) {
      const rows = prepared(db, 'SELECT id FROM identity_profiles WHERE workspace_id = ? AND (id = ? OR merged_into = ?) ORDER BY age').all(workspaceId, canonical, canonical) as { id: string }[];
      return rows.map((r) => r.id);
    },
    async eventRefs(workspaceId, profileIds) {
      if (profileIds.length === 0) return [];
      const rows = prepared(db, 
          `SELECT e.id, e.message_id FROM identity_event_profiles p JOIN events e ON e.id = p.event_id
           WHERE p.workspace_id = ? AND p.profile_id IN (${placeholders(profileIds.length)}) ORDER BY e.id`,
        )
        .all(workspaceId, ...profileIds) as { id: number; message_id: string }[];
      return rows.map((r) => ({ id: r.id, messageId: r.message_id }));
    },
    async erase(plan) {
      return eraseTx(plan);
    },
    async eraseEvents(workspaceId, events) {
      return events.length ? eraseEventsTx(workspaceId, events) : 0;
    },
    async pending() {
      const rows = prepared(db, 'SELECT id, workspace_id, event_ids, message_ids FROM privacy_pending ORDER BY id').all() as { id: number; workspace_id: string; event_ids: string; message_ids: string }[];
      return rows.map((r): PendingErasure => ({ id: r.id, workspaceId: r.workspace_id, eventIds: JSON.parse(r.event_ids) as number[], messageIds: JSON.parse(r.message_ids) as string[] }));
    },
    async done(id) {
      run('DELETE FROM privacy_pending WHERE id = ?', id);
    },
    async tombstones(workspaceId) {
      return (prepared(db, 'SELECT hash FROM privacy_tombstones WHERE workspace_id = ?').all(workspaceId) as { hash: string }[]).map((r) => r.hash);
    },
    async subscriptionEvents(workspaceId, profileId) {
      // The resolve stage marks the events that state subscriptions (subs = 1, a partial index): a profile read
      // touches only those, however long the profile's timeline.
      const rows = prepared(db,
          `SELECT e.id, e.workspace_id, e.source_id, e.violations, e.message FROM identity_event_profiles p JOIN events e ON e.id = p.event_id
           WHERE p.profile_id = ? AND p.subs = 1 AND p.workspace_id = ?
           ORDER BY p.event_id`,
        )
        .all(profileId, workspaceId) as EventRow[];
      return rows.map(toEvent);
    },
    async subscriptionChanges(workspaceId, profileIds) {
      if (profileIds.length === 0) return [];
      const rows = prepared(db, `SELECT grp, status, at, actor FROM privacy_subscriptions WHERE workspace_id = ? AND profile_id IN (${placeholders(profileIds.length)}) ORDER BY id`)
        .all(workspaceId, ...profileIds) as { grp: string; status: SubscriptionChange['status']; at: number; actor: string | null }[];
      return rows.map((r): SubscriptionChange => ({ group: r.grp, status: r.status, at: r.at, source: 'api', ...(r.actor ? { actor: r.actor } : {}) }));
    },
    async addSubscriptionChange(workspaceId, profileId, c) {
      prepared(db, 'INSERT INTO privacy_subscriptions (workspace_id, profile_id, grp, status, at, actor) VALUES (?, ?, ?, ?, ?, ?)').run(workspaceId, profileId, c.group, c.status, c.at, c.actor ?? null);
    },
  };
}
