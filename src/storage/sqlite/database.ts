import Database from 'better-sqlite3';

export type Sqlite = Database.Database;

const statementCaches = new WeakMap<Sqlite, Map<string, Database.Statement>>();
const STATEMENT_CACHE_LIMIT = 1000;

/**
 * `db.prepare` with a cache per connection, for statements written where they run (preparing costs more than
 * running a short query). Texts built with a variable number of placeholders are cached too; the cache is bounded.
 */
export function prepared(db: Sqlite, sql: string): Database.Statement {
  let cache = statementCaches.get(db);
  if (!cache) statementCaches.set(db, (cache = new Map()));
  let statement = cache.get(sql);
  if (!statement) {
    if (cache.size >= STATEMENT_CACHE_LIMIT) cache.clear();
    cache.set(sql, (statement = db.prepare(sql)));
  }
  return statement;
}
export type SyncMode = 'full' | 'normal';

/**
 * Opens a SQLite file in WAL mode. `full` fsyncs the WAL on every commit (survives power loss);
 * `normal` survives a killed process but not a power cut. Both survive `kill -9`.
 */
export function openSqlite(file: string, sync: SyncMode = 'full'): Sqlite {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${sync === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  db.pragma('cache_size = -65536');
  return db;
}

/**
 * Forward-only migrations per component (`store`, `log`, `identity`, ...): each entry runs once, in order,
 * recorded in `schema_migrations`. Append new entries; never edit a released one.
 */
export function migrate(db: Sqlite, component: string, migrations: readonly (string | ((db: Sqlite) => void))[]): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (component TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (component, version))');
  const done = new Set((db.prepare('SELECT version FROM schema_migrations WHERE component = ?').all(component) as { version: number }[]).map((r) => r.version));
  migrations.forEach((sql, i) => {
    const version = i + 1;
    if (done.has(version)) return;
    db.transaction(() => {
      if (typeof sql === 'string') db.exec(sql);
      else sql(db);
      db.prepare('INSERT INTO schema_migrations (component, version) VALUES (?, ?)').run(component, version);
    })();
  });
}
