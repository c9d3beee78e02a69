import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/core/clock.js';
import type { BatchAnswers } from '../src/apply/ports.js';
import type { DuckDbWarehouse } from '../src/storage/duckdb/warehouse.js';
import { startTandem, type Running } from './harness.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 2, 1, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();

let running: Running[] = [];
afterEach(async () => {
  for (const t of running) await t.stop();
  running = [];
});

async function start(clock: ManualClock, dataDir?: string): Promise<Running> {
  const t = await startTandem({ clock, dataDir });
  running.push(t);
  return t;
}

async function json<T = any>(res: Response | Promise<Response>, status = 200): Promise<T> {
  const r = await res;
  const text = await r.text();
  expect(r.status, text).toBe(status);
  return (text ? JSON.parse(text) : undefined) as T;
}

const track = (t: Running, userId: string, event: string, extra: Record<string, unknown> = {}) => json(t.collect('/v1/track', { userId, event, ...extra }));
const profileOf = (t: Running, value: string) => json(t.admin(`/profiles/lookup?type=user_id&value=${encodeURIComponent(value)}`));
const members = async (t: Running, key: string): Promise<string[]> => (await json(t.admin(`/audiences/${key}/members?limit=1000`))).data.map((m: { profileId: string }) => m.profileId);
const preview = async (t: Running, condition: unknown): Promise<string[]> => (await json(t.admin('/audiences/preview', { method: 'POST', json: { condition, sample: 1000 } }))).sample;
const TICKETS = "SELECT profile_id, count(*) AS value FROM c_events WHERE event = 'Ticket Opened' GROUP BY profile_id";

describe('SQL traits on their schedule', () => {
  it('an SQL trait computed from events feeds an audience, runs on its schedule, and a restart does not run it early', async () => {
    const clock = new ManualClock(T0);
    const t = await start(clock);
    await json(t.admin('/traits', { method: 'POST', json: { key: 'tickets', sql: TICKETS, schedule: '1h' } }), 201);
    await json(t.admin('/audiences', { method: 'POST', json: { key: 'ticket-heavy', condition: { computed: 'tickets', gte: 2 } } }), 201);
    await track(t, 'u1', 'Ticket Opened');
    await track(t, 'u1', 'Ticket Opened');
    await track(t, 'u2', 'Ticket Opened');
    await track(t, 'u3', 'Page Viewed');
    await t.settle();

    const run = await json(t.admin('/traits/tickets/run', { method: 'POST' }));
    expect(run).toMatchObject({ state: 'ok', rows: 2, changed: 2, lastRunAt: iso(T0), nextRunAt: iso(T0 + HOUR) });
    await t.settle();
    const [p1, p2, p3] = [await profileOf(t, 'u1'), await profileOf(t, 'u2'), await profileOf(t, 'u3')];
    expect(p1.computed).toEqual({ tickets: 2 });
    expect(p2.computed).toEqual({ tickets: 1 });
    expect(p3.computed).toEqual({});
    expect(await members(t, 'ticket-heavy')).toEqual([p1.id]);
    const entered = (await json(t.admin(`/profiles/${p1.id}/events?limit=100`))).data.filter((e: any) => e.message.event === 'Audience Entered');
    expect(entered.map((e: any) => e.message.properties.audience)).toEqual(['ticket-heavy']);
    // SQL over the warehouse sees the values the run wrote.
    expect(await preview(t, { computed: 'tickets', gte: 1 })).toEqual([p1.id, p2.id].sort());

    // The schedule: an hour after the last run, with no call, u2's second ticket counts.
    clock.advance(10 * 60_000);
    await track(t, 'u2', 'Ticket Opened');
    await t.settle();
    expect(await members(t, 'ticket-heavy')).toEqual([p1.id]);
    clock.set(T0 + HOUR);
    for (let i = 0; i < 300; i++) {
      const status = (await json(t.admin('/traits/tickets'))).status;
      if (status.lastRunAt === iso(T0 + HOUR)) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await t.settle();
    const got = await json(t.admin('/traits/tickets'));
    expect(got).toMatchObject({ key: 'tickets', sql: TICKETS, schedule: '1h', status: { state: 'ok', lastRunAt: iso(T0 + HOUR), nextRunAt: iso(T0 + 2 * HOUR) } });
    expect((await members(t, 'ticket-heavy')).sort()).toEqual([p1.id, p2.id].sort());
    // The GET body (with its read-only status) can be PUT back.
    await json(t.admin('/traits/tickets', { method: 'PUT', json: got }));

    // A restart 30 minutes later does not run it again before its time.
    const dataDir = t.dataDir;
    await t.app.http.close();
    await t.app.close();
    running = running.filter((r) => r !== t);
    clock.set(T0 + HOUR + 30 * 60_000);
    const second = await start(clock, dataDir);
    await second.app.sqlTraits.tick();
    const after = (await json(second.admin('/traits/tickets'))).status;
    // The PUT made a new version, which ran at once at T0 + 1h; nothing ran since.
    expect(after).toMatchObject({ state: 'ok', lastRunAt: iso(T0 + HOUR), nextRunAt: iso(T0 + 2 * HOUR) });
  }, 60_000);

  it('a failing SQL trait reports its error and the server keeps going', async () => {
    const clock = new ManualClock(T0);
    const t = await start(clock);
    await track(t, 'u1', 'Ticket Opened');
    await track(t, 'u1', 'Ticket Opened');
    await t.settle();
    await json(t.admin('/traits', { method: 'POST', json: { key: 'repeated', sql: "SELECT profile_id, 1 AS value FROM c_events WHERE event = 'Ticket Opened'", schedule: '1d' } }), 201);
    const repeated = await json(t.admin('/traits/repeated/run', { method: 'POST' }));
    expect(repeated.state).toBe('error');
    expect(repeated.error).toMatch(/^sql: returned profile_id '.+' more than once/);
    await json(t.admin('/traits', { method: 'POST', json: { key: 'broken', sql: "SELECT profile_id, CAST('x' || profile_id AS INTEGER) AS value FROM c_profiles", schedule: '1d' } }), 201);
    const broken = await json(t.admin('/traits/broken/run', { method: 'POST' }));
    expect(broken.state).toBe('error');
    expect(broken.error).toMatch(/^sql: .*(Conversion|convert)/i);
    expect((await json(t.admin('/traits/broken'))).status).toMatchObject({ state: 'error', error: broken.error, lastRunAt: iso(T0) });
    // Event traits do not run; unknown traits are 404.
    await json(t.admin('/traits', { method: 'POST', json: { key: 'count', compute: { count: true } } }), 201);
    expect((await json(t.admin('/traits/count/run', { method: 'POST' }), 400)).error.code).toBe('not_sql_trait');
    expect((await json(t.admin('/traits/nope/run', { method: 'POST' }), 404)).error.code).toBe('not_found');
    // A write cannot get past the definition check.
    const write = await json(t.admin('/traits', { method: 'POST', json: { key: 'w', sql: 'DELETE FROM c_events', schedule: '1d' } }), 400);
    expect(write.error.path).toBe('sql');
    // The second barrier: the runner's connection is in a READ ONLY transaction.
    const warehouse = t.app.warehouse as DuckDbWarehouse;
    await expect(warehouse.inputsQuery({ workspaceId: 'any', sql: "INSERT INTO m_meta VALUES ('x', 1)", readOnly: true })).rejects.toThrow(/read-only mode/);
    expect(await warehouse.query("SELECT * FROM m_meta WHERE key = 'x'")).toEqual([]);
    await t.settle();
    expect((await profileOf(t, 'u1')).computed).toEqual({ count: 2 });
    expect(t.app.apply.stats.backfillDisagreements).toBe(0);
  }, 60_000);
});

describe('backfills answered by SQL', () => {
  it('a trait and audiences created over existing history take the SQL answer, agree with replay, and follow the stream afterwards', async () => {
    const clock = new ManualClock(T0);
    const t = await start(clock);
    let seed = 5;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
    for (let i = 0; i < 80; i++) {
      const event = ['Order Completed', 'Order Completed', 'Product Viewed', 'Signed Up'][rnd(4)];
      await track(t, `u${rnd(15)}`, event, { properties: { total: rnd(50) + 0.25, category: ['a', 'b', 'c'][rnd(3)] }, timestamp: iso(clock.now() - rnd(20) * DAY) });
      clock.advance(rnd(4) * HOUR);
    }
    await t.settle();
    const before = t.app.apply.stats.sqlBackfills;
    for (const [key, body] of [
      ['revenue_14d', { event: 'Order Completed', within: '14d', compute: { sum: 'total' } }],
      ['fav', { event: 'Product Viewed', compute: { most_frequent: 'category' } }],
      ['orders', { event: 'Order Completed', compute: { count: true } }],
    ] as const) {
      await json(t.admin('/traits', { method: 'POST', json: { key, ...body } }), 201);
    }
    const conditions: Record<string, unknown> = {
      spenders: { computed: 'revenue_14d', gte: 40 },
      recent: { performed: 'Order Completed', within: '5d', count: { gte: 2 } },
      'recent-viewers': { all: [{ in_audience: 'recent' }, { performed: 'Product Viewed', within: '10d' }] },
    };
    for (const [key, condition] of Object.entries(conditions)) await json(t.admin('/audiences', { method: 'POST', json: { key, condition } }), 201);
    await t.settle();
    expect(t.app.apply.stats.sqlBackfills - before).toBe(6);
    expect(t.app.apply.stats.backfillDisagreements).toBe(0);
    for (const step of [0, 2 * DAY, 9 * DAY]) {
      clock.advance(step);
      await track(t, 'u1', 'Order Completed', { properties: { total: 30 } });
      await t.settle();
      for (const [key, condition] of Object.entries(conditions)) expect(await members(t, key), `${key} at +${step}`).toEqual(await preview(t, condition));
    }
    const p = await profileOf(t, 'u1');
    expect(p.computed.orders).toBeGreaterThan(0);
  }, 60_000);

  it('a disagreement between replay and SQL is counted; the SQL answer holds from T until the stream next evaluates the profile', async () => {
    const clock = new ManualClock(T0);
    const t = await start(clock);
    await track(t, 'u1', 'Order Completed');
    await track(t, 'u2', 'Page Viewed');
    await t.settle();
    const [p1, p2] = [await profileOf(t, 'u1'), await profileOf(t, 'u2')];
    // A lying SQL side (the stand-in for a compiler bug): it also counts u2 as a buyer.
    const stage = t.app.apply as unknown as { deps: { batch: BatchAnswers } };
    const real = stage.deps.batch;
    stage.deps.batch = {
      async answer(ws, def, asOf, upTo) {
        const values = await real.answer(ws, def, asOf, upTo);
        values.set(p2.id, true);
        return values;
      },
    };
    await json(t.admin('/audiences', { method: 'POST', json: { key: 'buyers', condition: { performed: 'Order Completed', within: '1d' } } }), 201);
    await t.settle();
    expect(t.app.apply.stats.backfillDisagreements).toBe(1);
    expect(await members(t, 'buyers')).toEqual([p1.id, p2.id].sort());
    stage.deps.batch = real;
    const events = (await json(t.admin(`/profiles/${p2.id}/events?limit=100`))).data.filter((e: any) => e.message.event?.startsWith('Audience '));
    expect(events.map((e: any) => [e.message.event, e.message.timestamp])).toEqual([['Audience Entered', iso(T0)]]);
    // u1 leaves by its timer a day after its order, as the replayed state says; u2 keeps the SQL answer until the
    // stream next evaluates the audience for it.
    clock.set(T0 + DAY + 1);
    await t.settle();
    expect(await members(t, 'buyers')).toEqual([p2.id]);
    await track(t, 'u2', 'Order Completed');
    clock.set(T0 + 3 * DAY);
    await t.settle();
    expect(await members(t, 'buyers')).toEqual([]);
  }, 60_000);
});
