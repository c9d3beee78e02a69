import type {
  BlockedIdentifierRecord, ConflictRecord, EvidenceEvent, IdentifierRecord, IdentityStore, MergeRecord, ProfileRecord, RecomputePlan, ResolvedEvent, UnmergeRecord,
} from '../../core/ports/store.js';
import type { GraphProfile } from '../../identity/graph.js';
import { identifierKey, type Identifier } from '../../identity/model.js';
import type { TraitObservation } from '../../profiles/survivorship.js';
import { migrate, type Sqlite, prepared } from './database.js';
import { IDENTITY_MIGRATIONS } from './identity-schema.js';
import { toEvent, type EventRow } from './store.js';

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

interface IdentifierRow {
  type: string;
  value: string;
  first_seen: number;
  last_seen: number;
  event_id: number;
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

/** Combines two links of one (account, profile): earliest first seen, latest last seen, first linking event. */
const combineLinks = `first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen), event_id = min(event_id, excluded.event_id)`;

/**
 * Sightings of known identifiers wait in identity_identifier_seen (and in memory) until this many identifiers
 * have one, then are folded into their rows in one pass in key order: a row is rewritten once per fold instead of
 * once per batch that saw it, and neighbouring rows share pages (docs/profiles.md, "Resolution in memory").
 */
const FOLD_AT = 100_000;

/** The largest code point, so that `prefix + TOP` bounds every string starting with `prefix` (BINARY collation). */
const TOP = '\u{10FFFF}';

/** Ids per statement in batch reads: under SQLite's bound-parameter limit. */
const CHUNK = 500;

/**
 * The embedded identity graph and profile store, over the shared store.db handle: commit() runs in one
 * transaction with the resolve stage's position, so a crash never half-applies a batch.
 */
export function openSqliteIdentityStore(db: Sqlite, options: { foldAt?: number } = {}): IdentityStore {
  migrate(db, 'identity', IDENTITY_MIGRATIONS);
  const foldAt = options.foldAt ?? FOLD_AT;

  const stmt = {
    positionGet: db.prepare('SELECT event_id FROM identity_positions WHERE consumer = ?'),
    positionPut: db.prepare('INSERT INTO identity_positions (consumer, event_id) VALUES (?, ?) ON CONFLICT (consumer) DO UPDATE SET event_id = excluded.event_id'),
    owner: db.prepare('SELECT profile_id FROM identity_identifiers WHERE workspace_id = ? AND type = ? AND value = ?'),
    profileAge: db.prepare('SELECT age FROM identity_profiles WHERE id = ?'),
    identifiersOf: db.prepare('SELECT type, value, first_seen, last_seen, event_id FROM identity_identifiers WHERE profile_id = ? ORDER BY type, value'),
    agesOf: db.prepare('SELECT id, age FROM identity_profiles WHERE workspace_id = ? AND merged_into IS NULL').raw(),
    identifiersIn: db.prepare('SELECT type, value, profile_id FROM identity_identifiers WHERE workspace_id = ?').raw(),
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
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (profile_id, name, value, source_id) DO UPDATE SET ${combineSightings}`,
    ),
    mergeInsert: db.prepare('INSERT INTO identity_merges (workspace_id, winner_id, loser_id, event_id, message_id, identifiers, at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    identifierSeenGet: db.prepare('SELECT first_seen, last_seen FROM identity_identifiers WHERE workspace_id = ? AND type = ? AND value = ?'),
    seenAppend: db.prepare('INSERT INTO identity_identifier_seen (workspace_id, type, value, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)'),
    seenFold: db.prepare('UPDATE identity_identifiers SET first_seen = min(first_seen, ?), last_seen = max(last_seen, ?) WHERE workspace_id = ? AND type = ? AND value = ?'),
    seenClear: db.prepare('DELETE FROM identity_identifier_seen'),
    seenAll: db.prepare('SELECT workspace_id, type, value, min(first_seen), max(last_seen) FROM identity_identifier_seen GROUP BY workspace_id, type, value').raw(),
    linkInsert: db.prepare('INSERT OR IGNORE INTO identity_links (workspace_id, from_type, from_value, to_type, to_value, event_id, at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    eventProfile: db.prepare('INSERT OR REPLACE INTO identity_event_profiles (event_id, workspace_id, profile_id, subs) VALUES (?, ?, ?, ?)'),
    conflictInsert: db.prepare('INSERT INTO identity_conflicts (workspace_id, event_id, message_id, profile_id, reason, identifiers, dropped, profiles, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
    conflictProfile: db.prepare('INSERT OR IGNORE INTO identity_conflict_profiles (conflict_id, profile_id) VALUES (?, ?)'),
    // The profile reads behind every lookup, prepared once: preparing costs more than running them.
    canonicalGet: db.prepare('SELECT id, merged_into FROM identity_profiles WHERE workspace_id = ? AND id = ?'),
    profileGet: db.prepare('SELECT id, created_at FROM identity_profiles WHERE workspace_id = ? AND id = ? AND merged_into IS NULL'),
    mergedFrom: db.prepare('SELECT id FROM identity_profiles WHERE merged_into = ? ORDER BY merged_at, age'),
    traitsOf: db.prepare('SELECT * FROM profile_trait_values WHERE profile_id = ? ORDER BY name'),
    // Accounts (group calls): docs/decisions/0007.
    accountInsert: db.prepare('INSERT OR IGNORE INTO identity_accounts (workspace_id, group_id, created_at) VALUES (?, ?, ?)'),
    accountEvent: db.prepare('INSERT OR IGNORE INTO account_events (workspace_id, group_id, event_id) VALUES (?, ?, ?)'),
    accountTrait: db.prepare(
      `INSERT INTO account_trait_values (workspace_id, group_id, name, value, source_id, count, first_at, first_event_id, first_message_id, last_at, last_event_id, last_message_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (workspace_id, group_id, name, value, source_id) DO UPDATE SET ${combineSightings}`,
    ),
    accountLink: db.prepare(
      `INSERT INTO account_profiles (workspace_id, group_id, profile_id, first_seen, last_seen, event_id) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (workspace_id, group_id, profile_id) DO UPDATE SET ${combineLinks}`,
    ),
    accountLinksMove: db.prepare(
      `INSERT INTO account_profiles (workspace_id, group_id, profile_id, first_seen, last_seen, event_id)
       SELECT workspace_id, group_id, ?, first_seen, last_seen, event_id FROM account_profiles WHERE profile_id = ? AND true
       ON CONFLICT (workspace_id, group_id, profile_id) DO UPDATE SET ${combineLinks}`,
    ),
    accountLinksDrop: db.prepare('DELETE FROM account_profiles WHERE profile_id = ?'),
    accountGet: db.prepare('SELECT created_at FROM identity_accounts WHERE workspace_id = ? AND group_id = ?'),
    accountTraits: db.prepare('SELECT * FROM account_trait_values WHERE workspace_id = ? AND group_id = ? ORDER BY name'),
    accountProfiles: db.prepare('SELECT profile_id, first_seen, last_seen, event_id FROM account_profiles WHERE workspace_id = ? AND group_id = ? ORDER BY event_id, profile_id'),
    accountLinksOf: db.prepare('SELECT group_id, first_seen, last_seen, event_id FROM account_profiles WHERE workspace_id = ? AND profile_id = ? ORDER BY event_id, group_id'),
    // Graph edits.
    blockedList: db.prepare('SELECT type, value, reason, profile_id, actor, at FROM identity_blocked WHERE workspace_id = ? ORDER BY type, value'),
    blockInsert: db.prepare('INSERT OR IGNORE INTO identity_blocked (workspace_id, type, value, reason, profile_id, actor, at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    blockDelete: db.prepare('DELETE FROM identity_blocked WHERE workspace_id = ? AND type = ? AND value = ?'),
    separations: db.prepare('SELECT a_type, a_value, b_type, b_value FROM identity_separations WHERE workspace_id = ? ORDER BY unmerge_id'),
    separationInsert: db.prepare('INSERT OR IGNORE INTO identity_separations (workspace_id, a_type, a_value, b_type, b_value, unmerge_id, at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    family: db.prepare('SELECT id, age FROM identity_profiles WHERE workspace_id = ? AND (id = ? OR merged_into = ?) ORDER BY age, id'),
    profileRevive: db.prepare('UPDATE identity_profiles SET age = ?, merged_into = NULL, merged_at = NULL WHERE workspace_id = ? AND id = ?'),
    profileRedirect: db.prepare('UPDATE identity_profiles SET merged_into = ?, merged_at = coalesce(merged_at, ?) WHERE workspace_id = ? AND id = ?'),
    identifierDelete: db.prepare('DELETE FROM identity_identifiers WHERE workspace_id = ? AND type = ? AND value = ?'),
    identifierInsert: db.prepare('INSERT INTO identity_identifiers (workspace_id, type, value, profile_id, first_seen, last_seen, event_id) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    linksDelete: db.prepare('DELETE FROM identity_links WHERE workspace_id = ? AND ((from_type = ? AND from_value = ?) OR (to_type = ? AND to_value = ?))'),
    eventMove: db.prepare('UPDATE identity_event_profiles SET profile_id = ? WHERE workspace_id = ? AND event_id = ?'),
    eventDrop: db.prepare('DELETE FROM identity_event_profiles WHERE workspace_id = ? AND event_id = ?'),
    unmergeInsert: db.prepare('INSERT INTO identity_unmerges (workspace_id, profile_id, kind, identifiers, profiles, events, actor, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    unmergeProfile: db.prepare('INSERT OR IGNORE INTO identity_unmerge_profiles (unmerge_id, profile_id) VALUES (?, ?)'),
  };

  // First and last seen of known identifiers not yet folded into their rows: identity_identifier_seen combined per
  // identifier, keyed `workspace\0type\0value` (that string order is the primary key's). Changed only inside a
  // transaction; reloaded from the table if one fails, so it always matches what is committed.
  const pending = new Map<string, { first: number; last: number }>();
  const loadPending = () => {
    pending.clear();
    for (const [ws, type, value, first, last] of stmt.seenAll.iterate() as Iterable<[string, string, string, number, number]>) pending.set(`${ws}\u0000${type}\u0000${value}`, { first, last });
  };
  loadPending();
  const fold = () => {
    for (const [key, p] of [...pending].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
      // Workspace ids and types never contain NUL; a value may.
      const a = key.indexOf('\u0000');
      const b = key.indexOf('\u0000', a + 1);
      stmt.seenFold.run(p.first, p.last, key.slice(0, a), key.slice(a + 1, b), key.slice(b + 1));
    }
    stmt.seenClear.run();
    pending.clear();
  };
  const inTransaction = <A extends unknown[], R>(tx: (...a: A) => R) => (...a: A): R => {
    try {
      return tx(...a);
    } catch (error) {
      loadPending();
      throw error;
    }
  };
  const foldTx = inTransaction(db.transaction(fold));

  // Identifier, link and trait sightings are combined per key over the batch and written once each, in key order,
  // after the batch's events: fewer statements, and neighbouring keys share B-tree pages (most of a commit's cost
  // is the pages it dirties). The result is the same as writing each event's rows in turn.
  const commitTx = db.transaction((consumer: string, position: number, events: ResolvedEvent[], at: number) => {
    const mergedInto = new Map<string, string>();
    const seen = new Map<string, { workspaceId: string; type: string; value: string; profileId: string; first: number; last: number; eventId: number }>();
    const links = new Map<string, [string, string, string, string, string, number, number]>();
    type Sighting = { at: number; eventId: number; messageId: string };
    const sightings = new Map<string, { workspaceId: string; profileId: string; name: string; value: string; sourceId: string; count: number; first: Sighting; last: Sighting }>();
    for (const e of events) {
      const r = e.resolution;
      if (r.created) stmt.profileInsert.run(r.created.id, e.workspaceId, r.created.age, at);
      for (const m of r.merges) {
        mergedInto.set(m.loser, m.winner);
        stmt.profileMerge.run(m.winner, at, e.workspaceId, m.loser, m.loser);
        stmt.identifiersMove.run(m.winner, m.loser);
        stmt.eventsMove.run(m.winner, m.loser);
        stmt.traitsMove.run(m.winner, m.loser);
        stmt.traitsDrop.run(m.loser);
        stmt.accountLinksMove.run(m.winner, m.loser);
        stmt.accountLinksDrop.run(m.loser);
        stmt.mergeInsert.run(e.workspaceId, m.winner, m.loser, r.eventId, e.messageId, JSON.stringify(r.identifiers), at);
      }
      if (r.conflict) {
        const c = r.conflict;
        const info = stmt.conflictInsert.run(e.workspaceId, r.eventId, e.messageId, r.profileId, c.reason, JSON.stringify(c.identifiers), JSON.stringify(c.dropped), JSON.stringify(c.profiles), at);
        const id = Number(info.lastInsertRowid);
        for (const p of new Set([...c.profiles, ...(r.profileId ? [r.profileId] : [])])) stmt.conflictProfile.run(id, p);
      }
      if (e.group) {
        // Written as each event comes (group calls are few): a later merge in the batch moves the link.
        const g = e.group;
        stmt.accountInsert.run(e.workspaceId, g.groupId, at);
        stmt.accountEvent.run(e.workspaceId, g.groupId, r.eventId);
        for (const t of g.traits) stmt.accountTrait.run(e.workspaceId, g.groupId, t.name, t.value, e.sourceId, 1, e.at, r.eventId, e.messageId, e.at, r.eventId, e.messageId);
        if (r.profileId !== null) stmt.accountLink.run(e.workspaceId, g.groupId, r.profileId, e.at, e.at, r.eventId);
      }
      if (r.profileId === null) continue;
      for (const i of r.identifiers) {
        const key = `${e.workspaceId}\u0000${i.type}\u0000${i.value}`;
        const s = seen.get(key);
        if (s) (s.first = Math.min(s.first, e.at), s.last = Math.max(s.last, e.at));
        else seen.set(key, { workspaceId: e.workspaceId, type: i.type, value: i.value, profileId: r.profileId, first: e.at, last: e.at, eventId: r.eventId });
      }
      const [anchor, ...rest] = r.identifiers;
      for (const i of rest) {
        const key = `${e.workspaceId}\u0000${anchor.type}\u0000${anchor.value}\u0000${i.type}\u0000${i.value}`;
        if (!links.has(key)) links.set(key, [e.workspaceId, anchor.type, anchor.value, i.type, i.value, r.eventId, at]);
      }
      stmt.eventProfile.run(r.eventId, e.workspaceId, r.profileId, e.subscriptions ? 1 : 0);
      for (const t of e.traits) {
        const key = `${r.profileId}\u0000${t.name}\u0000${t.value}\u0000${e.sourceId}`;
        const sighting = { at: e.at, eventId: r.eventId, messageId: e.messageId };
        const o = sightings.get(key);
        // Events come in id order: a later one is first only if strictly earlier in time, last on a tie.
        if (!o) sightings.set(key, { workspaceId: e.workspaceId, profileId: r.profileId, name: t.name, value: t.value, sourceId: e.sourceId, count: 1, first: sighting, last: sighting });
        else {
          o.count++;
          if (e.at < o.first.at) o.first = sighting;
          if (e.at >= o.last.at) o.last = sighting;
        }
      }
    }
    // Rows written after the loop name the profile that survived the batch's merges (the loop moved older rows).
    const survivor = (id: string) => {
      let p = id;
      for (let w = mergedInto.get(p); w !== undefined; w = mergedInto.get(p)) p = w;
      return p;
    };
    const inKeyOrder = <T>(m: Map<string, T>) => [...m].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, v]) => v);
    // A new identifier gets its row; a known one's sighting goes to the log, unless it moves neither its first nor last seen.
    for (const i of inKeyOrder(seen)) {
      const row = stmt.identifierSeenGet.get(i.workspaceId, i.type, i.value) as { first_seen: number; last_seen: number } | undefined;
      if (!row) {
        stmt.identifierInsert.run(i.workspaceId, i.type, i.value, survivor(i.profileId), i.first, i.last, i.eventId);
        continue;
      }
      const key = `${i.workspaceId}\u0000${i.type}\u0000${i.value}`;
      const p = pending.get(key);
      if (i.first >= Math.min(row.first_seen, p?.first ?? Infinity) && i.last <= Math.max(row.last_seen, p?.last ?? -Infinity)) continue;
      stmt.seenAppend.run(i.workspaceId, i.type, i.value, i.first, i.last);
      if (p) (p.first = Math.min(p.first, i.first), p.last = Math.max(p.last, i.last));
      else pending.set(key, { first: i.first, last: i.last });
    }
    if (pending.size >= foldAt) fold();
    for (const l of inKeyOrder(links)) stmt.linkInsert.run(...l);
    for (const t of inKeyOrder(sightings)) {
      stmt.traitSighting.run(t.workspaceId, survivor(t.profileId), t.name, t.value, t.sourceId, t.count, t.first.at, t.first.eventId, t.first.messageId, t.last.at, t.last.eventId, t.last.messageId);
    }
    stmt.positionPut.run(consumer, position);
  });

  // A recompute replaces the recomputed profile's rows (identifiers, links, timeline, traits, account links) with
  // the plan's, and stores the constraint that caused it and the unmerge record, in one transaction.
  const recomputeTx = db.transaction((p: RecomputePlan): number => {
    // The recompute rewrites identifier rows from the events: no sighting may wait for rows it replaces.
    fold();
    const ws = p.workspaceId;
    const at = p.unmerge.at;
    const u = p.unmerge;
    const unmergeId = Number(stmt.unmergeInsert.run(ws, u.profileId, u.kind, JSON.stringify(u.identifiers), JSON.stringify(u.profiles), u.events, u.actor, at).lastInsertRowid);
    for (const id of new Set([...u.profiles, ...p.family])) stmt.unmergeProfile.run(unmergeId, id);
    if (p.block) stmt.blockInsert.run(ws, p.block.type, p.block.value, p.block.reason, p.block.profileId, p.block.actor, p.block.at);
    if (p.separation) {
      const [a, b] = p.separation;
      stmt.separationInsert.run(ws, a.type, a.value, b.type, b.value, unmergeId, at);
    }
    for (const q of p.profiles) {
      if (q.create) stmt.profileInsert.run(q.id, ws, q.age, at);
      else stmt.profileRevive.run(q.age, ws, q.id);
    }
    for (const r of p.redirects) stmt.profileRedirect.run(r.into, at, ws, r.id);
    for (const i of p.previousIdentifiers) {
      stmt.identifierDelete.run(ws, i.type, i.value);
      stmt.linksDelete.run(ws, i.type, i.value, i.type, i.value);
    }
    for (const i of p.identifiers) stmt.identifierInsert.run(ws, i.type, i.value, i.profileId, i.firstSeen, i.lastSeen, i.eventId);
    for (const l of p.links) stmt.linkInsert.run(ws, l.from.type, l.from.value, l.to.type, l.to.value, l.eventId, at);
    for (const e of p.events) {
      if (e.profileId === null) stmt.eventDrop.run(ws, e.eventId);
      else stmt.eventMove.run(e.profileId, ws, e.eventId);
    }
    for (const id of p.family) (stmt.traitsDrop.run(id), stmt.accountLinksDrop.run(id));
    for (const t of p.traits) {
      stmt.traitSighting.run(ws, t.profileId, t.name, t.value, t.sourceId, t.count, t.first.at, t.first.eventId, t.first.messageId, t.last.at, t.last.eventId, t.last.messageId);
    }
    for (const a of p.accounts) stmt.accountLink.run(ws, a.groupId, a.profileId, a.firstSeen, a.lastSeen, a.eventId);
    return unmergeId;
  });

  const commitTxSafe = inTransaction(commitTx);
  const recomputeTxSafe = inTransaction(recomputeTx);

  // A sighting not folded into the identifier's row yet still counts.
  const toIdentifier = (workspaceId: string, r: IdentifierRow): IdentifierRecord => {
    const seen = pending.get(`${workspaceId}\u0000${r.type}\u0000${r.value}`);
    const firstSeen = seen ? Math.min(r.first_seen, seen.first) : r.first_seen;
    const lastSeen = seen ? Math.max(r.last_seen, seen.last) : r.last_seen;
    return { type: r.type, value: r.value, firstSeen, lastSeen, eventId: r.event_id };
  };

  const canonical = (workspaceId: string, profileId: string) => {
    const r = stmt.canonicalGet.get(workspaceId, profileId) as { id: string; merged_into: string | null } | undefined;
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

    async eachIdentifier(workspaceId, visit) {
      // Ages first (one row per surviving profile), then the identifiers by the primary key: two scans, no join.
      const ages = new Map<string, number>();
      for (const [id, age] of stmt.agesOf.iterate(workspaceId) as Iterable<[string, number]>) ages.set(id, age);
      for (const [type, value, profileId] of stmt.identifiersIn.iterate(workspaceId) as Iterable<[string, string, string]>) {
        const age = ages.get(profileId);
        if (age !== undefined) visit(profileId, age, type, value);
      }
    },

    async commit(consumer, position, events, at) {
      commitTxSafe(consumer, position, events, at);
    },

    async settle() {
      if (pending.size > 0) foldTx();
    },

    async canonical(workspaceId, profileId) {
      return canonical(workspaceId, profileId);
    },

    async lookup(workspaceId, identifier) {
      return (stmt.owner.get(workspaceId, identifier.type, identifier.value) as { profile_id: string } | undefined)?.profile_id;
    },

    async profile(workspaceId, profileId) {
      const p = stmt.profileGet.get(workspaceId, profileId) as
        | { id: string; created_at: number }
        | undefined;
      if (!p) return undefined;
      const identifiers = (stmt.identifiersOf.all(p.id) as IdentifierRow[]).map((r) => toIdentifier(workspaceId, r));
      const mergedFrom = (stmt.mergedFrom.all(p.id) as { id: string }[]).map((r) => r.id);
      const traits = (stmt.traitsOf.all(p.id) as TraitRow[]).map(toTrait);
      return { id: p.id, createdAt: p.created_at, mergedFrom, identifiers, traits };
    },

    async profiles(workspaceId, profileIds) {
      // Four statements per chunk whatever its size (profiles, identifiers, merged-in ids, traits), instead of four
      // per profile: a page of 25 costs about what one profile does.
      const out: ProfileRecord[] = [];
      const done = new Set<string>();
      const wanted = [...new Set(profileIds)];
      for (let i = 0; i < wanted.length; i += CHUNK) {
        const chunk = wanted.slice(i, i + CHUNK);
        const marks = chunk.map(() => '?').join(',');
        const rows = prepared(db, `SELECT id, merged_into, created_at FROM identity_profiles WHERE workspace_id = ? AND id IN (${marks})`)
          .all(workspaceId, ...chunk) as { id: string; merged_into: string | null; created_at: number }[];
        // merged_into is flattened to the survivor: one hop, as canonical().
        const created = new Map<string, number>();
        const survivorOf = new Map<string, string>();
        for (const r of rows) {
          survivorOf.set(r.id, r.merged_into ?? r.id);
          if (r.merged_into === null) created.set(r.id, r.created_at);
        }
        const missing = [...new Set(rows.filter((r) => r.merged_into !== null && !created.has(r.merged_into)).map((r) => r.merged_into!))];
        if (missing.length) {
          const more = prepared(db, `SELECT id, created_at FROM identity_profiles WHERE workspace_id = ? AND merged_into IS NULL AND id IN (${missing.map(() => '?').join(',')})`)
            .all(workspaceId, ...missing) as { id: string; created_at: number }[];
          for (const r of more) created.set(r.id, r.created_at);
        }
        const ids = [...new Set(chunk.map((id) => survivorOf.get(id)).filter((id): id is string => id !== undefined && created.has(id) && !done.has(id)))];
        if (!ids.length) continue;
        const idMarks = ids.map(() => '?').join(',');
        const records = new Map(ids.map((id): [string, ProfileRecord] => [id, { id, createdAt: created.get(id)!, mergedFrom: [], identifiers: [], traits: [] }]));
        // The same orders as profile(): identifiers by (type, value); merged-in ids by merge time then age; traits
        // in the primary key's order (name, value, source), which is what survivorship sees for ties.
        const identifiers = prepared(db, `SELECT profile_id, type, value, first_seen, last_seen, event_id FROM identity_identifiers WHERE profile_id IN (${idMarks}) ORDER BY profile_id, type, value`)
          .all(...ids) as (IdentifierRow & { profile_id: string })[];
        for (const r of identifiers) records.get(r.profile_id)!.identifiers.push(toIdentifier(workspaceId, r));
        const merged = prepared(db, `SELECT id, merged_into FROM identity_profiles WHERE merged_into IN (${idMarks}) ORDER BY merged_at, age`)
          .all(...ids) as { id: string; merged_into: string }[];
        for (const r of merged) records.get(r.merged_into)!.mergedFrom.push(r.id);
        const traits = prepared(db, `SELECT * FROM profile_trait_values WHERE profile_id IN (${idMarks}) ORDER BY profile_id, name, value, source_id`)
          .all(...ids) as (TraitRow & { profile_id: string })[];
        for (const r of traits) records.get(r.profile_id)!.traits.push(toTrait(r));
        for (const id of ids) (done.add(id), out.push(records.get(id)!));
      }
      return out;
    },

    async timeline(workspaceId, profileId, f) {
      const rows = prepared(db, 
          `SELECT e.id, e.workspace_id, e.source_id, e.violations, e.message FROM identity_event_profiles p JOIN events e ON e.id = p.event_id
           WHERE p.profile_id = ? AND p.workspace_id = ? AND p.event_id < ? ORDER BY p.event_id DESC LIMIT ?`,
        )
        .all(profileId, workspaceId, f.before ?? Number.MAX_SAFE_INTEGER, f.limit) as EventRow[];
      return rows.map(toEvent);
    },

    async search(workspaceId, q, limit) {
      const ids = new Set<string>();
      const byIdentifier = prepared(db, 'SELECT DISTINCT profile_id FROM identity_identifiers WHERE workspace_id = ? AND value >= ? AND value < ? ORDER BY profile_id LIMIT ?')
        .all(workspaceId, q.identifierPrefix, q.identifierPrefix + TOP, limit) as { profile_id: string }[];
      for (const r of byIdentifier) ids.add(r.profile_id);
      const byTrait = prepared(db, 'SELECT DISTINCT profile_id FROM profile_trait_values WHERE workspace_id = ? AND value = ? ORDER BY profile_id LIMIT ?');
      for (const value of q.traitValues) {
        if (ids.size >= limit) break;
        for (const r of byTrait.all(workspaceId, value, limit) as { profile_id: string }[]) ids.add(r.profile_id);
      }
      return [...ids].slice(0, limit);
    },

    async profilePage(workspaceId, page) {
      // The primary key's order: a deep page seeks to `after` instead of counting past an offset.
      const rows = prepared(db, 'SELECT id FROM identity_profiles WHERE id > ? AND workspace_id = ? AND merged_into IS NULL ORDER BY id LIMIT ?')
        .all(page.after ?? '', workspaceId, page.limit) as { id: string }[];
      return rows.map((r) => r.id);
    },

    async identifierPage(workspaceId, page) {
      // identity_identifiers_value is (workspace_id, value) plus the key's type: rows come in index order, no sort.
      // The index is named and the cursor is written without a row value ((value, type) > (?, ?)), because with
      // ANALYZE statistics the planner otherwise prefers a skip-scan of the primary key and a sort of the whole
      // prefix range: 140-700 ms for a short prefix over a million e-mails, against under 1 ms (bench/console.ts).
      const after = page.after && page.after.value >= page.prefix ? page.after : { value: page.prefix, type: '' };
      const rows = prepared(
        db,
        `SELECT type, value, profile_id FROM identity_identifiers INDEXED BY identity_identifiers_value
         WHERE workspace_id = ? AND value >= ? AND value < ? AND NOT (value = ? AND type <= ?) ORDER BY workspace_id, value, type LIMIT ?`,
      ).all(workspaceId, after.value, page.prefix + TOP, after.value, after.type, page.limit) as { type: string; value: string; profile_id: string }[];
      return rows.map((r) => ({ type: r.type, value: r.value, profileId: r.profile_id }));
    },

    async traitValuePage(workspaceId, page) {
      // profile_trait_values_value is (workspace_id, value) plus the key's profile_id: already in profile order.
      const rows = prepared(db, 'SELECT DISTINCT profile_id FROM profile_trait_values INDEXED BY profile_trait_values_value WHERE workspace_id = ? AND value = ? AND profile_id > ? ORDER BY profile_id LIMIT ?')
        .all(workspaceId, page.value, page.after ?? '', page.limit) as { profile_id: string }[];
      return rows.map((r) => r.profile_id);
    },

    async merges(workspaceId, profileId) {
      const rows = db
        // A merge undone by an unmerge (its loser resolves elsewhere now) is no longer part of the profile.
        .prepare(
          `SELECT winner_id, loser_id, event_id, message_id, identifiers, at FROM identity_merges
           WHERE workspace_id = ? AND winner_id = ? AND loser_id IN (SELECT id FROM identity_profiles WHERE merged_into = ?) ORDER BY id`,
        )
        .all(workspaceId, profileId, profileId) as { winner_id: string; loser_id: string; event_id: number; message_id: string; identifiers: string; at: number }[];
      return rows.map((r): MergeRecord => ({ winner: r.winner_id, loser: r.loser_id, eventId: r.event_id, messageId: r.message_id, identifiers: JSON.parse(r.identifiers) as Identifier[], at: r.at }));
    },

    async conflicts(workspaceId, f) {
      const before = f.before ?? Number.MAX_SAFE_INTEGER;
      const rows = f.profileId === undefined
        ? (prepared(db, 'SELECT * FROM identity_conflicts WHERE workspace_id = ? AND id < ? ORDER BY id DESC LIMIT ?').all(workspaceId, before, f.limit) as ConflictRow[])
        : (prepared(db, 
              `SELECT c.* FROM identity_conflicts c WHERE c.workspace_id = ? AND c.id < ? AND c.id IN (
                 SELECT conflict_id FROM identity_conflict_profiles WHERE profile_id = ? OR profile_id IN (SELECT id FROM identity_profiles WHERE merged_into = ?)
               ) ORDER BY c.id DESC LIMIT ?`,
            )
            .all(workspaceId, before, f.profileId, f.profileId, f.limit) as ConflictRow[]);
      return rows.map(toConflict);
    },

    async graph(workspaceId, profileId) {
      // Both ends of a link always sit on one profile (merges move identifiers together), so the from side finds them.
      const links = (
        prepared(db, 
            `SELECT l.from_type, l.from_value, l.to_type, l.to_value, l.event_id, l.at FROM identity_identifiers i
             JOIN identity_links l ON l.workspace_id = i.workspace_id AND l.from_type = i.type AND l.from_value = i.value
             WHERE i.workspace_id = ? AND i.profile_id = ? ORDER BY l.event_id, l.to_type, l.to_value`,
          )
          .all(workspaceId, profileId) as { from_type: string; from_value: string; to_type: string; to_value: string; event_id: number; at: number }[]
      ).map((r) => ({ from: { type: r.from_type, value: r.from_value }, to: { type: r.to_type, value: r.to_value }, eventId: r.event_id, at: r.at }));
      // merged_into is flattened to the survivor, so this finds merges into profiles that were merged in later too.
      const merges = (
        prepared(db, 
            `SELECT winner_id, loser_id, event_id, message_id, identifiers, at FROM identity_merges
             WHERE workspace_id = ? AND (winner_id = ? OR winner_id IN (SELECT id FROM identity_profiles WHERE merged_into = ?))
               AND loser_id IN (SELECT id FROM identity_profiles WHERE merged_into = ?) ORDER BY id`,
          )
          .all(workspaceId, profileId, profileId, profileId) as { winner_id: string; loser_id: string; event_id: number; message_id: string; identifiers: string; at: number }[]
      ).map((r): MergeRecord => ({ winner: r.winner_id, loser: r.loser_id, eventId: r.event_id, messageId: r.message_id, identifiers: JSON.parse(r.identifiers) as Identifier[], at: r.at }));
      return { links, merges };
    },

    async evidence(workspaceId, eventIds) {
      const out: EvidenceEvent[] = [];
      const ids = [...new Set(eventIds)];
      // Chunks stay under SQLite's bound-parameter limit.
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        const rows = prepared(db, `SELECT id, message_id, type, timestamp, source_id FROM events WHERE workspace_id = ? AND id IN (${chunk.map(() => '?').join(',')}) ORDER BY id`)
          .all(workspaceId, ...chunk) as { id: number; message_id: string; type: string; timestamp: number; source_id: string }[];
        for (const r of rows) out.push({ eventId: r.id, messageId: r.message_id, type: r.type, timestamp: r.timestamp, sourceId: r.source_id });
      }
      return out.sort((a, b) => a.eventId - b.eventId);
    },

    async history(workspaceId, f) {
      // `+workspace_id`: walk the events by id from the position (the planner would otherwise read every event of the
      // workspace through the message-id index and sort them, on every read of the journeys' input).
      const where = ['+workspace_id = ?', 'id > ?'];
      const params: (string | number)[] = [workspaceId, f.afterId];
      if (f.from !== undefined) (where.push('timestamp >= ?'), params.push(f.from));
      if (f.to !== undefined) (where.push('timestamp < ?'), params.push(f.to));
      const rows = prepared(db, `SELECT id, workspace_id, source_id, violations, message FROM events WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`)
        .all(...params, f.limit) as EventRow[];
      return rows.map(toEvent);
    },

    /* ---- accounts ---- */

    async account(workspaceId, groupId) {
      const a = stmt.accountGet.get(workspaceId, groupId) as { created_at: number } | undefined;
      if (!a) return undefined;
      const traits = (stmt.accountTraits.all(workspaceId, groupId) as TraitRow[]).map(toTrait);
      const profiles = (stmt.accountProfiles.all(workspaceId, groupId) as { profile_id: string; first_seen: number; last_seen: number; event_id: number }[]).map((r) => ({
        profileId: r.profile_id, firstSeen: r.first_seen, lastSeen: r.last_seen, eventId: r.event_id,
      }));
      return { groupId, createdAt: a.created_at, traits, profiles };
    },

    async accountLinks(workspaceId, profileId) {
      return (stmt.accountLinksOf.all(workspaceId, profileId) as { group_id: string; first_seen: number; last_seen: number; event_id: number }[]).map((r) => ({
        groupId: r.group_id, firstSeen: r.first_seen, lastSeen: r.last_seen, eventId: r.event_id,
      }));
    },

    async searchAccounts(workspaceId, q, limit) {
      const ids = new Set<string>();
      const byId = prepared(db, 'SELECT group_id FROM identity_accounts WHERE workspace_id = ? AND group_id >= ? AND group_id < ? ORDER BY group_id LIMIT ?')
        .all(workspaceId, q.identifierPrefix, q.identifierPrefix + TOP, limit) as { group_id: string }[];
      for (const r of byId) ids.add(r.group_id);
      const byTrait = prepared(db, 'SELECT DISTINCT group_id FROM account_trait_values WHERE workspace_id = ? AND value = ? ORDER BY group_id LIMIT ?');
      for (const value of q.traitValues) {
        if (ids.size >= limit) break;
        for (const r of byTrait.all(workspaceId, value, limit) as { group_id: string }[]) ids.add(r.group_id);
      }
      return [...ids].slice(0, limit);
    },

    /* ---- graph edits ---- */

    async constraints(workspaceId) {
      const blocked = (stmt.blockedList.all(workspaceId) as { type: string; value: string }[]).map((r) => ({ type: r.type, value: r.value }));
      const separations = (stmt.separations.all(workspaceId) as { a_type: string; a_value: string; b_type: string; b_value: string }[]).map(
        (r): [Identifier, Identifier] => [{ type: r.a_type, value: r.a_value }, { type: r.b_type, value: r.b_value }],
      );
      return { blocked, separations };
    },

    async blocked(workspaceId) {
      return (stmt.blockedList.all(workspaceId) as { type: string; value: string; reason: BlockedIdentifierRecord['reason']; profile_id: string | null; actor: string; at: number }[]).map(
        (r): BlockedIdentifierRecord => ({ type: r.type, value: r.value, reason: r.reason, profileId: r.profile_id, actor: r.actor, at: r.at }),
      );
    },

    async block(workspaceId, r) {
      return stmt.blockInsert.run(workspaceId, r.type, r.value, r.reason, r.profileId, r.actor, r.at).changes > 0;
    },

    async unblock(workspaceId, i) {
      return stmt.blockDelete.run(workspaceId, i.type, i.value).changes > 0;
    },

    async family(workspaceId, profileId) {
      return stmt.family.all(workspaceId, profileId, profileId) as { id: string; age: number }[];
    },

    async recompute(plan) {
      return recomputeTxSafe(plan);
    },

    async unmerges(workspaceId, profileId) {
      const rows = prepared(db, 
          `SELECT * FROM identity_unmerges WHERE workspace_id = ? AND id IN (
             SELECT unmerge_id FROM identity_unmerge_profiles WHERE profile_id = ? OR profile_id IN (SELECT id FROM identity_profiles WHERE merged_into = ?)
           ) ORDER BY id`,
        )
        .all(workspaceId, profileId, profileId) as { id: number; profile_id: string; kind: UnmergeRecord['kind']; identifiers: string; profiles: string; events: number; actor: string; at: number }[];
      return rows.map((r): UnmergeRecord => ({
        id: r.id, profileId: r.profile_id, kind: r.kind, identifiers: JSON.parse(r.identifiers) as Identifier[], profiles: JSON.parse(r.profiles) as string[], events: r.events, actor: r.actor, at: r.at,
      }));
    },

    async eventProfiles(workspaceId, eventIds) {
      const out = new Map<number, string>();
      const ids = [...new Set(eventIds)];
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        const rows = prepared(db, `SELECT event_id, profile_id FROM identity_event_profiles WHERE workspace_id = ? AND event_id IN (${chunk.map(() => '?').join(',')})`)
          .all(workspaceId, ...chunk) as { event_id: number; profile_id: string }[];
        for (const r of rows) out.set(r.event_id, r.profile_id);
      }
      return out;
    },
  };
}
