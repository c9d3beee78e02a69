import type { Sealed } from '../../secrets/crypto.js';
import { migrate, prepared, type Sqlite } from './database.js';

export interface SecretRow extends Sealed {
  workspaceId: string;
  name: string;
  createdAt: number;
  updatedAt: number;
}

const MIGRATIONS = [
  `CREATE TABLE secrets (
     workspace_id TEXT NOT NULL,
     name TEXT NOT NULL,
     key_id TEXT NOT NULL,
     iv BLOB NOT NULL,
     tag BLOB NOT NULL,
     ciphertext BLOB NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (workspace_id, name)
   ) WITHOUT ROWID`,
];

interface Row { workspace_id: string; name: string; key_id: string; iv: Buffer; tag: Buffer; ciphertext: Buffer; created_at: number; updated_at: number }

const toSecret = (r: Row): SecretRow => ({ workspaceId: r.workspace_id, name: r.name, keyId: r.key_id, iv: r.iv, tag: r.tag, ciphertext: r.ciphertext, createdAt: r.created_at, updatedAt: r.updated_at });

/** Sealed secrets in store.db (component `secrets`): only ciphertext, never a value. */
export function openSqliteSecretsStore(db: Sqlite) {
  migrate(db, 'secrets', MIGRATIONS);
  return {
    all(): SecretRow[] {
      return (prepared(db, 'SELECT * FROM secrets ORDER BY workspace_id, name').all() as Row[]).map(toSecret);
    },
    put(row: Omit<SecretRow, 'createdAt'>): void {
      prepared(
        db,
        `INSERT INTO secrets (workspace_id, name, key_id, iv, tag, ciphertext, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (workspace_id, name) DO UPDATE SET key_id = excluded.key_id, iv = excluded.iv, tag = excluded.tag, ciphertext = excluded.ciphertext, updated_at = excluded.updated_at`,
      ).run(row.workspaceId, row.name, row.keyId, row.iv, row.tag, row.ciphertext, row.updatedAt, row.updatedAt);
    },
    remove(workspaceId: string, name: string): boolean {
      return prepared(db, 'DELETE FROM secrets WHERE workspace_id = ? AND name = ?').run(workspaceId, name).changes > 0;
    },
  };
}

export type SqliteSecretsStore = ReturnType<typeof openSqliteSecretsStore>;
