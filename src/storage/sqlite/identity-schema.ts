import type { Sqlite } from './database.js';
/**
 * Forward-only migrations of the identity graph and profiles (component `identity`, in store.db beside the
 * events it resolves). Append; never edit a released entry.
 *
 * Identifiers always point at a surviving profile; a merged-away profile keeps its row with `merged_into` set to
 * the survivor, so any id ever issued still resolves. Events keep the profile they resolved to in
 * identity_event_profiles (moved to the survivor on merge), which is the profile's timeline.
 */
export const IDENTITY_MIGRATIONS: readonly (string | ((db: Sqlite) => void))[] = [
  `CREATE TABLE identity_profiles (
     id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, age INTEGER NOT NULL, created_at INTEGER NOT NULL,
     merged_into TEXT, merged_at INTEGER
   );
   CREATE INDEX identity_profiles_merged_into ON identity_profiles (merged_into) WHERE merged_into IS NOT NULL;
   CREATE TABLE identity_identifiers (
     workspace_id TEXT NOT NULL, type TEXT NOT NULL, value TEXT NOT NULL, profile_id TEXT NOT NULL,
     first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, event_id INTEGER NOT NULL,
     PRIMARY KEY (workspace_id, type, value)
   ) WITHOUT ROWID;
   CREATE INDEX identity_identifiers_profile ON identity_identifiers (profile_id);
   CREATE INDEX identity_identifiers_value ON identity_identifiers (workspace_id, value);
   CREATE TABLE identity_links (
     workspace_id TEXT NOT NULL, from_type TEXT NOT NULL, from_value TEXT NOT NULL, to_type TEXT NOT NULL, to_value TEXT NOT NULL,
     event_id INTEGER NOT NULL, at INTEGER NOT NULL,
     PRIMARY KEY (workspace_id, from_type, from_value, to_type, to_value)
   ) WITHOUT ROWID;
   CREATE TABLE identity_merges (
     id INTEGER PRIMARY KEY AUTOINCREMENT, workspace_id TEXT NOT NULL, winner_id TEXT NOT NULL, loser_id TEXT NOT NULL,
     event_id INTEGER NOT NULL, message_id TEXT NOT NULL, identifiers TEXT NOT NULL, at INTEGER NOT NULL
   );
   CREATE INDEX identity_merges_winner ON identity_merges (workspace_id, winner_id);
   CREATE TABLE identity_conflicts (
     id INTEGER PRIMARY KEY AUTOINCREMENT, workspace_id TEXT NOT NULL, event_id INTEGER NOT NULL, message_id TEXT NOT NULL,
     profile_id TEXT, reason TEXT NOT NULL, identifiers TEXT NOT NULL, dropped TEXT NOT NULL, profiles TEXT NOT NULL, at INTEGER NOT NULL
   );
   CREATE TABLE identity_conflict_profiles (conflict_id INTEGER NOT NULL, profile_id TEXT NOT NULL, PRIMARY KEY (profile_id, conflict_id)) WITHOUT ROWID;
   CREATE TABLE identity_event_profiles (event_id INTEGER PRIMARY KEY, workspace_id TEXT NOT NULL, profile_id TEXT NOT NULL);
   CREATE INDEX identity_event_profiles_profile ON identity_event_profiles (profile_id, event_id);
   CREATE TABLE profile_trait_values (
     workspace_id TEXT NOT NULL, profile_id TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, source_id TEXT NOT NULL,
     count INTEGER NOT NULL,
     first_at INTEGER NOT NULL, first_event_id INTEGER NOT NULL, first_message_id TEXT NOT NULL,
     last_at INTEGER NOT NULL, last_event_id INTEGER NOT NULL, last_message_id TEXT NOT NULL,
     PRIMARY KEY (profile_id, name, value, source_id)
   ) WITHOUT ROWID;
   CREATE INDEX profile_trait_values_value ON profile_trait_values (workspace_id, value);
   CREATE TABLE identity_positions (consumer TEXT PRIMARY KEY, event_id INTEGER NOT NULL);`,
  // 2. Accounts (group calls) and graph edits (unmerge, blocked identifiers, separations): docs/decisions/0007.
  //    An account exists while at least one stored group event names it (account_events); its traits are
  //    observations like a profile's; account_profiles links it to the profiles its group events resolved to.
  `CREATE TABLE identity_accounts (workspace_id TEXT NOT NULL, group_id TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (workspace_id, group_id)) WITHOUT ROWID;
   CREATE TABLE account_events (workspace_id TEXT NOT NULL, group_id TEXT NOT NULL, event_id INTEGER NOT NULL, PRIMARY KEY (workspace_id, group_id, event_id)) WITHOUT ROWID;
   CREATE INDEX account_events_event ON account_events (event_id);
   CREATE TABLE account_trait_values (
     workspace_id TEXT NOT NULL, group_id TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, source_id TEXT NOT NULL,
     count INTEGER NOT NULL,
     first_at INTEGER NOT NULL, first_event_id INTEGER NOT NULL, first_message_id TEXT NOT NULL,
     last_at INTEGER NOT NULL, last_event_id INTEGER NOT NULL, last_message_id TEXT NOT NULL,
     PRIMARY KEY (workspace_id, group_id, name, value, source_id)
   ) WITHOUT ROWID;
   CREATE INDEX account_trait_values_value ON account_trait_values (workspace_id, value);
   CREATE TABLE account_profiles (
     workspace_id TEXT NOT NULL, group_id TEXT NOT NULL, profile_id TEXT NOT NULL,
     first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, event_id INTEGER NOT NULL,
     PRIMARY KEY (workspace_id, group_id, profile_id)
   ) WITHOUT ROWID;
   CREATE INDEX account_profiles_profile ON account_profiles (profile_id);
   CREATE TABLE identity_blocked (
     workspace_id TEXT NOT NULL, type TEXT NOT NULL, value TEXT NOT NULL, reason TEXT NOT NULL, profile_id TEXT, actor TEXT NOT NULL, at INTEGER NOT NULL,
     PRIMARY KEY (workspace_id, type, value)
   ) WITHOUT ROWID;
   CREATE TABLE identity_separations (
     workspace_id TEXT NOT NULL, a_type TEXT NOT NULL, a_value TEXT NOT NULL, b_type TEXT NOT NULL, b_value TEXT NOT NULL, unmerge_id INTEGER NOT NULL, at INTEGER NOT NULL,
     PRIMARY KEY (workspace_id, a_type, a_value, b_type, b_value)
   ) WITHOUT ROWID;
   CREATE TABLE identity_unmerges (
     id INTEGER PRIMARY KEY AUTOINCREMENT, workspace_id TEXT NOT NULL, profile_id TEXT NOT NULL, kind TEXT NOT NULL,
     identifiers TEXT NOT NULL, profiles TEXT NOT NULL, events INTEGER NOT NULL, actor TEXT NOT NULL, at INTEGER NOT NULL
   );
   CREATE TABLE identity_unmerge_profiles (unmerge_id INTEGER NOT NULL, profile_id TEXT NOT NULL, PRIMARY KEY (profile_id, unmerge_id)) WITHOUT ROWID;`,
  // 3: the apply stage reads the merges of each batch of events by event id.
  `CREATE INDEX identity_merges_event ON identity_merges (event_id);`,
  // 4: events that state subscriptions are marked, so a profile read finds them without reading its whole timeline.
  (db) => {
    db.exec(`ALTER TABLE identity_event_profiles ADD COLUMN subs INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX identity_event_profiles_subscriptions ON identity_event_profiles (profile_id, event_id) WHERE subs = 1;`);
    if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'").get()) {
      db.exec(`UPDATE identity_event_profiles SET subs = 1 WHERE event_id IN
        (SELECT id FROM events WHERE event IN ('Subscribed', 'Unsubscribed') OR instr(message, '"subscriptions"') > 0)`);
    }
  },
  // 5: sightings of identifiers that already have a row go to this append-only log (no index: each batch appends
  //    at its end) instead of rewriting each identifier's row, which sits at a random place of a large table, on
  //    every event. The store folds the log into identity_identifiers' first_seen / last_seen in key order now and
  //    then, and reads add what is still in it (held in memory too): docs/profiles.md, "Resolution in memory".
  `CREATE TABLE identity_identifier_seen (
     workspace_id TEXT NOT NULL, type TEXT NOT NULL, value TEXT NOT NULL, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL
   );`,
];
