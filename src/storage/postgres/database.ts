import pg from 'pg';

/**
 * What every PostgreSQL adapter shares (the scale-out counterpart of ../sqlite/database.ts): opening a pool,
 * running a function in a transaction, advisory lock keys, and forward-only migrations per component.
 *
 * The pattern for a PostgreSQL store (see store.ts):
 *   const pool = openPostgresPool(url);              // once per process, shared by every PostgreSQL store
 *   const store = await openPostgresStore(pool, clock); // migrates its component, then serves
 *   await transaction(pool, async (c) => { ... });   // all or nothing; `c` is one connection
 */

export type Pool = pg.Pool;
export type Connection = pg.PoolClient;
/** Anything that runs a query: the pool (one statement, autocommit) or a connection inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

/** PostgreSQL type oids whose default parsing (to strings) does not suit us. */
const INT8 = 20;

/**
 * BIGINT columns (ids, millisecond timestamps, counts) come back as numbers, not strings: every value we store
 * in them is far below 2^53. Set per pool, not through pg.types, so other users of `pg` keep the defaults.
 */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 && format !== 'binary' ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

export interface PoolOptions {
  /**
   * Schema for unqualified names (the connections' search_path): lets several Tandems, or tests, share one
   * database. The schema must exist; `CREATE SCHEMA` it first.
   */
  schema?: string;
  /** Connections at most (default 10). */
  max?: number;
}

/** Opens a pool from a URL (`postgres://user@host:5432/db`); connections are made on first use. */
export function openPostgresPool(url: string, options: PoolOptions = {}): Pool {
  if (options.schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(options.schema)) throw new Error(`schema '${options.schema}' must be a lower-case SQL identifier`);
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    types,
    ...(options.schema !== undefined ? { options: `-c search_path=${options.schema}` } : {}),
  });
  // An idle connection that the server drops emits 'error' on the pool; without a listener that kills the process.
  pool.on('error', (error) => process.emitWarning(`PostgreSQL connection lost: ${error.message}`));
  return pool;
}

/** SQLSTATEs after which the whole transaction can simply run again: serialization failure, deadlock. */
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 5;

export interface TransactionOptions {
  isolation?: 'read committed' | 'repeatable read' | 'serializable';
  /** Run `fn` again after a serialization failure or deadlock (default true). Turn off if `fn` has effects outside the database. */
  retry?: boolean;
}

/**
 * Runs `fn` in a transaction on one connection: COMMIT if it resolves, ROLLBACK if it throws. After a
 * serialization failure or a deadlock the database has undone everything, so `fn` runs again from the start (up
 * to 5 times, with a short random pause): `fn` may therefore run more than once and must only act through `c`.
 * A failed COMMIT for any other reason (a lost connection) is not retried: its outcome is unknown.
 */
export async function transaction<T>(pool: Pool, fn: (c: Connection) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  const begin = options.isolation ? `BEGIN ISOLATION LEVEL ${options.isolation.toUpperCase()}` : 'BEGIN';
  for (let attempt = 1; ; attempt++) {
    const c = await pool.connect();
    let broken: Error | undefined;
    try {
      await c.query(begin);
      const result = await fn(c);
      await c.query('COMMIT');
      return result;
    } catch (error) {
      await c.query('ROLLBACK').catch((e: Error) => (broken = e));
      const code = (error as { code?: string }).code;
      if (!broken && options.retry !== false && code !== undefined && RETRYABLE.has(code) && attempt < MAX_ATTEMPTS) {
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
        continue;
      }
      throw error;
    } finally {
      // A connection whose ROLLBACK failed is in an unknown state: destroy it rather than return it to the pool.
      c.release(broken);
    }
  }
}

/**
 * Advisory lock classes: the first half of `pg_advisory_xact_lock(class, key)`, one per purpose, so that locks
 * of different stores never collide. The second half is usually `hashtext(...)` of what is locked (a collision
 * only makes two unrelated writers wait for each other). Add new classes here.
 */
export const LockClass = {
  /** Schema migrations of the current schema (key: hashtext(current_schema())). */
  migrations: 0x54_44_00_01,
  /** Inserting into `events`: ids must become visible in id order (docs/scale-out.md). Key: 0. */
  events: 0x54_44_00_02,
  /** Definitions, sources and workspace versions of one workspace (key: hashtext(workspace id)). */
  versions: 0x54_44_00_03,
} as const;

/** Takes a transaction-scoped advisory lock: held until COMMIT or ROLLBACK, so it cannot leak. */
export async function lock(c: Connection, lockClass: number, key: string | number): Promise<void> {
  if (typeof key === 'number') await c.query('SELECT pg_advisory_xact_lock($1::int, $2::int)', [lockClass, key]);
  else await c.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2))', [lockClass, key]);
}

/**
 * A client's string as a TEXT column value (`encodeText`), and back (`decodeText`). PostgreSQL text cannot hold
 * NUL, which clients may send in event names, messageIds, user ids or any identifier (json columns keep it,
 * escaped as \u0000); a row holding one would fail its insert for ever and block its partition. NUL becomes
 * U+FFFF "0" and U+FFFF (a noncharacter) becomes U+FFFF U+FFFF, so no two strings share a column value and
 * decoding restores the original. Encode on writes and on filter values alike; other strings are unchanged.
 */
export const encodeText = <T>(value: T): T =>
  typeof value === 'string' && /[\u0000\uFFFF]/.test(value) ? (value.replace(/[\u0000\uFFFF]/g, (c) => (c === '\u0000' ? '\uFFFF0' : '\uFFFF\uFFFF')) as T) : value;
export const decodeText = <T>(value: T): T =>
  typeof value === 'string' && value.includes('\uFFFF') ? (value.replace(/\uFFFF([0\uFFFF])/g, (_, c: string) => (c === '0' ? '\u0000' : '\uFFFF')) as T) : value;

/** A migration: SQL text (may hold several statements) or a function run inside the migration's transaction. */
export type Migration = string | ((c: Connection) => Promise<void>);

/**
 * Forward-only migrations per component (`store`, `identity`, ...), with the semantics of the SQLite
 * `migrate`: entry i is version i + 1, runs once, in order, recorded in `schema_migrations` of the current
 * schema. Append new entries; never edit a released one.
 *
 * Each migration runs in its own transaction with its record (PostgreSQL DDL is transactional, so a failed
 * migration leaves nothing behind), under an advisory lock on the schema: when two processes start at once, the
 * second waits, then sees the versions the first recorded and skips them.
 */
export async function migrate(pool: Pool, component: string, migrations: readonly Migration[]): Promise<void> {
  for (;;) {
    const applied = await transaction(pool, async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1::int, hashtext(current_schema()))', [LockClass.migrations]);
      await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (component TEXT NOT NULL, version INTEGER NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (component, version))');
      const { rows } = await c.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations WHERE component = $1', [component]);
      const version = (rows[0].v ?? 0) + 1;
      const migration = migrations[version - 1];
      if (migration === undefined) return false;
      if (typeof migration === 'string') await c.query(migration);
      else await migration(c);
      await c.query('INSERT INTO schema_migrations (component, version) VALUES ($1, $2)', [component, version]);
      return true;
    });
    if (!applied) return;
  }
}

/** The schema version of a component (0 when none of its migrations ran): for upgrade checks and tests. */
export async function schemaVersion(db: Queryable, component: string): Promise<number> {
  const exists = await db.query<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t");
  if (exists.rows[0].t === null) return 0;
  const { rows } = await db.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations WHERE component = $1', [component]);
  return rows[0].v ?? 0;
}
