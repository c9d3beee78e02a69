import { afterEach, describe, expect, it } from 'vitest';
import { migrate, schemaVersion, transaction, type Connection, type Migration, type Pool } from './database.js';
import { createTestSchema, mustRunPostgres, postgresReachable, type TestSchema } from './test-schema.js';

const reachable = await postgresReachable();

describe.skipIf(!mustRunPostgres(reachable))('PostgreSQL database helpers', () => {
  let schema: TestSchema | undefined;
  const others: Pool[] = [];
  afterEach(async () => {
    for (const p of others.splice(0)) await p.end();
    await schema?.drop();
    schema = undefined;
  });

  const MIGRATIONS: Migration[] = [
    'CREATE TABLE a (id INT PRIMARY KEY)',
    'ALTER TABLE a ADD COLUMN name TEXT; CREATE TABLE b (x INT)',
    async (c: Connection) => {
      await c.query("INSERT INTO a (id, name) VALUES (1, 'from a function')");
    },
  ];

  it('migrate runs each migration once, in order, per component, and records it', async () => {
    schema = await createTestSchema();
    expect(await schemaVersion(schema.pool, 'demo')).toBe(0);
    await migrate(schema.pool, 'demo', MIGRATIONS.slice(0, 1));
    expect(await schemaVersion(schema.pool, 'demo')).toBe(1);
    await migrate(schema.pool, 'demo', MIGRATIONS);
    await migrate(schema.pool, 'demo', MIGRATIONS);
    await migrate(schema.pool, 'other', ['CREATE TABLE c (y INT)']);
    expect((await schema.pool.query('SELECT component, version FROM schema_migrations ORDER BY component, version')).rows).toEqual([
      { component: 'demo', version: 1 }, { component: 'demo', version: 2 }, { component: 'demo', version: 3 }, { component: 'other', version: 1 },
    ]);
    expect((await schema.pool.query('SELECT id, name FROM a')).rows).toEqual([{ id: 1, name: 'from a function' }]);
  });

  it('a failing migration leaves nothing of itself and is not recorded; the ones before it stay', async () => {
    schema = await createTestSchema();
    await expect(migrate(schema.pool, 'demo', [...MIGRATIONS.slice(0, 1), 'CREATE TABLE half (x INT); SELECT 1 / 0'])).rejects.toThrow(/division by zero/);
    expect(await schemaVersion(schema.pool, 'demo')).toBe(1);
    expect((await schema.pool.query("SELECT to_regclass('half') AS t")).rows[0].t).toBeNull();
    await migrate(schema.pool, 'demo', MIGRATIONS);
    expect(await schemaVersion(schema.pool, 'demo')).toBe(3);
  });

  it('processes that start at once each run migrate, and every migration still runs exactly once', async () => {
    schema = await createTestSchema();
    // Not idempotent on purpose: a second run of migration 2 would fail (column exists), of 3 (duplicate key).
    const pools = [schema.pool, ...Array.from({ length: 4 }, () => schema!.another(2))];
    others.push(...pools.slice(1));
    await Promise.all(pools.map((p) => migrate(p, 'demo', MIGRATIONS)));
    expect((await schema.pool.query("SELECT version FROM schema_migrations WHERE component = 'demo' ORDER BY version")).rows.map((r) => r.version)).toEqual([1, 2, 3]);
    expect((await schema.pool.query('SELECT count(*)::int AS n FROM a')).rows[0].n).toBe(1);
  });

  it('transaction commits on success, rolls back on a throw, and runs again after a serialization failure', async () => {
    schema = await createTestSchema({ max: 4 });
    await schema.pool.query('CREATE TABLE counter (n INT NOT NULL); INSERT INTO counter VALUES (0)');
    await expect(transaction(schema.pool, async (c) => {
      await c.query('UPDATE counter SET n = 100');
      throw new Error('changed my mind');
    })).rejects.toThrow('changed my mind');
    expect((await schema.pool.query('SELECT n FROM counter')).rows[0].n).toBe(0);

    // Two serializable read-modify-writes that overlap: one must fail with 40001 and run again.
    let runs = 0;
    let bothRead!: () => void;
    const barrier = new Promise<void>((resolve) => (bothRead = resolve));
    let waiting = 2;
    const increment = () => transaction(schema!.pool, async (c) => {
      runs++;
      const { rows } = await c.query('SELECT n FROM counter');
      if (--waiting === 0) bothRead();
      await barrier;
      await c.query('UPDATE counter SET n = $1', [rows[0].n + 1]);
    }, { isolation: 'serializable' });
    await Promise.all([increment(), increment()]);
    expect((await schema.pool.query('SELECT n FROM counter')).rows[0].n).toBe(2);
    expect(runs).toBe(3);

    // With retry off, the failure reaches the caller.
    waiting = 2;
    let release!: () => void;
    const again = new Promise<void>((resolve) => (release = resolve));
    const once = () => transaction(schema!.pool, async (c) => {
      const { rows } = await c.query('SELECT n FROM counter');
      if (--waiting === 0) release();
      await again;
      await c.query('UPDATE counter SET n = $1', [rows[0].n + 1]);
    }, { isolation: 'serializable', retry: false });
    const results = await Promise.allSettled([once(), once()]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason as { code: string }).code).toBe('40001');
  });
});
