import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startTandem, type Running } from '../../test/harness.js';
import { ManualClock } from '../core/clock.js';
import { openSqlite, type Sqlite } from '../storage/sqlite/database.js';
import { openSqliteSpendStore } from '../storage/sqlite/spend-store.js';
import { DuckDbWarehouse } from '../storage/duckdb/warehouse.js';
import { Analytics } from './analytics.js';
import type { AttributionRequest, FunnelRequest, PathsRequest, RetentionRequest } from './schema.js';
import type { SequenceWarehouse } from './sequence.js';

// A/B check of the compact event sequence (a_event_seq): every report answered by the SQL over m_events and the raw
// messages (compact: false, the SQL before the sequence) and by the SQL over the sequence must agree on the same
// history, number for number; again after new events arrive (earlier timestamps among them, so places in a
// profile's sequence shift), after an erasure, and, through a running Tandem, after a merge.

const MIN = 60_000;
const DAY = 86_400_000;
const START = Date.UTC(2026, 2, 2);
const WS = 'default';

/** Equal, numbers to 1e-9 relative (sums of fractions may add up in another order). */
function same(a: unknown, b: unknown, path = '$'): void {
  if (typeof a === 'number' && typeof b === 'number') {
    if (Math.abs(a - b) > 1e-9 * Math.max(1, Math.abs(a), Math.abs(b))) throw new Error(`${path}: ${a} != ${b}`);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) throw new Error(`${path}: length ${a.length} != ${b.length}`);
    a.forEach((x, i) => same(x, b[i], `${path}[${i}]`));
    return;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    if (ka.join() !== kb.join()) throw new Error(`${path}: keys ${ka.join()} != ${kb.join()}`);
    for (const k of ka) same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
    return;
  }
  if (a !== b) throw new Error(`${path}: ${JSON.stringify(a)} != ${JSON.stringify(b)}`);
}

const KINDS = `[{'t': 'track', 'e': 'Page Viewed'}, {'t': 'page', 'e': NULL}, {'t': 'track', 'e': 'Product Viewed'}, {'t': 'track', 'e': 'Product Added'},
  {'t': 'track', 'e': 'Order Completed'}, {'t': 'track', 'e': 'Ad Clicked'}, {'t': 'track', 'e': 'Ad Viewed'}, {'t': 'track', 'e': 'Message Sent'},
  {'t': 'track', 'e': 'Session Started'}, {'t': 'identify', 'e': NULL}, {'t': 'track', 'e': 'Signed Up'}, {'t': 'track', 'e': 'Experiment Viewed'}, {'t': 'track', 'e': '%EXTRA%'}]`;

/**
 * Events ids (first, last] over `profiles` profiles, on a 5-minute grid over 12 days (so profiles have events at
 * the same millisecond), from seeded hashes; `seed` varies the draws. Page views and pages carry UTM parameters,
 * ads and messages a channel and a campaign or journey, orders a revenue (sometimes as text).
 */
async function addEvents(w: DuckDbWarehouse, first: number, last: number, profiles: number, seed: number, extra = 'Page Viewed', shift = 0): Promise<void> {
  const h = (k: number) => `(hash(i * 64 + ${seed * 16 + k}) >> 32)`;
  await w.query(`
    CREATE OR REPLACE TEMP TABLE g AS
    SELECT i AS id, i, 'p' || CAST(${h(1)} % ${profiles} AS VARCHAR) AS pid, ${KINDS.replace('%EXTRA%', extra)}[1 + CAST(${h(2)} % 13 AS INTEGER)] AS k,
           ${START + shift} + CAST(${h(3)} % ${12 * 288} AS BIGINT) * ${5 * MIN} AS ts
    FROM range(${first + 1}, ${last + 1}) t(i)`);
  await w.query(`
    INSERT INTO events
    SELECT id, '${WS}', 'test', 'm' || id, k.t, k.e, pid, NULL, ts, ts,
      CAST(json_object('type', k.t, 'event', k.e, 'userId', pid,
        'properties', CASE
          WHEN k.e = 'Order Completed' THEN json_object('revenue', CASE WHEN ${h(4)} % 7 = 0 THEN to_json(CAST(5 + ${h(5)} % 200 AS VARCHAR)) ELSE CAST(5 + ${h(5)} % 200 AS JSON) END, 'coupon', ${h(6)} % 2 = 0)
          WHEN k.e = 'Ad Clicked' THEN json_object('channel', ['facebook', 'google'][1 + CAST(${h(7)} % 2 AS INTEGER)], 'campaign', 'c' || (${h(8)} % 4))
          WHEN k.e = 'Message Sent' AND ${h(9)} % 3 = 0 THEN json_object('channel', 'sms', 'template', 't' || (${h(8)} % 2))
          WHEN k.e = 'Message Sent' THEN json_object('channel', 'mail', 'journey', 'j' || (${h(8)} % 3))
          WHEN k.e = 'Experiment Viewed' THEN json_object('experiment_id', 'e1', 'variation', ['A', 'B'][1 + CAST(${h(7)} % 2 AS INTEGER)])
          ELSE json_object('path', '/p/' || (${h(10)} % 5)) END,
        'context', CASE WHEN (k.e = 'Page Viewed' OR k.t = 'page') AND ${h(11)} % 3 = 0
          THEN json_object('campaign', json_object('source', ['google', 'newsletter', 'facebook'][1 + CAST(${h(12)} % 3 AS INTEGER)], 'medium', 'cpc', 'name', 'c' || (${h(13)} % 4)))
          WHEN k.e = 'Ad Clicked' AND ${h(11)} % 4 = 0 THEN json_object('campaign', json_object('source', 'adnet', 'name', 'c9'))
          ELSE json_object('ip', '10.0.0.1') END) AS JSON)
    FROM g`);
  await w.query(`INSERT INTO m_events SELECT id, '${WS}', pid, k.t, CASE WHEN k.t = 'track' THEN k.e END, ts FROM g; DROP TABLE g`);
}

const range = { from: new Date(START + DAY).toISOString(), to: new Date(START + 11 * DAY).toISOString() };
const wide = { from: new Date(START - DAY).toISOString(), to: new Date(START + 26 * DAY).toISOString() };
const V = { event: 'Product Viewed' };
const A = { event: 'Product Added' };
const O = { event: 'Order Completed' };

const funnels: FunnelRequest[] = [
  { steps: [V, A, O], window: '2d', ...range },
  { steps: [V, A, O], window: '6h', ...wide },
  { steps: [{ type: 'page' }, V, { event: 'Page Viewed' }, O], window: '3d', ...range },
  { steps: [V, O], window: '2d', breakdown: { trait: 'plan' }, ...range },
  { steps: [V, O], window: '2d', breakdown: { property: 'path' }, ...range },
  { steps: [V, O], window: '2d', breakdown: { audiences: ['vip', 'new'] }, ...range },
  { steps: [V, O], window: '2d', breakdown: { exposure: { event: 'Experiment Viewed', property: 'variation', where: [{ property: 'experiment_id', eq: 'e1' }] } }, ...range },
  { steps: [V, { event: 'Order Completed', where: [{ property: 'revenue', gte: 100 }] }], ...range },
  { steps: [{ event: 'Coupon Applied' }, O], window: '5d', ...wide },
  { steps: [{ event: 'No Such Event' }, O], ...range },
];
const retentions: RetentionRequest[] = [
  { return: { event: 'Session Started' }, period: 'day', periods: 6, ...range },
  { period: 'week', periods: 3, ...wide },
  { cohort: { event: { event: 'Signed Up' } }, return: { type: 'page' }, period: 'day', periods: 10, ...range },
  { cohort: { trait: 'plan' }, return: O, period: 'day', periods: 4, ...range },
  { cohort: { event: { event: 'Order Completed', where: [{ property: 'coupon', eq: true }] } }, return: O, period: 'month', periods: 2, ...wide },
  { cohort: { event: { event: 'Coupon Applied' } }, period: 'day', ...wide },
];
const paths: PathsRequest[] = [
  { anchor: A, steps: 3, top: 20, within: '1d', ...range },
  { anchor: A, direction: 'before', steps: 4, top: 30, within: '2d', ...range },
  { anchor: { type: 'page' }, steps: 2, top: 100, ...wide },
  { anchor: O, steps: 5, top: 10, within: '30m', ...range },
  { anchor: O, direction: 'before', steps: 1, top: 5, within: '10m', ...range },
  { anchor: A, steps: 3, exclude: ['Page Viewed'], ...range },
  { anchor: { event: 'Order Completed', where: [{ property: 'revenue', gt: 50 }] }, steps: 2, ...range },
  { anchor: { event: 'Coupon Applied' }, steps: 2, top: 50, ...wide },
];
const attributions: AttributionRequest[] = [
  { conversion: O, lookback: '2d', ...range },
  { conversion: O, lookback: '12h', halfLife: '3h', groupBy: 'channel', ...range },
  { conversion: O, lookback: '3d', models: ['first_touch', 'linear', 'time_decay'], ...wide },
  { conversion: O, lookback: '1d', touchpoints: { utm: false, ads: ['Ad Clicked'], messages: [] }, ...range },
  { conversion: O, lookback: '1d', touchpoints: { ads: ['Ad Viewed', 'Coupon Applied'], messages: ['Message Sent'] }, models: ['markov', 'position_based'], ...range },
  { conversion: { event: 'Order Completed', where: [{ property: 'coupon', eq: true }] }, lookback: '2d', ...range },
  { conversion: O, revenueProperty: 'revenue', lookback: '2d', groupBy: 'channel', ...range },
  { conversion: { event: 'Product Added' }, revenueProperty: 'path', lookback: '1d', ...range },
  { conversion: { event: 'Coupon Applied' }, lookback: '4d', ...wide },
];

interface Pair { old: Analytics; compact: Analytics }

async function agree(pair: Pair, ws = WS): Promise<number> {
  let compared = 0;
  const both = async <T>(name: string, run: (a: Analytics) => Promise<T>) => {
    const before = await run(pair.old);
    const after = await run(pair.compact);
    try {
      same(before, after);
    } catch (error) {
      throw new Error(`${name}: ${(error as Error).message}`);
    }
    compared++;
    return after;
  };
  for (const [i, r] of funnels.entries()) await both(`funnel ${i}`, (a) => a.funnel(ws, r));
  for (const [i, r] of retentions.entries()) await both(`retention ${i}`, (a) => a.retention(ws, r));
  for (const [i, r] of paths.entries()) await both(`paths ${i}`, (a) => a.paths(ws, r));
  for (const [i, r] of attributions.entries()) await both(`attribution ${i}`, (a) => a.attribution(ws, r));
  await both('campaigns', (a) => a.campaigns(ws, { conversion: O, lookback: '2d', ...range }));
  return compared;
}

/** The sequence as kept incrementally, against the same table computed from m_events now: rows differing (both ways). */
async function drift(w: SequenceWarehouse): Promise<number> {
  const fresh = `SELECT m.workspace_id, hash(m.profile_id) AS pk, m.ts, m.event_id, n.nid,
      CAST(row_number() OVER (PARTITION BY m.workspace_id, hash(m.profile_id) ORDER BY m.ts, m.event_id) AS INTEGER) AS rn,
      CAST(rank() OVER (PARTITION BY m.workspace_id, hash(m.profile_id) ORDER BY m.ts) AS INTEGER) AS rn0,
      COALESCE(f.utm_source, f.utm_medium, f.utm_campaign) IS NOT NULL AS utm, f.utm_source, f.utm_medium, f.utm_campaign, f.channel, f.campaign, f.journey, f.template, f.revenue
    FROM m_events m JOIN a_event_names n ON n.type IS NOT DISTINCT FROM m.type AND n.event IS NOT DISTINCT FROM m.event
    LEFT JOIN a_event_fields f ON f.event_id = m.event_id`;
  const [r] = await w.query(`SELECT (SELECT count(*) FROM (SELECT * FROM a_event_seq EXCEPT ALL ${fresh})) + (SELECT count(*) FROM (${fresh} EXCEPT ALL SELECT * FROM a_event_seq)) AS n`);
  // The per-profile counts and last times, against the same from m_events.
  const last = `SELECT m.workspace_id, hash(m.profile_id) AS pk, CAST(count(*) AS INTEGER) AS n, CASE WHEN count(m.ts) = count(*) THEN max(m.ts) END AS last_ts FROM m_events m GROUP BY ALL`;
  const [l] = await w.query(`SELECT (SELECT count(*) FROM (SELECT * FROM a_event_last EXCEPT ALL ${last})) + (SELECT count(*) FROM (${last} EXCEPT ALL SELECT * FROM a_event_last)) AS n`);
  return Number(r.n) + Number(l.n);
}

describe('compact event sequence: the same answers as the SQL over m_events', () => {
  let dir: string;
  let w: DuckDbWarehouse;
  let db: Sqlite;
  let pair: Pair;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-analytics-ab-'));
    w = await DuckDbWarehouse.open(join(dir, 'warehouse.duckdb'), join(dir, 'store.db'));
    db = openSqlite(join(dir, 'spend.db'), 'normal');
    await addEvents(w, 0, 30_000, 400, 1);
    await w.query(`INSERT INTO m_profiles SELECT '${WS}', 'p' || i, CAST(CASE WHEN i % 5 = 0 THEN '{}' ELSE json_object('plan', ['free', 'pro'][1 + i % 2]) END AS JSON), '{}' FROM range(400) t(i)`);
    await w.query(`INSERT INTO m_memberships SELECT '${WS}', 'p' || i, CASE WHEN i % 3 = 0 THEN 'vip' ELSE 'new' END FROM range(0, 400, 2) t(i)`);
    const spend = openSqliteSpendStore(db);
    spend.upsert(WS, [{ date: '2026-03-04', campaign: 'c1', channel: '', spend: 50 }, { date: '2026-03-05', campaign: 'j2', channel: 'mail', spend: 20 }], START);
    const deps = { warehouse: w, sync: async () => undefined, spend, clock: new ManualClock(START + 12 * DAY) };
    pair = { old: new Analytics({ ...deps, compact: false }), compact: new Analytics(deps) };
  }, 120_000);

  afterAll(async () => {
    await w?.close();
    db?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('agrees on a generated history', async () => {
    const compared = await agree(pair);
    expect(compared).toBe(funnels.length + retentions.length + paths.length + attributions.length + 1);
    expect(await drift(w)).toBe(0);
    // The history is not trivial: attribution credits conversions, paths find sequences.
    const a = await pair.compact.attribution(WS, attributions[0]);
    expect(a.totals.attributed).toBeGreaterThan(100);
    expect((await pair.compact.paths(WS, paths[0])).paths.length).toBeGreaterThan(5);
  }, 120_000);

  it('agrees after new events arrive, earlier ones and new names among them', async () => {
    const before = await pair.compact.funnel(WS, funnels[8]);
    expect(before.steps[0].count).toBe(0);
    // 3,000 new events over the same days (so they land before existing ones), new profiles and a new event name.
    await addEvents(w, 30_000, 33_000, 450, 2, 'Coupon Applied');
    const after = await pair.compact.funnel(WS, funnels[8]);
    expect(after.steps[0].count).toBeGreaterThan(0);
    expect(await drift(w)).toBe(0);
    await agree(pair);
    // 2,000 more, all after every earlier event (13 to 25 days in): profiles' places continue (appended rows).
    await addEvents(w, 33_000, 35_000, 450, 3, 'Coupon Applied', 13 * DAY);
    await agree(pair);
    expect(await drift(w)).toBe(0);
    // 1,000 more mapped to their profiles before their messages reach the warehouse (the mirror ahead of the
    // copy): the sequence holds them without fields first, then takes the fields when they are extracted.
    await addEvents(w, 35_000, 36_000, 450, 4, 'Coupon Applied', 13 * DAY);
    await w.query('CREATE TEMP TABLE held AS SELECT * FROM events WHERE id > 35000; DELETE FROM events WHERE id > 35000');
    await agree(pair);
    expect(await drift(w)).toBe(0);
    await w.query('INSERT INTO events SELECT * FROM held; DROP TABLE held');
    await agree(pair);
    expect(await drift(w)).toBe(0);
    const [{ late }] = await w.query(`SELECT count(*) AS late FROM a_event_seq WHERE event_id > 35000 AND utm_source IS NOT NULL`);
    expect(Number(late)).toBeGreaterThan(0);
  }, 120_000);

  it('agrees after an erasure, and the erased profiles leave the sequence', async () => {
    const [{ k }] = await w.query(`SELECT count(*) AS k FROM m_events WHERE profile_id IN ('p3', 'p8', 'p420')`);
    expect(Number(k)).toBeGreaterThan(0);
    const left = async () => Number((await w.query(`SELECT count(*) AS n FROM a_event_seq WHERE pk IN (hash('p3'), hash('p8'), hash('p420'))`))[0].n);
    expect(await left()).toBeGreaterThan(0);
    await w.mirrorErase(WS, ['p3', 'p8', 'p420']);
    // Gone at once, before any report (the rows and the per-profile count).
    expect(await left()).toBe(0);
    expect(Number((await w.query(`SELECT count(*) AS n FROM a_event_last WHERE pk IN (hash('p3'), hash('p8'), hash('p420'))`))[0].n)).toBe(0);
    await agree(pair);
    expect(await drift(w)).toBe(0);
  }, 120_000);
});

describe('compact event sequence after a merge (a running Tandem)', () => {
  let t: Running;
  const iso = (ms: number) => new Date(ms).toISOString();
  const T = START + 2 * DAY;
  const body = { steps: [V, A, O], window: '1d', from: iso(T - DAY), to: iso(T + DAY) };

  beforeAll(async () => {
    t = await startTandem();
  }, 60_000);

  afterAll(async () => {
    await t?.stop();
  });

  it('recomputes the merged profiles: the funnel counts the joined journey, as the SQL over m_events does', async () => {
    const track = (who: Record<string, string>, event: string, at: number, properties: Record<string, unknown> = {}) => ({ type: 'track', ...who, event, properties, timestamp: iso(at) });
    const anon = { anonymousId: 'anon-1' };
    const user = { userId: 'u-1' };
    const res = await t.collect('/v1/batch', {
      batch: [
        track(anon, 'Product Viewed', T), track(anon, 'Ad Clicked', T + MIN, { channel: 'facebook', campaign: 'fb1' }), track(anon, 'Product Added', T + 10 * MIN),
        track(user, 'Order Completed', T + 30 * MIN, { revenue: 80 }),
        track({ userId: 'u-2' }, 'Product Viewed', T + 5 * MIN),
      ],
    });
    expect(res.status).toBe(200);
    await t.settle();
    const warehouse = t.app.warehouse as unknown as SequenceWarehouse;
    const spendDb = openSqlite(join(t.dataDir, 'ab-spend.db'), 'normal');
    onTestFinished(() => {
      spendDb.close();
    });
    const deps = { warehouse, sync: async () => undefined, spend: openSqliteSpendStore(spendDb), clock: new ManualClock(T + DAY) };
    const pair: Pair = { old: new Analytics({ ...deps, compact: false }), compact: new Analytics(deps) };
    // The app's own report brings the mirror up to date (its sync); both engines then read the same tables.
    const post = async () => (await (await t.admin('/analytics/funnel', { method: 'POST', json: body })).json()) as { steps: { count: number }[] };
    expect((await post()).steps.map((s) => s.count)).toEqual([2, 1, 0]);
    const split = await pair.compact.funnel(WS, body);
    expect(split.steps.map((s) => s.count)).toEqual([2, 1, 0]);
    same(await pair.old.funnel(WS, body), split);

    // anon-1 and u-1 are the same person: one profile now, whose journey is viewed > added > ordered.
    const merged = await t.collect('/v1/identify', { userId: 'u-1', anonymousId: 'anon-1', traits: { plan: 'pro' }, timestamp: iso(T + 40 * MIN) });
    expect(merged.status).toBe(200);
    await t.settle();
    expect((await post()).steps.map((s) => s.count)).toEqual([2, 1, 1]);
    const joined = await pair.compact.funnel(WS, body);
    expect(joined.steps.map((s) => s.count)).toEqual([2, 1, 1]);
    same(await pair.old.funnel(WS, body), joined);
    const attribution = { conversion: O, lookback: '1d', from: iso(T - DAY), to: iso(T + DAY) };
    const credited = await pair.compact.attribution(WS, attribution);
    expect(credited.totals.attributed).toBe(1);
    same(await pair.old.attribution(WS, attribution), credited);
    const [{ k }] = await warehouse.query(`SELECT count(*) AS k FROM m_events_changes`);
    expect(Number(k)).toBe(0); // read and deleted by the refresh
    expect(await drift(warehouse)).toBe(0);
  }, 120_000);
});
