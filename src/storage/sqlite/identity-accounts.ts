import { accountOf } from '../../accounts/accounts.js';
import type { Message } from '../../collect/message.js';
import { prepared, type Sqlite } from './database.js';

/**
 * Recomputes accounts from the group events that remain after some were erased (privacy): an account's trait
 * observations are rebuilt from its remaining group calls, and an account no stored group call names any more
 * is removed with its traits. Runs inside the caller's transaction; `account_events` rows of the erased events
 * must already be gone. Links to profiles are the caller's (they follow the profiles, not the events).
 */
export function rebuildAccounts(db: Sqlite, workspaceId: string, groupIds: Iterable<string>): void {
  const remaining = prepared(db, 
    `SELECT e.id, e.source_id, e.message FROM account_events a JOIN events e ON e.id = a.event_id
     WHERE a.workspace_id = ? AND a.group_id = ? ORDER BY e.id`,
  );
  const dropTraits = prepared(db, 'DELETE FROM account_trait_values WHERE workspace_id = ? AND group_id = ?');
  const dropAccount = prepared(db, 'DELETE FROM identity_accounts WHERE workspace_id = ? AND group_id = ?');
  const dropEvents = prepared(db, 'DELETE FROM account_events WHERE workspace_id = ? AND group_id = ?');
  const insertTrait = prepared(db, 
    `INSERT INTO account_trait_values (workspace_id, group_id, name, value, source_id, count, first_at, first_event_id, first_message_id, last_at, last_event_id, last_message_id)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (const groupId of groupIds) {
    dropTraits.run(workspaceId, groupId);
    const rows = remaining.all(workspaceId, groupId) as { id: number; source_id: string; message: string }[];
    if (rows.length === 0) {
      dropAccount.run(workspaceId, groupId);
      dropEvents.run(workspaceId, groupId);
      continue;
    }
    type Sighting = { at: number; eventId: number; messageId: string };
    const traits = new Map<string, { name: string; value: string; sourceId: string; count: number; first: Sighting; last: Sighting }>();
    for (const r of rows) {
      const message = JSON.parse(r.message) as Message;
      const sighting = { at: Date.parse(message.timestamp), eventId: r.id, messageId: message.messageId };
      for (const t of accountOf(message)?.traits ?? []) {
        const key = `${t.name}\u0000${t.value}\u0000${r.source_id}`;
        const o = traits.get(key);
        if (!o) traits.set(key, { name: t.name, value: t.value, sourceId: r.source_id, count: 1, first: sighting, last: sighting });
        else {
          o.count++;
          if (sighting.at < o.first.at) o.first = sighting;
          if (sighting.at >= o.last.at) o.last = sighting;
        }
      }
    }
    for (const t of traits.values()) {
      insertTrait.run(workspaceId, groupId, t.name, t.value, t.sourceId, t.count, t.first.at, t.first.eventId, t.first.messageId, t.last.at, t.last.eventId, t.last.messageId);
    }
  }
}
