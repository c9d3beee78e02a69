/** Forward-only migrations of the embedded store. Append; never edit a released entry. */
export const STORE_MIGRATIONS: readonly string[] = [
  `CREATE TABLE workspaces (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at INTEGER NOT NULL);
   CREATE TABLE admin_tokens (id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL REFERENCES workspaces(id), name TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL);
   CREATE TABLE sources (
     id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL REFERENCES workspaces(id), key TEXT NOT NULL,
     write_key_hash TEXT NOT NULL UNIQUE, write_key_prefix TEXT NOT NULL, settings TEXT NOT NULL, created_at INTEGER NOT NULL,
     UNIQUE (workspace_id, key)
   );
   CREATE TABLE definitions (
     workspace_id TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, version INTEGER NOT NULL,
     body TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL,
     PRIMARY KEY (workspace_id, kind, key, version)
   );
   CREATE TABLE events (
     id INTEGER PRIMARY KEY AUTOINCREMENT, workspace_id TEXT NOT NULL, source_id TEXT NOT NULL, message_id TEXT NOT NULL,
     type TEXT NOT NULL, event TEXT, user_id TEXT, anonymous_id TEXT, timestamp INTEGER NOT NULL, received_at INTEGER NOT NULL,
     violations TEXT, message TEXT NOT NULL
   );
   CREATE INDEX events_message_id ON events (workspace_id, message_id);
   CREATE TABLE dedup (workspace_id TEXT NOT NULL, message_id TEXT NOT NULL, received_at INTEGER NOT NULL, event_id INTEGER NOT NULL, PRIMARY KEY (workspace_id, message_id)) WITHOUT ROWID;
   CREATE INDEX dedup_received_at ON dedup (received_at);
   CREATE TABLE quarantine (
     id INTEGER PRIMARY KEY AUTOINCREMENT, workspace_id TEXT NOT NULL, source_id TEXT NOT NULL, message_id TEXT NOT NULL,
     type TEXT NOT NULL, event TEXT, reasons TEXT NOT NULL, message TEXT NOT NULL, received_at INTEGER NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('held', 'replayed', 'discarded')), updated_at INTEGER NOT NULL
   );
   CREATE INDEX quarantine_ws_message ON quarantine (workspace_id, message_id);
   CREATE TABLE consumer_offsets (consumer TEXT NOT NULL, partition INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (consumer, partition));
   CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, workspace_id TEXT NOT NULL, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT);`,
  // 2: workspace versions (docs/workspace.md): every change to definitions and sources, with whole bodies before and after.
  `CREATE TABLE workspace_versions (
     workspace_id TEXT NOT NULL, version INTEGER NOT NULL, at INTEGER NOT NULL, author TEXT NOT NULL, message TEXT NOT NULL, changes TEXT NOT NULL,
     PRIMARY KEY (workspace_id, version)
   );`,
];
