import type { Message, Violation } from '../../collect/message.js';
import type { ConflictRecord, IdentifierRecord, IdentityStore, MergeRecord, ResolvedEvent, StoredEvent } from '../../core/ports/store.js';
import type { GraphProfile } from '../../identity/graph.js';
import { identifierKey, type Identifier } from '../../identity/model.js';
import type { TraitObservation } from '../../profiles/survivorship.js';
import { migrate, type Sqlite } from './database.js';
import { IDENTITY_MIGRATIONS } from './identity-schema.js';

interface TraitRow {
  name: string;
  value: string;
  source_id: string;
  count: number;
  first_at: number;
  first_event_id: number;
  first_message_id: string;
  last_at: number;
  last_event_id: number;
  last_message_id: string;
}

interface ConflictRow {
  id: number;
  event_id: number;
  message_id: string;
  profile_id: string | null;
  reason: string;
  identifiers: string;
  dropped: string;
  profiles: string;
  at: number;
}

const toTrait = (r: TraitRow): TraitObservation => ({
  name: r.name,
  value: r.value,
  sourceId: r.source_id,
  count: r.count,
  first: { sourceId: r.source_id, at: r.first_at, eventId: r.first_event_id, messageId: r.first_message_id },
  last: { sourceId: r.source_id, at: r.last_at, eventId: r.last_event_id, messageId: r.last_message_id },
});

const toConflict = (r: ConflictRow): ConflictRecord => ({
  id: r.id,
  eventId: r.event_id,
  messageId: r.message_id,
  profileId: r.profile_id,
  reason: r.reason,
  identifiers: JSON.parse(r.identifiers) as Identifier[],
  dropped: JSON.parse(r.dropped) as Identifier[],
  profiles: JSON.parse(r.profiles) as string[],
  at: r.at,
});

/** Combines two compacted sightings of one (profile, trait, value, source): counts add, earliest first, latest last. */
const combineSightings = `
  count = count + excluded.count,
  first_at = CASE WHEN excluded.first_at < first_at OR (excluded.first_at = first_at AND excluded.first_event_id < first_event_id) THEN excluded.first_at ELSE first_at END,
  first_event_id = CASE WHEN excluded.first_at < first_at OR (excluded.first_at = first_at AND excluded.first_event_id < first_event_id) THEN excluded.first_event_id ELSE first_event_id END,
  first_message_id = CASE WHEN excluded.first_at < first_at OR (excluded.first_at = first_at AND excluded.first_event_id < first_event_id) THEN excluded.first_message_id ELSE first_message_id END,
  last_at = CASE WHEN excluded.last_at > last_at OR (excluded.last_at = last_at AND excluded.last_event_id > last_event_id) THEN excluded.last_at ELSE last_at END,
  last_event_id = CASE WHEN excluded.last_at > last_at OR (excluded.last_at = last_at AND excluded.last_event_id > last_event_id) THEN excluded.last_event_id ELSE last_event_id END,
  last_message_id = CASE WHEN excluded.last_at > last_at OR (excluded.last_at = last_at AND excluded.last_event_id > last_event_id) THEN excluded.last_message_id ELSE last_message_id END`;

/** The largest code point, so that `prefix + TOP` bounds every string starting with `prefix` (BINARY collation). */
const TOP = '\u{10FFFF}';

/**
 * The embedded identity graph and profile store, over the shared store.db handle: commit() runs in one
 * transaction with the resolve stage's position, so a crash never half-applies a batch.
 */
export function openSqliteIdentityStore(db: Sqlite): IdentityStore {
  migrate(db, 'identity', IDENTITY_MIGRATIONS);

  const stmt = {
    positionGet: db.prepare('SELECT event_id FROM identity_positions WHERE consumer = ?'),
    positionPut: db.prepare('INSERT INTO identity_positions (consumer, event_id) VALUES (?, ?) ON CONFLICT (consumer) DO UPDATE SET event_id = excluded.event_id'),
    owner: db.prepare('SELECT profile_id FROM identity_identifiers WHERE workspace_id = ? AND type = ? AND value = ?'),
    profileAge: db.prepare('SELECT age FROM identity_profiles WHERE id = ?'),
    identifiersOf: db.prepare('SELECT type, value, first_seen, last_seen, event_id FROM identity_identifiers WHERE profile_id = ? ORDER BY type, value'),
    profileInsert: db.prepare('INSERT INTO identity_profiles (id, workspace_id, age, created_at) VALUES (?, ?, ?, ?)'),
    profileMerge: db.prepare('UPDATE identity_profiles SET merged_into = ?, merged_at = ? WHERE workspace_id = ? AND (id = ? OR merged_into = ?)'),
    identifiersMove: db.prepare('UPDATE identity_identifiers SET profile_id = ? WHERE profile_id = ?'),
    eventsMove: db.prepare('UPDATE identity_event_profiles SET profile_id = ? WHERE profile_id = ?'),
    traitsMove: db.prepare(
      `INSERT INTO profile_trait_values (workspace_id, profile_id, name, value, source_id, count, first_at, first_event_id, first_message_id, last_at, last_event_id, last_message_id)
       SELECT workspace_id, ?, name, value, source_id, count, first_at, first_event_id, first_message_id, last_at, last_event_id, last_message_id
       FROM profile_trait_values WHERE profile_id = ? AND true
       ON CONFLICT (profile_id, name, value, source_id) DO UPDATE SET ${combineSightings}`,
    ),
    traitsDrop: db.prepare('DELETE FROM profile_trait_values WHERE profile_id = ?'),
    traitSighting: db.prepare(
      `INSERT INTO profile_trait_values (workspace_id, profile_id, name, value, source_id, count, first_at, first_event_id, first_message_id, last_at, last_event_id, last_message_id)
       VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (profile_id, name, value, source_id) DO UPDATE SET ${combineSightings}`,
    ),
    mergeInsert: db.prepare('INSERT INTO identity_merges (workspace_id, winner_id, loser_id, event_id, message_id, identifiers, at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    identifierSeen: db.prepare(
      `INSERT INTO identity_identifiers (workspace_id, type, value, profile_id, first_seen, last_seen, event_id) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (workspace_id, type, value) DO UPDATE SET first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)`,
    ),
    linkInsert: db.prepare('INSERT OR IGNORE INTO identity_links (workspace_id, from_type, from_value, to_type, to_value, event_id, at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    eventProfile: db.prepare('INSERT OR REPLACE INTO identity_event_profiles (event_id, workspace_id, profile_id) VALUES (?, ?, ?)'),
    conflictInsert: db.prepare('INSERT INTO identity_conflicts (workspace_id, event_id, message_id, profile_id, reason, identifiers, dropped, profiles, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
    conflictProfile: db.prepare('INSERT OR IGNORE INTO identity_conflict_profiles (conflict_id, profile_id) VALUES (?, ?)'),
  };

  const commitTx = db.transaction((consumer: string, position: number, events: ResolvedEvent[], at: number) => {
    for (const e of events) {
      const r = e.resolution;
      if (r.created) stmt.profileInsert.run(r.created.id, e.workspaceId, r.created.age, at);
      for (const m of r.merges) {
        stmt.profileMerge.run(m.winner, at, e.workspaceId, m.loser, m.loser);
        stmt.identifiersMove.run(m.winner, m.loser);
        stmt.eventsMove.run(m.winner, m.loser);
        stmt.traitsMove.run(m.winner, m.loser);
        stmt.traitsDrop.run(m.loser);
        stmt.mergeInsert.run(e.workspaceId, m.winner, m.loser, r.eventId, e.messageId, JSON.stringify(r.identifiers), at);
      }
      if (r.conflict) {
        const c = r.conflict;
        const info = stmt.conflictInsert.run(e.workspaceId, r.eventId, e.messageId, r.profileId, c.reason, JSON.stringify(c.identifiers), JSON.stringify(c.dropped), JSON.stringify(c.profiles), at);
        const id = Number(info.lastInsertRowid);
        for (const p of new Set([...c.profiles, ...(r.profileId ? [r.profileId] : [])])) stmt.conflictProfile.run(id, p);
      }
      if (r.profileId === null) continue;
      for (const i of r.identifiers) stmt.identifierSeen.run(e.workspaceId, i.type, i.value, r.profileId, e.at, e.at, r.eventId);
      const [anchor, ...rest] = r.identifiers;
      for (const i of rest) stmt.linkInsert.run(e.workspaceId, anchor.type, anchor.value, i.type, i.value, r.eventId, at);
      stmt.eventProfile.run(r.eventId, e.workspaceId, r.profileId);
      for (const t of e.traits) stmt.traitSighting.run(e.workspaceId, r.profileId, t.name, t.value, e.sourceId, e.at, r.eventId, e.messageId, e.at, r.eventId, e.messageId);
    }
    stmt.positionPut.run(consumer, position);
  });

  const canonical = (workspaceId: string, profileId: string) => {
    const r = db.prepare('SELECT id, merged_into FROM identity_profiles WHERE workspace_id = ? AND id = ?').get(workspaceId, profileId) as { id: string; merged_into: string | null } | undefined;
    return r && (r.merged_into ?? r.id);
  };

  return {
    async position(consumer) {
      return (stmt.positionGet.get(consumer) as { event_id: number } | undefined)?.event_id ?? 0;
    },

    async slice(workspaceId, identifiers) {
      const profiles = new Map<string, GraphProfile>();
      const seen = new Set<string>();
      for (const i of identifiers) {
        const key = identifierKey(i);
        if (seen.has(key)) continue;
        seen.add(key);
        const owner = stmt.owner.get(workspaceId, i.type, i.value) as { profile_id: string } | undefined;
        if (!owner || profiles.has(owner.profile_id)) continue;
        const age = (stmt.profileAge.get(owner.profile_id) as { age: number }).age;
        const ids = (stmt.identifiersOf.all(owner.profile_id) as { type: string; value: string }[]).map((r) => ({ type: r.type, value: r.value }));
        profiles.set(owner.profile_id, { id: owner.profile_id, age, identifiers: ids });
      }
      return [...profiles.values()];
    },

    async commit(consumer, position, events, at) {
      commitTx(consumer, position, events, at);
    },

    async canonical(workspaceId, profileId) {
      return canonical(workspaceId, profileId);
    },

    async lookup(workspaceId, identifier) {
      return (stmt.owner.get(workspaceId, identifier.type, identifier.value) as { profile_id: string } | undefined)?.profile_id;
    },

    async profile(workspaceId, profileId) {
      const p = db.prepare('SELECT id, created_at FROM identity_profiles WHERE workspace_id = ? AND id = ? AND merged_into IS NULL').get(workspaceId, profileId) as
        | { id: string; created_at: number }
        | undefined;
      if (!p) return undefined;
      const identifiers = (stmt.identifiersOf.all(p.id) as { type: string; value: string; first_seen: number; last_seen: number; event_id: number }[]).map(
        (r): IdentifierRecord => ({ type: r.type, value: r.value, firstSeen: r.first_seen, lastSeen: r.last_seen, eventId: r.event_id }),
      );
      const mergedFrom = (db.prepare('SELECT id FROM identity_profiles WHERE merged_into = ? ORDER BY merged_at, age').all(p.id) as { id: string }[]).map((r) => r.id);
      const traits = (db.prepare('SELECT * FROM profile_trait_values WHERE profile_id = ? ORDER BY name').all(p.id) as TraitRow[]).map(toTrait);
      return { id: p.id, createdAt: p.created_at, mergedFrom, identifiers, traits };
    },

    async timeline(workspaceId, profileId, f) {
      const rows = db
        .prepare(
          `SELECT e.id, e.workspace_id, e.source_id, e.violations, e.message FROM identity_event_profiles p JOIN events e ON e.id = p.event_id
           WHERE p.profile_id = ? AND p.workspace_id = ? AND p.event_id < ? ORDER BY p.event_id DESC LIMIT ?`,
        )
        .all(profileId, workspaceId, f.before ?? Number.MAX_SAFE_INTEGER, f.limit) as { id: number; workspace_id: string; source_id: string; violations: string | null; message: string }[];
      return rows.map(
        (r): StoredEvent => ({
          id: r.id,
          workspaceId: r.workspace_id,
          sourceId: r.source_id,
          message: JSON.parse(r.message) as Message,
          violations: r.violations ? (JSON.parse(r.violations) as Violation[]) : [],
        }),
      );
    },

    async search(workspaceId, q, limit) {
      const ids = new Set<string>();
      const byIdentifier = db
        .prepare('SELECT DISTINCT profile_id FROM identity_identifiers WHERE workspace_id = ? AND value >= ? AND value < ? ORDER BY profile_id LIMIT ?')
        .all(workspaceId, q.identifierPrefix, q.identifierPrefix + TOP, limit) as { profile_id: string }[];
      for (const r of byIdentifier) ids.add(r.profile_id);
      const byTrait = db.prepare('SELECT DISTINCT profile_id FROM profile_trait_values WHERE workspace_id = ? AND value = ? ORDER BY profile_id LIMIT ?');
      for (const value of q.traitValues) {
        if (ids.size >= limit) break;
        for (const r of byTrait.all(workspaceId, value, limit) as { profile_id: string }[]) ids.add(r.profile_id);
      }
      return [...ids].slice(0, limit);
    },

    async merges(workspaceId, profileId) {
      const rows = db
        .prepare('SELECT winner_id, loser_id, event_id, message_id, identifiers, at FROM identity_merges WHERE workspace_id = ? AND winner_id = ? ORDER BY id')
        .all(workspaceId, profileId) as { winner_id: string; loser_id: string; event_id: number; message_id: string; identifiers: string; at: number }[];
      return rows.map((r): MergeRecord => ({ winner: r.winner_id, loser: r.loser_id, eventId: r.event_id, messageId: r.message_id, identifiers: JSON.parse(r.identifiers) as Identifier[], at: r.at }));
    },

    async conflicts(workspaceId, f) {
      const before = f.before ?? Number.MAX_SAFE_INTEGER;
      const rows = f.profileId === undefined
        ? (db.prepare('SELECT * FROM identity_conflicts WHERE workspace_id = ? AND id < ? ORDER BY id DESC LIMIT ?').all(workspaceId, before, f.limit) as ConflictRow[])
        : (db
            .prepare(
              `SELECT c.* FROM identity_conflicts c WHERE c.workspace_id = ? AND c.id < ? AND c.id IN (
                 SELECT conflict_id FROM identity_conflict_profiles WHERE profile_id = ? OR profile_id IN (SELECT id FROM identity_profiles WHERE merged_into = ?)
               ) ORDER BY c.id DESC LIMIT ?`,
            )
            .all(workspaceId, before, f.profileId, f.profileId, f.limit) as ConflictRow[]);
      return rows.map(toConflict);
    },
  };
}
