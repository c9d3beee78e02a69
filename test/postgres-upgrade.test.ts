import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/core/clock.js';
import { sha256 } from '../src/core/ids.js';
import { schemaVersion } from '../src/storage/postgres/database.js';
import { openPostgresStore } from '../src/storage/postgres/store.js';
import { POSTGRES_STORE_MIGRATIONS } from '../src/storage/postgres/store-schema.js';
import { createTestSchema, mustRunPostgres, postgresReachable, TEST_POSTGRES_URL, type TestSchema } from '../src/storage/postgres/test-schema.js';

/**
 * The PostgreSQL half of storage upgrades (test/upgrade.test.ts is the SQLite half): a store at schema version 1
 * (test/fixtures/postgres-store-v1.sql, a pg_dump written by test/fixtures/postgres-store-v1.make.ts) is loaded
 * into a fresh schema, migrated by today's store, and read back through the Store port. Expected values are
 * those the fixture's maker wrote, spelled out here.
 */

const reachable = await postgresReachable();
const DUMP = readFileSync(new URL('./fixtures/postgres-store-v1.sql', import.meta.url), 'utf8');
const T0 = Date.UTC(2026, 0, 15, 12);
const SOURCE_ID = 'c1d2e3f4-0000-4000-8000-000000000002';
const iso = (t: number) => new Date(t).toISOString();

describe.skipIf(!mustRunPostgres(reachable))('PostgreSQL store upgrade', () => {
  let schema: TestSchema | undefined;
  afterEach(async () => {
    await schema?.drop();
    schema = undefined;
  });

  /** A schema of our own, emptied and filled from the dump (which creates the schema itself). */
  async function loadFixture(): Promise<TestSchema> {
    const s = await createTestSchema();
    const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA ${s.name}`);
      await client.query(DUMP.replaceAll('__SCHEMA__', s.name));
    } finally {
      await client.end();
    }
    return s;
  }

  it('a store written at schema version 1 migrates forward when opened and reads back intact', async () => {
    schema = await loadFixture();
    expect(await schemaVersion(schema.pool, 'store')).toBe(1);
    expect(POSTGRES_STORE_MIGRATIONS.length).toBeGreaterThan(1);
    expect((await schema.pool.query("SELECT to_regclass('workspace_versions') AS t")).rows[0].t).toBeNull();

    const clock = new ManualClock(T0 + 60_000);
    const store = await openPostgresStore(schema.pool, clock);
    expect(await schemaVersion(schema.pool, 'store')).toBe(POSTGRES_STORE_MIGRATIONS.length);

    // Workspace, admin token, source and definitions as version 1 wrote them.
    expect(await store.workspaces.get('default')).toEqual({ id: 'default', name: 'Default workspace', createdAt: T0 });
    expect(await store.tokens.workspaceOf(sha256('v1-admin-token'))).toBe('default');
    expect(await store.tokens.count()).toBe(1);
    const web = { id: SOURCE_ID, workspaceId: 'default', key: 'web', writeKeyPrefix: 'wk_v1wri', settings: { name: 'Web', trackingPlan: 'web', mode: 'flag' }, createdAt: T0 };
    expect(await store.sources.byWriteKeyHash(sha256('wk_v1writekey'))).toEqual(web);
    expect(await store.sources.list('default')).toEqual([web]);
    expect(await store.definitions.get('default', 'audiences', 'buyers')).toEqual({ version: 2, body: { key: 'buyers', name: 'Buyers', condition: { performed: 'Order Completed', within: '30d' } } });
    expect(await store.definitions.get('default', 'traits', 'old')).toBeUndefined();
    expect((await store.definitions.list('default', 'tracking-plans')).map((d) => [d.key, d.version])).toEqual([['web', 1]]);

    // Events, their dedup entries and the consumer offsets.
    const events = await store.events.after(0, 100);
    expect(events.map((e) => [e.id, e.message.messageId, e.sourceId])).toEqual([[1, 'v1-m1', SOURCE_ID], [2, 'v1-m2', SOURCE_ID], [3, 'v1-m3', SOURCE_ID]]);
    expect(events[1].message).toEqual({
      type: 'track', messageId: 'v1-m2', userId: 'u1', event: 'Order Completed', properties: { total: 42.5, currency: 'EUR', items: [{ sku: 'a', qty: 1 }] },
      context: { library: { name: 'analytics-node', version: '2.1.0' } }, integrations: {}, timestamp: iso(T0 + 20_000), receivedAt: iso(T0 + 20_000),
    });
    expect(events[2].message.properties).toEqual({ code: 'ÉTÉ "25"' });
    expect(events[2].violations).toEqual([{ kind: 'unplanned_event', path: 'event', message: "'Coupon Used' is not in tracking plan 'web'" }]);
    expect(events[0].violations).toEqual([]);
    expect((await store.events.list('default', { event: 'Order Completed', limit: 10 })).map((e) => e.id)).toEqual([2]);
    expect(await store.events.count('default')).toBe(3);
    expect(await store.events.offset('events', 0)).toBe(3);
    expect(await store.events.offset('events', 1)).toBe(2);

    // Quarantine and audit.
    expect((await store.quarantine.list('default', { limit: 10 })).map((q) => [q.id, q.messageId, q.status, q.reasons[0].kind])).toEqual([
      [2, 'v1-q2', 'replayed', 'type_mismatch'], [1, 'v1-q1', 'held', 'type_mismatch'],
    ]);
    expect((await store.quarantine.get('default', 1))?.message.properties).toEqual({ total: 'ten' });
    expect((await store.audit.list('default', 10)).map((a) => [a.id, a.action, a.detail])).toEqual([[2, 'audience.update', { within: '30d' }], [1, 'source.create', undefined]]);

    // The upgraded store keeps working: dedup remembers old messageIds, ids continue, versions start.
    const accepted = await store.events.accept([{
      consumer: 'events', partition: 0, offset: 4, workspaceId: 'default', sourceId: SOURCE_ID, receivedAt: clock.now(), dedupWindowMs: 86_400_000,
      entries: [
        { kind: 'event', message: { ...events[1].message }, violations: [] },
        { kind: 'event', message: { ...events[1].message, messageId: 'v2-m4' }, violations: [] },
        { kind: 'event', message: { ...(await store.quarantine.get('default', 1))!.message, properties: { total: 10 } }, violations: [], replayOf: 1 },
      ],
    }]);
    expect(accepted.duplicates).toBe(1);
    expect(accepted.stored.map((e) => [e.id, e.message.messageId])).toEqual([[4, 'v2-m4'], [5, 'v1-q1']]);
    expect((await store.quarantine.get('default', 1))?.status).toBe('replayed');
    expect(await store.versions.latest('default')).toBe(0);
    expect(await store.definitions.put('default', 'audiences', 'buyers', { key: 'buyers', name: 'Recent buyers' })).toBe(3);
    expect(await store.versions.list('default', { limit: 10 })).toEqual([{
      version: 1, workspaceId: 'default', at: T0 + 60_000, author: 'api', message: 'audiences/buyers updated through the API',
      changes: [{ kind: 'audiences', key: 'buyers', op: 'update', before: { key: 'buyers', name: 'Buyers', condition: { performed: 'Order Completed', within: '30d' } }, after: { key: 'buyers', name: 'Recent buyers' } }],
    }]);
    await store.audit.add({ workspaceId: 'default', actor: 'admin', action: 'x', target: 'y' }, clock.now());
    expect((await store.audit.list('default', 1))[0].id).toBe(3);
    await store.close();
  });
});
