/**
 * Forward-only migrations of the apply stage (component `apply`, in store.db beside the identity graph it follows,
 * so that its effects and its position commit in one transaction). Append; never edit a released entry.
 *
 * A definition is named `<kind>:<key>` (`audiences:vip`, `traits:lifetime_revenue`) in `def`.
 */
export const APPLY_MIGRATIONS: readonly string[] = [
  `CREATE TABLE apply_positions (consumer TEXT PRIMARY KEY, event_id INTEGER NOT NULL);
   CREATE TABLE apply_profiles (workspace_id TEXT NOT NULL, profile_id TEXT NOT NULL, as_of INTEGER NOT NULL, PRIMARY KEY (workspace_id, profile_id)) WITHOUT ROWID;
   CREATE TABLE apply_states (
     workspace_id TEXT NOT NULL, profile_id TEXT NOT NULL, def TEXT NOT NULL, version INTEGER NOT NULL, state TEXT NOT NULL,
     PRIMARY KEY (workspace_id, profile_id, def)
   ) WITHOUT ROWID;
   CREATE TABLE apply_computed (
     workspace_id TEXT NOT NULL, profile_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, at INTEGER NOT NULL,
     PRIMARY KEY (workspace_id, profile_id, key)
   ) WITHOUT ROWID;
   CREATE TABLE apply_memberships (
     workspace_id TEXT NOT NULL, audience TEXT NOT NULL, profile_id TEXT NOT NULL, entered_at INTEGER NOT NULL,
     PRIMARY KEY (workspace_id, audience, profile_id)
   ) WITHOUT ROWID;
   CREATE INDEX apply_memberships_profile ON apply_memberships (workspace_id, profile_id);
   CREATE TABLE apply_membership_history (
     id INTEGER PRIMARY KEY AUTOINCREMENT, workspace_id TEXT NOT NULL, audience TEXT NOT NULL, profile_id TEXT NOT NULL,
     entered_at INTEGER NOT NULL, exited_at INTEGER, exit_reason TEXT
   );
   CREATE INDEX apply_membership_history_open ON apply_membership_history (workspace_id, audience, profile_id) WHERE exited_at IS NULL;
   CREATE INDEX apply_membership_history_profile ON apply_membership_history (workspace_id, profile_id);
   CREATE TABLE apply_audience_sizes (
     workspace_id TEXT NOT NULL, audience TEXT NOT NULL, at INTEGER NOT NULL, size INTEGER NOT NULL,
     PRIMARY KEY (workspace_id, audience, at)
   ) WITHOUT ROWID;
   CREATE TABLE apply_audience_counts (workspace_id TEXT NOT NULL, audience TEXT NOT NULL, size INTEGER NOT NULL, PRIMARY KEY (workspace_id, audience)) WITHOUT ROWID;
   CREATE TABLE apply_timers (
     workspace_id TEXT NOT NULL, profile_id TEXT NOT NULL, def TEXT NOT NULL, due_at INTEGER NOT NULL,
     PRIMARY KEY (workspace_id, profile_id, def)
   ) WITHOUT ROWID;
   CREATE INDEX apply_timers_due ON apply_timers (due_at);
   CREATE TABLE apply_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, workspace_id TEXT NOT NULL, message TEXT NOT NULL);
   CREATE TABLE apply_backfills (
     workspace_id TEXT NOT NULL, def TEXT NOT NULL, version INTEGER NOT NULL, cursor TEXT NOT NULL,
     PRIMARY KEY (workspace_id, def)
   ) WITHOUT ROWID;`,
  // The warehouse mirror's queue (src/audiences/profile-mirror.ts): profiles whose facts, computed values or
  // memberships changed since they were last copied to the warehouse; `n` counts changes so that a copy never
  // deletes an entry re-queued while it ran; `remap` asks for the profile's event mapping to be read again (merges,
  // recomputes). SQL traits' schedule and last run (src/apply/sql-traits.ts).
  `CREATE TABLE apply_mirror_queue (
     workspace_id TEXT NOT NULL, profile_id TEXT NOT NULL, n INTEGER NOT NULL, remap INTEGER NOT NULL,
     PRIMARY KEY (workspace_id, profile_id)
   ) WITHOUT ROWID;
   CREATE TABLE apply_sql_trait_runs (
     workspace_id TEXT NOT NULL, key TEXT NOT NULL, version INTEGER NOT NULL, started_at INTEGER NOT NULL,
     finished_at INTEGER NOT NULL, status TEXT NOT NULL, error TEXT, rows INTEGER, changed INTEGER,
     PRIMARY KEY (workspace_id, key)
   ) WITHOUT ROWID;`,
  // 3: zero-downtime definition changes (docs/audiences.md, "Changing a definition"). `apply_active_versions`: the
  // version of each definition whose outputs are in apply_memberships / apply_computed. While a changed definition
  // is backfilled, its new version's states and timers are kept under `<def>@next` and its outputs in
  // `apply_shadow_outputs`, until one transaction switches them in. `started_at` times a backfill (progress, ETA).
  `CREATE TABLE apply_active_versions (workspace_id TEXT NOT NULL, def TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (workspace_id, def)) WITHOUT ROWID;
   CREATE TABLE apply_shadow_outputs (
     workspace_id TEXT NOT NULL, def TEXT NOT NULL, profile_id TEXT NOT NULL, value TEXT NOT NULL, at INTEGER NOT NULL,
     PRIMARY KEY (workspace_id, def, profile_id)
   ) WITHOUT ROWID;
   CREATE INDEX apply_shadow_outputs_profile ON apply_shadow_outputs (workspace_id, profile_id);
   ALTER TABLE apply_backfills ADD COLUMN started_at INTEGER;`,
];
