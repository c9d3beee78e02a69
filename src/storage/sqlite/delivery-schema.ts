/** Forward-only migrations of the delivery tables in store.db (component `delivery`). Append; never edit a released entry. */
export const DELIVERY_MIGRATIONS: readonly string[] = [
  `CREATE TABLE delivery_messages (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     message_id TEXT NOT NULL UNIQUE,
     workspace_id TEXT NOT NULL,
     profile_id TEXT NOT NULL,
     channel TEXT NOT NULL,
     template TEXT,
     payload TEXT NOT NULL,
     idempotency_key TEXT NOT NULL,
     priority INTEGER NOT NULL DEFAULT 0,
     journey TEXT,
     node TEXT,
     state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'dead')),
     status TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     next_attempt_at INTEGER NOT NULL,
     last_error TEXT,
     provider_id TEXT,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     UNIQUE (workspace_id, idempotency_key)
   );
   CREATE INDEX delivery_due ON delivery_messages (next_attempt_at) WHERE state = 'pending';
   CREATE INDEX delivery_queue ON delivery_messages (workspace_id, profile_id, channel, id) WHERE state = 'pending';
   CREATE INDEX delivery_list ON delivery_messages (workspace_id, status, id);
   CREATE INDEX delivery_profile ON delivery_messages (workspace_id, profile_id);
   CREATE TABLE delivery_log (
     id INTEGER PRIMARY KEY AUTOINCREMENT, workspace_id TEXT NOT NULL, message_id TEXT NOT NULL, status TEXT NOT NULL,
     at INTEGER NOT NULL, attempt INTEGER, detail TEXT
   );
   CREATE INDEX delivery_log_message ON delivery_log (message_id, id);
   CREATE TABLE delivery_event_queue (id INTEGER PRIMARY KEY AUTOINCREMENT, workspace_id TEXT NOT NULL, profile_id TEXT NOT NULL, message TEXT NOT NULL);
   CREATE TABLE delivery_keys (name TEXT PRIMARY KEY, secret TEXT NOT NULL, created_at INTEGER NOT NULL);
   CREATE TABLE delivery_audience_members (
     workspace_id TEXT NOT NULL, channel TEXT NOT NULL, profile_id TEXT NOT NULL,
     email TEXT, phone TEXT, changed_at INTEGER NOT NULL,
     PRIMARY KEY (workspace_id, channel, profile_id)
   );
   CREATE TABLE delivery_audience_changes (
     seq INTEGER PRIMARY KEY AUTOINCREMENT, workspace_id TEXT NOT NULL, channel TEXT NOT NULL, profile_id TEXT NOT NULL,
     action TEXT NOT NULL CHECK (action IN ('add', 'remove')), email TEXT, phone TEXT, at INTEGER NOT NULL
   );
   CREATE INDEX delivery_audience_changes_channel ON delivery_audience_changes (workspace_id, channel, seq);
   CREATE TABLE delivery_audience_exports (
     id INTEGER PRIMARY KEY AUTOINCREMENT, workspace_id TEXT NOT NULL, channel TEXT NOT NULL, kind TEXT NOT NULL,
     platform TEXT NOT NULL, file TEXT NOT NULL, rows INTEGER NOT NULL, through_seq INTEGER NOT NULL, at INTEGER NOT NULL
   );
   CREATE INDEX delivery_audience_exports_channel ON delivery_audience_exports (workspace_id, channel, id);`,
];
