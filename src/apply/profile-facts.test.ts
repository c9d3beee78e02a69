import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTandem, type Running } from '../../test/harness.js';
import { compileIdentityRules, IDENTITY_RULES_KIND } from '../identity/rules.js';
import { openSqlitePrivacyStore } from '../storage/sqlite/privacy-store.js';
import { openSqliteIdentityStore } from '../storage/sqlite/identity-store.js';
import { openSqlite } from '../storage/sqlite/database.js';
import { join } from 'node:path';
import { sourceKeysOf } from '../profiles/lean-view.js';
import { ProfileFactsReader } from './profile-facts.js';

// The facts the apply stage reads of a profile, against the full profile view of the admin API on a real Tandem:
// traits after survivorship (a source-priority rule included), identifiers in the view's ranked order, and consent
// from events and from the API, across a merge (the loser's consent change counts).
let t: Running;
let reader: ProfileFactsReader;
let close: () => void;

type Full = { id: string; traits: Record<string, unknown>; identifiers: { type: string; value: string }[]; mergedFrom: string[]; subscriptions: Record<string, { status: string }> };

beforeAll(async () => {
  t = await startTandem();
  const ok = async (r: Promise<Response>) => {
    const res = await r;
    if (res.status >= 300) throw new Error(`${res.status}: ${await res.text()}`);
    return res;
  };
  const crm = (await (await ok(t.admin('/sources', { method: 'POST', json: { key: 'crm', name: 'CRM' } }))).json()) as { writeKey: string };
  await ok(t.admin('/identity-rules/default', { method: 'PUT', json: { key: 'default', survivorship: { default: 'last', traits: { plan: { rule: 'source-priority', sources: ['crm'] } } } } }));
  await ok(t.collect('/v1/identify', { anonymousId: 'anon-1', traits: { plan: 'free', city: 'Oslo', subscriptions: { news: 'subscribed' } }, timestamp: '2026-01-01T00:00:00Z' }));
  await ok(t.collect('/v1/identify', { userId: 'user-1', traits: { email: 'a@example.com' }, context: { traits: { email: 'a@example.com' } }, timestamp: '2026-01-01T12:00:00Z' }));
  await t.settle();
  // Consent changed through the API on the profile that will lose the merge.
  const anon = (await (await t.admin('/profiles/lookup?type=anonymous_id&value=anon-1')).json()) as { id: string };
  await ok(t.admin(`/profiles/${anon.id}/subscriptions/sms`, { method: 'PUT', json: { status: 'unsubscribed' } }));
  // The link merges the two profiles.
  await ok(t.collect('/v1/identify', { anonymousId: 'anon-1', userId: 'user-1', traits: { city: 'Bergen' }, timestamp: '2026-01-02T00:00:00Z' }));
  await ok(fetch(`${t.url}/v1/identify`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${crm.writeKey}:`).toString('base64')}` }, body: JSON.stringify({ userId: 'user-1', traits: { plan: 'pro' }, timestamp: '2025-12-01T00:00:00Z' }) }));
  await t.settle();

  const db = openSqlite(join(t.dataDir, 'store.db'), 'normal');
  close = () => db.close();
  const defs = t.app.store.definitions;
  reader = new ProfileFactsReader({
    identity: openSqliteIdentityStore(db),
    privacy: openSqlitePrivacyStore(db),
    rules: async (ws) => compileIdentityRules((await defs.get(ws, IDENTITY_RULES_KIND, 'default'))?.body ?? { key: 'default' }),
    sourceKeys: sourceKeysOf(t.app.store.sources),
  });
}, 60_000);

afterAll(async () => {
  close?.();
  await t?.stop();
});

describe('ProfileFactsReader', () => {
  it('reads the traits, ranked identifiers and consent the full view shows, across a merge', async () => {
    const full = (await (await t.admin('/profiles/lookup?type=user_id&value=user-1')).json()) as Full;
    expect(full.mergedFrom.length).toBe(1);
    const facts = await reader.read('default', full.id);
    expect(facts).toEqual({
      traits: full.traits,
      identifiers: full.identifiers.map((i) => ({ type: i.type, value: i.value })),
      subscriptions: Object.fromEntries(Object.entries(full.subscriptions).map(([g, s]) => [g, s.status])),
    });
    // What the view says, spelled out: the CRM's older plan wins (source-priority), the latest city, consent from
    // an event of one profile and the API change made on the other before the merge; user_id ranks first.
    expect(facts!.traits).toMatchObject({ plan: 'pro', city: 'Bergen', email: 'a@example.com' });
    expect(facts!.subscriptions).toEqual({ news: 'subscribed', sms: 'unsubscribed' });
    expect(facts!.identifiers[0]).toEqual({ type: 'user_id', value: 'user-1' });
  });

  it('answers nothing for a merged-away id or an unknown one', async () => {
    const full = (await (await t.admin('/profiles/lookup?type=user_id&value=user-1')).json()) as Full;
    expect(await reader.read('default', full.mergedFrom[0])).toBeUndefined();
    expect(await reader.read('default', 'prf_nobody')).toBeUndefined();
  });
});
