import type { Migration } from './database.js';

/**
 * Forward-only migrations of the PostgreSQL store (component `store`), version for version the same tables as
 * ../sqlite/store-schema.ts, so that a version number means the same layout on both. Append; never edit a
 * released entry.
 *
 * Types: ids are IDENTITY columns (never reused, assigned in increasing order); times are BIGINT milliseconds, as
 * the port speaks them; documents (messages, bodies, settings, reasons) are `json`, not `jsonb`: they are written
 * and read whole, and `json` keeps the text as sent, so neither side pays for a conversion (jsonb parses on
 * insert and re-serialises on every read). SQL that needs to look inside casts to jsonb where it does.
 */
export const POSTGRES_STORE_MIGRATIONS: readonly Migration[] = [
  `CREATE TABLE workspaces (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at BIGINT NOT NULL);
   CREATE TABLE admin_tokens (id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL REFERENCES workspaces(id), name TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL);
   CREATE TABLE sources (
     id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL REFERENCES workspaces(id), key TEXT NOT NULL,
     write_key_hash TEXT NOT NULL UNIQUE, write_key_prefix TEXT NOT NULL, settings JSON NOT NULL, created_at BIGINT NOT NULL,
     UNIQUE (workspace_id, key)
   );
   CREATE TABLE definitions (
     workspace_id TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, version INTEGER NOT NULL,
     body JSON NOT NULL, deleted BOOLEAN NOT NULL DEFAULT false, created_at BIGINT NOT NULL,
     PRIMARY KEY (workspace_id, kind, key, version)
   );
   CREATE TABLE events (
     id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, workspace_id TEXT NOT NULL, source_id TEXT NOT NULL, message_id TEXT NOT NULL,
     type TEXT NOT NULL, event TEXT, user_id TEXT, anonymous_id TEXT, timestamp BIGINT NOT NULL, received_at BIGINT NOT NULL,
     violations JSON, message JSON NOT NULL
   );
   CREATE INDEX events_message_id ON events (workspace_id, message_id);
   CREATE INDEX events_workspace ON events (workspace_id, id);
   CREATE TABLE dedup (workspace_id TEXT NOT NULL, message_id TEXT NOT NULL, received_at BIGINT NOT NULL, event_id BIGINT NOT NULL, PRIMARY KEY (workspace_id, message_id));
   CREATE INDEX dedup_received_at ON dedup (received_at);
   CREATE TABLE quarantine (
     id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, workspace_id TEXT NOT NULL, source_id TEXT NOT NULL, message_id TEXT NOT NULL,
     type TEXT NOT NULL, event TEXT, reasons JSON NOT NULL, message JSON NOT NULL, received_at BIGINT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('held', 'replayed', 'discarded')), updated_at BIGINT NOT NULL
   );
   CREATE INDEX quarantine_ws_message ON quarantine (workspace_id, message_id);
   CREATE INDEX quarantine_workspace ON quarantine (workspace_id, id);
   CREATE TABLE consumer_offsets (consumer TEXT NOT NULL, partition INTEGER NOT NULL, seq BIGINT NOT NULL, PRIMARY KEY (consumer, partition));
   CREATE TABLE audit (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, workspace_id TEXT NOT NULL, at BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, detail JSON);
   CREATE INDEX audit_workspace ON audit (workspace_id, id);`,
  // 2: workspace versions (docs/workspace.md): every change to definitions and sources, with whole bodies before and after.
  `CREATE TABLE workspace_versions (
     workspace_id TEXT NOT NULL, version INTEGER NOT NULL, at BIGINT NOT NULL, author TEXT NOT NULL, message TEXT NOT NULL, changes JSON NOT NULL,
     PRIMARY KEY (workspace_id, version)
   );`,
];
