import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTandem, type Running } from '../../test/harness.js';
import type { IdentityStore } from '../core/ports/store.js';
import { openSqlite, type Sqlite } from '../storage/sqlite/database.js';
import { openSqliteIdentityStore } from '../storage/sqlite/identity-store.js';

// The profile list and search read their page's profiles in one batch (IdentityStore.profiles, Profiles.summaries).
// Against a real Tandem: each summary must equal the same fields of the profile's own view (GET /profiles/{id},
// read one by one), for merged profiles (nested merges too), per-trait survivorship (first value, source priority),
// identifiers whose latest sighting still waits outside their row, a profile without traits, and an erased person.

interface Summary {
  id: string;
  identifiers: { type: string; value: string; firstSeen: string; lastSeen: string }[];
  traits: Record<string, unknown>;
  lineage: Record<string, { rule: string; source: string; messageId: string }>;
  mergedFrom: string[];
  firstSeen: string;
  lastSeen: string;
  createdAt: string;
}
const SUMMARY_FIELDS = ['id', 'identifiers', 'traits', 'lineage', 'mergedFrom', 'firstSeen', 'lastSeen', 'createdAt'] as const;
const pick = (view: Record<string, unknown>) => Object.fromEntries(SUMMARY_FIELDS.map((k) => [k, view[k]]));

let t: Running;
let db: Sqlite;
let identity: IdentityStore;
const ids: Record<string, string> = {};

const ok = async (r: Promise<Response>) => {
  const res = await r;
  if (res.status >= 300) throw new Error(`${res.status}: ${await res.text()}`);
  return res;
};
const json = async <T>(r: Promise<Response>) => (await (await ok(r)).json()) as T;
const userId = (s: Summary) => s.identifiers.find((i) => i.type === 'user_id')?.value;

beforeAll(async () => {
  t = await startTandem();
  const crm = await json<{ writeKey: string }>(t.admin('/sources', { method: 'POST', json: { key: 'crm', name: 'CRM' } }));
  await ok(t.admin('/identity-rules/default', { method: 'PUT', json: { key: 'default', survivorship: { default: 'last', traits: { signup_channel: { rule: 'first' }, plan: { rule: 'source-priority', sources: ['crm'] } } } } }));
  const fromCrm = (body: unknown) =>
    ok(fetch(`${t.url}/v1/identify`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${crm.writeKey}:`).toString('base64')}` }, body: JSON.stringify(body) }));
  const day = (d: number) => `2026-03-${String(d).padStart(2, '0')}T00:00:00.000Z`;
  // u1: an anonymous visitor and a user who merge; the first signup channel survives, the latest color.
  await ok(t.collect('/v1/identify', { anonymousId: 'a1', traits: { signup_channel: 'ads', color: 'red' }, timestamp: day(1) }));
  await ok(t.collect('/v1/identify', { userId: 'u1', traits: { signup_channel: 'email', color: 'blue' }, timestamp: day(2) }));
  await t.settle();
  await ok(t.collect('/v1/track', { userId: 'u1', anonymousId: 'a1', event: 'Signed In', timestamp: day(3) }));
  // u2: the CRM's older plan wins over the default source's later one.
  await ok(t.collect('/v1/identify', { userId: 'u2', traits: { plan: 'free', city: 'Oslo' }, timestamp: day(2) }));
  await fromCrm({ userId: 'u2', traits: { plan: 'pro' }, timestamp: day(1) });
  // u4: two anonymous profiles merged into it, one after the other.
  await ok(t.collect('/v1/identify', { anonymousId: 'a4', traits: { color: 'green' }, timestamp: day(1) }));
  await ok(t.collect('/v1/identify', { anonymousId: 'a5', traits: { color: 'teal' }, timestamp: day(2) }));
  await ok(t.collect('/v1/identify', { userId: 'u4', traits: { plan: 'team' }, timestamp: day(3) }));
  await t.settle();
  await ok(t.collect('/v1/track', { userId: 'u4', anonymousId: 'a4', event: 'Signed In', timestamp: day(4) }));
  await t.settle();
  await ok(t.collect('/v1/track', { userId: 'u4', anonymousId: 'a5', event: 'Signed In', timestamp: day(5) }));
  // u3: merged with a3, then erased.
  await ok(t.collect('/v1/identify', { anonymousId: 'a3', traits: { color: 'black' }, timestamp: day(1) }));
  await ok(t.collect('/v1/identify', { userId: 'u3', traits: { plan: 'pro' }, timestamp: day(2) }));
  await t.settle();
  await ok(t.collect('/v1/track', { userId: 'u3', anonymousId: 'a3', event: 'Signed In', timestamp: day(3) }));
  // u6: no traits at all.
  await ok(t.collect('/v1/track', { userId: 'u6', event: 'Viewed', timestamp: day(2) }));
  await t.settle();
  for (const u of ['u1', 'u2', 'u3', 'u4', 'u6']) ids[u] = (await json<{ id: string }>(t.admin(`/profiles/lookup?type=user_id&value=${u}`))).id;
  // The ids merged into u1's and u3's profiles (whichever was older survived).
  ids.a1 = (await json<{ data: { profile: string }[] }>(t.admin(`/profiles/${ids.u1}/merges`))).data[0].profile;
  ids.a3 = (await json<{ data: { profile: string }[] }>(t.admin(`/profiles/${ids.u3}/merges`))).data[0].profile;
  await ok(t.admin(`/profiles/${ids.u3}`, { method: 'DELETE' }));
  // After the erasure (which folds waiting sightings in): a later sighting of a known identifier, which waits in
  // identity_identifier_seen while its row keeps the old last seen.
  await ok(t.collect('/v1/track', { userId: 'u1', event: 'Viewed', timestamp: day(9) }));
  await t.settle();

  // The store on a connection of its own (as lean-view.test.ts reads it): the unfolded sightings come from the table.
  db = openSqlite(join(t.dataDir, 'store.db'), 'normal');
  identity = openSqliteIdentityStore(db);
  db.pragma('query_only = ON');
}, 120_000);

afterAll(async () => {
  db?.close();
  await t?.stop();
});

describe('profile summaries read in one batch', () => {
  it('lists every surviving profile once, each equal to its own view', async () => {
    const list = await json<{ data: Summary[]; next?: string }>(t.admin('/profiles?limit=100'));
    expect(list.next).toBeUndefined();
    expect(list.data.map(userId).sort()).toEqual(['u1', 'u2', 'u4', 'u6']);
    for (const summary of list.data) {
      const view = await json<Record<string, unknown>>(t.admin(`/profiles/${summary.id}`));
      expect(summary).toEqual(pick(view));
      // A summary is not the full view: audiences and the like are the profile page's.
      expect(Object.keys(summary).sort()).toEqual([...SUMMARY_FIELDS].sort());
    }
    const by = (u: string) => list.data.find((s) => userId(s) === u)!;
    // What the identity rules say, written out: the first signup channel, the latest color, the CRM's plan.
    expect(by('u1').traits).toEqual({ signup_channel: 'ads', color: 'blue' });
    expect(by('u1').lineage.signup_channel).toMatchObject({ rule: 'first' });
    expect(by('u1').mergedFrom).toEqual([ids.a1]);
    expect(by('u1').identifiers.find((i) => i.type === 'user_id')).toMatchObject({ firstSeen: '2026-03-02T00:00:00.000Z', lastSeen: '2026-03-09T00:00:00.000Z' });
    expect(by('u1').lastSeen).toBe('2026-03-09T00:00:00.000Z');
    expect(by('u2').traits).toEqual({ plan: 'pro', city: 'Oslo' });
    expect(by('u2').lineage.plan).toMatchObject({ rule: 'source-priority', source: 'crm' });
    expect(by('u4').mergedFrom).toHaveLength(2);
    expect(by('u4').traits).toEqual({ plan: 'team', color: 'teal' });
    expect(by('u4').identifiers.map((i) => `${i.type}:${i.value}`).sort()).toEqual(['anonymous_id:a4', 'anonymous_id:a5', 'user_id:u4']);
    expect(by('u6')).toMatchObject({ traits: {}, lineage: {}, mergedFrom: [] });
  });

  it('answers searches and pages with the same summaries', async () => {
    const pages: Summary[][] = [];
    let after: string | undefined;
    do {
      const page: { data: Summary[]; next?: string } = await json(t.admin(`/profiles?q=u&limit=2${after ? `&after=${encodeURIComponent(after)}` : ''}`));
      pages.push(page.data);
      after = page.next;
    } while (after && pages.length < 10);
    expect(pages.flat().map(userId).sort()).toEqual(['u1', 'u2', 'u4', 'u6']);
    for (const summary of pages.flat()) expect(summary).toEqual(pick(await json(t.admin(`/profiles/${summary.id}`))));
    const byTrait = await json<{ data: Summary[] }>(t.admin('/profiles?q=teal'));
    expect(byTrait.data.map(userId)).toEqual(['u4']);
    expect(byTrait.data[0]).toEqual(pick(await json(t.admin(`/profiles/${ids.u4}`))));
    // The erased person is found by nothing that was theirs.
    expect((await json<{ data: Summary[] }>(t.admin('/profiles?q=u3'))).data).toEqual([]);
    expect((await json<{ data: Summary[] }>(t.admin('/profiles?q=black'))).data).toEqual([]);
  });

  it('reads records as profile() does, following merges, each once, leaving out unknown and erased ids', async () => {
    expect((await t.admin(`/profiles/${ids.u3}`)).status).toBe(404);
    const got = await identity.profiles('default', [ids.a1, ids.u3, ids.a3, 'nobody', ids.u2, ids.u1, ids.u4, ids.u6]);
    expect(got.map((r) => r.id)).toEqual([ids.u1, ids.u2, ids.u4, ids.u6]);
    for (const record of got) expect(record).toEqual(await identity.profile('default', record.id));
    // The unfolded sighting counts in the batch as in profile().
    expect(db.prepare("SELECT value FROM identity_identifier_seen WHERE type = 'user_id'").pluck().all()).toEqual(['u1']);
    expect(got[0].identifiers.find((i) => i.type === 'user_id')?.lastSeen).toBe(Date.parse('2026-03-09T00:00:00.000Z'));
    // More ids than one statement takes: chunks, and a survivor named again in a later chunk shows once.
    const many = [ids.u2, ...Array.from({ length: 700 }, (_, i) => `unknown-${i}`), ids.a1, ids.u1, ids.u2];
    expect((await identity.profiles('default', many)).map((r) => r.id)).toEqual([ids.u2, ids.u1]);
    expect(await identity.profiles('default', [])).toEqual([]);
    expect(await identity.profiles('default', [ids.u3, ids.a3])).toEqual([]);
  });
});
