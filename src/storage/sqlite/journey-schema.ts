/** Forward-only migrations of the journey tables in store.db (component `journeys`). Append; never edit a released entry. */
export const JOURNEY_MIGRATIONS: readonly string[] = [
  `CREATE TABLE journey_versions (
     workspace_id TEXT NOT NULL, key TEXT NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL,
     PRIMARY KEY (workspace_id, key, version)
   );
   CREATE TABLE journey_state (
     workspace_id TEXT NOT NULL, key TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('active', 'paused', 'archived')), updated_at INTEGER NOT NULL,
     PRIMARY KEY (workspace_id, key)
   );
   CREATE TABLE journey_instances (
     id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, journey TEXT NOT NULL, version INTEGER NOT NULL, profile_id TEXT NOT NULL,
     node TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('active', 'exited', 'completed')), wake_at INTEGER, priority INTEGER NOT NULL DEFAULT 0,
     entered_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, exit_reason TEXT, context TEXT NOT NULL
   );
   CREATE INDEX journey_instances_due ON journey_instances (wake_at, priority DESC, id) WHERE status = 'active' AND wake_at IS NOT NULL;
   CREATE INDEX journey_instances_profile ON journey_instances (workspace_id, profile_id, status);
   CREATE INDEX journey_instances_journey ON journey_instances (workspace_id, journey, status);
   CREATE TABLE journey_entries (
     workspace_id TEXT NOT NULL, journey TEXT NOT NULL, profile_id TEXT NOT NULL, entry_key TEXT NOT NULL, instance_id TEXT NOT NULL, at INTEGER NOT NULL,
     PRIMARY KEY (workspace_id, journey, profile_id, entry_key)
   );
   CREATE INDEX journey_entries_last ON journey_entries (workspace_id, journey, profile_id, at);
   CREATE TABLE journey_trail (
     id INTEGER PRIMARY KEY AUTOINCREMENT, workspace_id TEXT NOT NULL, journey TEXT NOT NULL, profile_id TEXT NOT NULL, instance_id TEXT,
     version INTEGER NOT NULL, at INTEGER NOT NULL, kind TEXT NOT NULL, node TEXT, detail TEXT NOT NULL
   );
   CREATE INDEX journey_trail_profile ON journey_trail (workspace_id, profile_id, journey, id);
   CREATE INDEX journey_trail_journey ON journey_trail (workspace_id, journey, kind, node);
   CREATE TABLE journey_conversions (
     instance_id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, journey TEXT NOT NULL, version INTEGER NOT NULL, profile_id TEXT NOT NULL,
     node TEXT NOT NULL, last_message_node TEXT, at INTEGER NOT NULL
   );
   CREATE INDEX journey_conversions_journey ON journey_conversions (workspace_id, journey);
   CREATE TABLE journey_sends (
     workspace_id TEXT NOT NULL, idempotency_key TEXT NOT NULL, profile_id TEXT NOT NULL, journey TEXT NOT NULL, node TEXT NOT NULL,
     instance_id TEXT NOT NULL, channel TEXT NOT NULL, medium TEXT NOT NULL, category TEXT NOT NULL, priority INTEGER NOT NULL, at INTEGER NOT NULL,
     PRIMARY KEY (workspace_id, idempotency_key)
   );
   CREATE INDEX journey_sends_profile ON journey_sends (workspace_id, profile_id, at);
   CREATE INDEX journey_sends_journey ON journey_sends (workspace_id, journey, node);
   CREATE TABLE journey_budgets (
     workspace_id TEXT NOT NULL, scope TEXT NOT NULL, window_start INTEGER NOT NULL, used INTEGER NOT NULL,
     PRIMARY KEY (workspace_id, scope, window_start)
   );
   CREATE TABLE journey_suppressions (
     workspace_id TEXT NOT NULL, profile_id TEXT NOT NULL, medium TEXT NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL,
     PRIMARY KEY (workspace_id, profile_id, medium)
   );
   CREATE TABLE journey_effects (
     id INTEGER PRIMARY KEY AUTOINCREMENT, workspace_id TEXT NOT NULL, profile_id TEXT NOT NULL, traits TEXT NOT NULL, message_id TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL
   );
   CREATE TABLE journey_positions (consumer TEXT PRIMARY KEY, position INTEGER NOT NULL);
   CREATE TABLE journey_schedules (
     workspace_id TEXT NOT NULL, journey TEXT NOT NULL, version INTEGER NOT NULL, next_at INTEGER,
     PRIMARY KEY (workspace_id, journey)
   );
   CREATE TABLE journey_settings (workspace_id TEXT PRIMARY KEY, guardrails TEXT NOT NULL, updated_at INTEGER NOT NULL);`,
  // catalog_changed triggers: row changes queued inside the catalog write's transaction, consumed by the stage.
  `CREATE TABLE journey_catalog_changes (
     id INTEGER PRIMARY KEY AUTOINCREMENT, workspace_id TEXT NOT NULL, catalog TEXT NOT NULL, key TEXT NOT NULL, before TEXT, after TEXT, at INTEGER NOT NULL
   );`,
  // Due timers in the order they fire (wake_at, priority desc, entry order) straight from the index, without a sort
  // of every timer due at the same instant.
  `DROP INDEX journey_instances_due;
   CREATE INDEX journey_instances_due ON journey_instances (wake_at, priority DESC, entered_at) WHERE status = 'active' AND wake_at IS NOT NULL;`,
];
