import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTandem, type Running } from '../../test/harness.js';
import { compileIdentityRules, IDENTITY_RULES_KIND } from '../identity/rules.js';
import { openSqliteApplyStore } from '../storage/sqlite/apply-store.js';
import { openSqlite, type Sqlite } from '../storage/sqlite/database.js';
import { openSqliteIdentityStore } from '../storage/sqlite/identity-store.js';
import { openSqlitePrivacyStore } from '../storage/sqlite/privacy-store.js';
import { LeanProfiles, sourceKeysOf } from './lean-view.js';

// The lean read of POST /v1/personalize, on a connection of its own to a real Tandem's store.db (as the front
// thread reads it), against the full profile view of the admin API: same traits after survivorship (a
// source-priority rule included), identifiers, memberships and consent.
let t: Running;
let db: Sqlite;
let lean: LeanProfiles;

beforeAll(async () => {
  t = await startTandem();
  const ok = async (r: Promise<Response>) => {
    const res = await r;
    if (res.status >= 300) throw new Error(`${res.status}: ${await res.text()}`);
    return res;
  };
  const crm = (await (await ok(t.admin('/sources', { method: 'POST', json: { key: 'crm', name: 'CRM' } }))).json()) as { writeKey: string };
  await ok(t.admin('/identity-rules/default', { method: 'PUT', json: { key: 'default', survivorship: { default: 'last', traits: { plan: { rule: 'source-priority', sources: ['crm'] } } } } }));
  await ok(t.admin('/audiences', { method: 'POST', json: { key: 'pro', name: 'Pro', condition: { trait: 'plan', eq: 'pro' } } }));
  await ok(t.collect('/v1/identify', { anonymousId: 'anon-1', traits: { plan: 'free', city: 'Oslo', subscriptions: { news: 'subscribed' } }, timestamp: '2026-01-01T00:00:00Z' }));
  await ok(t.collect('/v1/identify', { anonymousId: 'anon-1', userId: 'user-1', traits: { city: 'Bergen' }, timestamp: '2026-01-02T00:00:00Z' }));
  await ok(fetch(`${t.url}/v1/identify`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${crm.writeKey}:`).toString('base64')}` }, body: JSON.stringify({ userId: 'user-1', traits: { plan: 'pro' }, timestamp: '2025-12-01T00:00:00Z' }) }));
  await t.settle();
  const profile = (await (await t.admin('/profiles/lookup?type=user_id&value=user-1')).json()) as { id: string };
  await ok(t.admin(`/profiles/${profile.id}/subscriptions/sms`, { method: 'PUT', json: { status: 'unsubscribed' } }));

  db = openSqlite(join(t.dataDir, 'store.db'), 'normal');
  const defs = t.app.store.definitions;
  lean = new LeanProfiles({
    identity: openSqliteIdentityStore(db),
    apply: openSqliteApplyStore(db),
    privacy: openSqlitePrivacyStore(db),
    rules: async (ws) => compileIdentityRules((await defs.get(ws, IDENTITY_RULES_KIND, 'default'))?.body ?? { key: 'default' }),
    sourceKeys: sourceKeysOf(t.app.store.sources),
  });
  db.pragma('query_only = ON');
}, 60_000);

afterAll(async () => {
  db?.close();
  await t?.stop();
});

describe('LeanProfiles', () => {
  it('reads what the full view shows of traits, identifiers, audiences and consent', async () => {
    const full = (await (await t.admin('/profiles/lookup?type=anonymous_id&value=anon-1')).json()) as {
      id: string; traits: Record<string, unknown>; identifiers: { type: string; value: string }[]; audiences: string[]; subscriptions: Record<string, { status: string }>;
    };
    const got = await lean.lookup('default', 'anonymous_id', 'anon-1');
    // Identifiers in any order (the full view ranks them; conditions do not care).
    const byType = (list: { type: string; value: string }[]) => list.map((i) => ({ type: i.type, value: i.value })).sort((a, b) => a.type.localeCompare(b.type));
    got!.identifiers = byType(got!.identifiers);
    // The CRM's older plan wins over the later one from the default source (source-priority); city: the latest;
    // subscriptions stated in traits stay a trait too.
    expect(got).toEqual({
      id: full.id,
      traits: { plan: 'pro', city: 'Bergen', subscriptions: { news: 'subscribed' } },
      identifiers: byType(full.identifiers),
      computed: {},
      audiences: ['pro'],
      subscriptions: { news: 'subscribed', sms: 'unsubscribed' },
    });
    expect(full.traits).toEqual(got!.traits);
    expect(full.audiences).toEqual(got!.audiences);
    expect(Object.fromEntries(Object.entries(full.subscriptions).map(([g, s]) => [g, s.status]))).toEqual(got!.subscriptions);
    // Found by the other identifier too; an unknown one is not a profile.
    expect((await lean.lookup('default', 'user_id', 'user-1'))?.id).toBe(full.id);
    expect(await lean.lookup('default', 'user_id', 'nobody')).toBeUndefined();
  });
});
