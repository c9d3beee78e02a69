import type { Role } from '../../users/roles.js';
import type { SessionRecord, UserRecord, UsersStore } from '../../users/users.js';
import { migrate, type Sqlite } from './database.js';

/** Forward-only migrations of the console's people tables in store.db (component `users`). Append; never edit. */
const USERS_MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS users (
     name TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, role TEXT NOT NULL, display_name TEXT, password_hash TEXT NOT NULL,
     created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
   );
   CREATE TABLE IF NOT EXISTS user_sessions (
     token_hash TEXT PRIMARY KEY, user_name TEXT, workspace_id TEXT NOT NULL, role TEXT NOT NULL,
     created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL
   );
   CREATE INDEX IF NOT EXISTS user_sessions_by_user ON user_sessions (user_name);`,
];

interface UserRow { name: string; workspace_id: string; role: Role; display_name: string | null; password_hash: string; created_at: number; updated_at: number }
interface SessionRow { token_hash: string; user_name: string | null; workspace_id: string; role: Role; created_at: number; expires_at: number }

const toUser = (r: UserRow): UserRecord => ({
  name: r.name, workspaceId: r.workspace_id, role: r.role, displayName: r.display_name ?? undefined, passwordHash: r.password_hash, createdAt: r.created_at, updatedAt: r.updated_at,
});
const toSession = (r: SessionRow): SessionRecord => ({ tokenHash: r.token_hash, userName: r.user_name, workspaceId: r.workspace_id, role: r.role, createdAt: r.created_at, expiresAt: r.expires_at });

/** Users and their sessions in store.db. User names are unique across workspaces: a login names no workspace. */
export function openSqliteUsersStore(db: Sqlite): UsersStore {
  migrate(db, 'users', USERS_MIGRATIONS);
  const q = {
    get: db.prepare('SELECT * FROM users WHERE name = ?'),
    list: db.prepare('SELECT * FROM users WHERE workspace_id = ? AND name > ? ORDER BY name LIMIT ?'),
    insert: db.prepare('INSERT INTO users (name, workspace_id, role, display_name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    update: db.prepare('UPDATE users SET role = ?, display_name = ?, password_hash = ?, updated_at = ? WHERE name = ? AND workspace_id = ?'),
    remove: db.prepare('DELETE FROM users WHERE name = ? AND workspace_id = ?'),
    addSession: db.prepare('INSERT INTO user_sessions (token_hash, user_name, workspace_id, role, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)'),
    session: db.prepare('SELECT * FROM user_sessions WHERE token_hash = ?'),
    removeSession: db.prepare('DELETE FROM user_sessions WHERE token_hash = ?'),
    removeSessionsOf: db.prepare('DELETE FROM user_sessions WHERE user_name = ?'),
    sessionRole: db.prepare('UPDATE user_sessions SET role = ? WHERE user_name = ?'),
    expire: db.prepare('DELETE FROM user_sessions WHERE expires_at <= ?'),
  };
  return {
    get: (name) => {
      const row = q.get.get(name) as UserRow | undefined;
      return row ? toUser(row) : undefined;
    },
    list: (workspaceId, after, limit) => (q.list.all(workspaceId, after, limit) as UserRow[]).map(toUser),
    insert: (u) => void q.insert.run(u.name, u.workspaceId, u.role, u.displayName ?? null, u.passwordHash, u.createdAt, u.updatedAt),
    update: (u) => q.update.run(u.role, u.displayName ?? null, u.passwordHash, u.updatedAt, u.name, u.workspaceId).changes > 0,
    remove: (workspaceId, name) =>
      db.transaction(() => {
        q.removeSessionsOf.run(name);
        return q.remove.run(name, workspaceId).changes > 0;
      })(),
    addSession: (s) => void q.addSession.run(s.tokenHash, s.userName, s.workspaceId, s.role, s.createdAt, s.expiresAt),
    session: (tokenHash) => {
      const row = q.session.get(tokenHash) as SessionRow | undefined;
      return row ? toSession(row) : undefined;
    },
    removeSession: (tokenHash) => q.removeSession.run(tokenHash).changes > 0,
    endSessionsOf: (name) => void q.removeSessionsOf.run(name),
    setSessionRole: (name, role) => void q.sessionRole.run(role, name),
    expire: (now) => q.expire.run(now).changes,
  };
}
