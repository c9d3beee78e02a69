import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/core/clock.js';
import { STORE_MIGRATIONS } from '../src/storage/sqlite/store-schema.js';
import { startTandem, type Running } from './harness.js';

/** test/fixtures/datadir-v1: written by the code of an earlier commit (scripts/make-upgrade-fixture.ts). */
const FIXTURE = new URL('./fixtures/datadir-v1/', import.meta.url);
const expected = JSON.parse(readFileSync(new URL('expected.json', FIXTURE), 'utf8'));

const versions = (file: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return Object.fromEntries((db.prepare('SELECT component, MAX(version) AS v FROM schema_migrations GROUP BY component').all() as { component: string; v: number }[]).map((r) => [r.component, r.v]));
  } finally {
    db.close();
  }
};

let t: Running | undefined;
let dir: string | undefined;
afterEach(async () => {
  await t?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  t = dir = undefined;
});

async function json<T = any>(res: Response | Promise<Response>, status = 200): Promise<T> {
  const r = await res;
  const text = await r.text();
  expect(r.status, text).toBe(status);
  return (text ? JSON.parse(text) : undefined) as T;
}

describe('storage upgrade', () => {
  it('a data directory written by an earlier schema version migrates forward at start and its data reads back intact', async () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-upgrade-'));
    cpSync(FIXTURE.pathname, dir, { recursive: true });
    const before = versions(join(dir, 'store.db'));
    expect(before.store).toBe(1);
    expect(STORE_MIGRATIONS.length).toBeGreaterThan(before.store);

    t = await startTandem({ dataDir: dir, clock: new ManualClock(expected.at) });
    await t.settle();
    const after = versions(join(dir, 'store.db'));
    expect(after.store).toBe(STORE_MIGRATIONS.length);
    for (const [component, v] of Object.entries(before)) expect(after[component], component).toBeGreaterThanOrEqual(v as number);

    // Events, profiles (identity graph, traits, computed traits, memberships) and definitions.
    expect((await json(t.admin('/events?limit=1000'))).data).toHaveLength(expected.events);
    for (const [userId, p] of Object.entries(expected.profiles as Record<string, { id: string; traits: unknown; computed: unknown; audiences: unknown }>)) {
      const profile = await json(t.admin(`/profiles/lookup?type=user_id&value=${userId}`));
      expect({ id: profile.id, traits: profile.traits, computed: profile.computed, audiences: profile.audiences }, userId).toEqual(p);
    }
    for (const [kind, body] of Object.entries(expected.definitions as Record<string, { key: string }>)) {
      expect(await json(t.admin(`/${kind}/${body.key}`)), kind).toEqual(body);
    }
    // The old credentials still work: the write key collects, the old admin token administers.
    const res = await fetch(`${t.url}/v1/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${expected.writeKey}:`).toString('base64')}` },
      body: JSON.stringify({ userId: 'u1', event: 'Order Completed', properties: { total: 5 } }),
    });
    expect(res.status).toBe(200);
    await t.settle();
    const u1 = await json(t.admin('/profiles/lookup?type=user_id&value=u1'));
    expect(u1.computed.revenue).toBe((expected.profiles.u1.computed.revenue as number) + 5);
    expect((await fetch(`${t.url}/api/v1/sources`, { headers: { authorization: `Bearer ${expected.adminToken}` } })).status).toBe(200);

    // The new table works on the upgraded store: the workspace exports as it is, and a change records a version.
    const exported = (await json(t.admin('/workspace/export'))).documents;
    expect(exported.map((d: any) => `${d.kind}/${d.key}`)).toEqual(expect.arrayContaining(['tracking-plans/web', 'sources/web', 'traits/revenue', 'audiences/buyers', 'templates/thanks']));
    expect((await json(t.admin('/workspace/plan', { method: 'POST', json: { documents: exported } }))).changes).toEqual([]);
    await json(t.admin('/audiences/buyers', { method: 'PUT', json: { ...expected.definitions.audiences, name: 'Recent buyers' } }));
    const history = (await json(t.admin('/versions'))).data;
    expect(history[0]).toMatchObject({ author: 'api', changes: [{ kind: 'audiences', key: 'buyers', op: 'update', fields: [{ path: 'name', op: 'change', before: 'Buyers', after: 'Recent buyers' }] }] });
  });
});
