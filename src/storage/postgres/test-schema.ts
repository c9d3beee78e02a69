import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openPostgresPool, type Pool } from './database.js';

/**
 * The PostgreSQL server of the tests and benchmarks (127.0.0.1:5432, database `test`, trust auth), or the one
 * TANDEM_TEST_POSTGRES_URL names. Each user works in a schema of its own, so test files can run at once.
 */
export const TEST_POSTGRES_URL = process.env.TANDEM_TEST_POSTGRES_URL ?? `postgres://${process.env.PGUSER ?? 'postgres'}@127.0.0.1:5432/test`;

/** Whether the server answers. Tests skip without it, except under CI=true where they must fail instead. */
export async function postgresReachable(url = TEST_POSTGRES_URL): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** True when tests that need PostgreSQL should run: it answers, or CI=true (so that they fail, never skip). */
export const mustRunPostgres = (reachable: boolean) => reachable || process.env.CI === 'true';

export interface TestSchema {
  name: string;
  /** A pool whose connections use the schema (search_path). */
  pool: Pool;
  /** A new pool on the same schema: another process's view of the database. */
  another(max?: number): Pool;
  /** Drops the schema and everything in it. Ends `pool` first unless it was ended already. */
  drop(): Promise<void>;
}

/** Creates `tandem_test_<random>` and a pool on it. */
export async function createTestSchema(options: { max?: number; url?: string } = {}): Promise<TestSchema> {
  const url = options.url ?? TEST_POSTGRES_URL;
  const name = `tandem_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA ${name}`);
  } finally {
    await admin.end();
  }
  const pool = openPostgresPool(url, { schema: name, max: options.max });
  return {
    name,
    pool,
    another: (max) => openPostgresPool(url, { schema: name, max }),
    async drop() {
      if (!pool.ended) await pool.end();
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
      } finally {
        await c.end();
      }
    },
  };
}
