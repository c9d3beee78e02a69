import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/core/clock.js';
import { startTandem, type Running } from './harness.js';

/**
 * The apply stage's streaming memberships against the SQL compiler "as of now" over the warehouse, on random
 * histories (identifies with traits, anonymous profiles merged into known ones, events back-dated into windows)
 * and a few definitions, checked at several instants as the clock moves (timers).
 */
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 4, 1);
const SEEDS = (process.env.APPLY_AGREEMENT_SEEDS ?? '11,23,37').split(',').map(Number);

const DEFINITIONS: Record<string, unknown> = {
  recent: { performed: 'Order Completed', within: '7d' },
  lapsed: { all: [{ not: { performed: 'Order Completed', within: '5d' } }, { performed: 'Signed Up' }] },
  repeat: { performed: 'Order Completed', count: { gte: 2 }, within: '10d', where: [{ property: 'total', gt: 10 }] },
  pro: { any: [{ trait: 'plan', eq: 'pro' }, { in_audience: 'repeat' }] },
  known_recent: { all: [{ in_audience: 'recent' }, { has_identifier: 'user_id' }] },
  last_seen: { last_performed: 'Product Viewed', ago: { gte: '2d' } },
  spenders: { computed: 'orders_3d', gte: 2 },
};

let t: Running;
let clock: ManualClock;
beforeAll(async () => {
  clock = new ManualClock(T0);
  t = await startTandem({ clock });
});
afterAll(async () => t.stop());

async function json(res: Promise<Response>, status = 200): Promise<any> {
  const r = await res;
  const text = await r.text();
  expect(r.status, text).toBe(status);
  return text ? JSON.parse(text) : undefined;
}

async function members(key: string): Promise<string[]> {
  return (await json(t.admin(`/audiences/${key}/members?limit=1000`))).data.map((m: { profileId: string }) => m.profileId);
}

async function sql(condition: unknown): Promise<string[]> {
  return (await json(t.admin('/audiences/preview', { method: 'POST', json: { condition, sample: 1000 } }))).sample;
}

describe('apply stage (streaming) agrees with SQL as of now', () => {
  it.each(SEEDS)('on a random history (seed %i)', async (seedValue) => {
    let seed = seedValue;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), Math.floor((seed / 2147483648) * n));
    const prefix = `s${seedValue}-`;
    const key = (k: string) => `${prefix}${k}`.replace(/_/g, '-');
    const rewrite = (c: unknown): unknown => JSON.parse(JSON.stringify(c).replace(/"in_audience":"([a-z_]+)"/g, (_m, k: string) => `"in_audience":"${key(k)}"`).replace(/"orders_3d"/g, `"${prefix}orders_3d"`.replace(/-/g, '_')));
    const traitKey = `${prefix}orders_3d`.replace(/-/g, '_');
    await json(t.admin('/traits', { method: 'POST', json: { key: traitKey, event: 'Order Completed', within: '3d', compute: { count: true } } }), 201);
    // Half the definitions exist before the history (streaming), half are created after it (backfill).
    const keys = Object.keys(DEFINITIONS);
    const early = keys.filter((_, i) => i % 2 === 0 || keys[i] === 'repeat' || keys[i] === 'recent');
    for (const k of early) await json(t.admin('/audiences', { method: 'POST', json: { key: key(k), condition: rewrite(DEFINITIONS[k]) } }), 201);

    const users = Array.from({ length: 10 }, (_, i) => `${prefix}u${i}`);
    for (let i = 0; i < 70; i++) {
      const user = users[rnd(users.length)];
      const anon = `${user}-anon`;
      const r = rnd(10);
      const ids = r < 3 ? { anonymousId: anon } : r < 5 ? { userId: user, anonymousId: anon } : { userId: user };
      const when = new Date(clock.now() - rnd(12) * DAY - rnd(DAY)).toISOString();
      if (rnd(8) === 0) await json(t.collect('/v1/identify', { ...ids, traits: { plan: ['pro', 'free'][rnd(2)] }, timestamp: when }));
      else {
        const event = ['Order Completed', 'Order Completed', 'Signed Up', 'Product Viewed', 'Other'][rnd(5)];
        await json(t.collect('/v1/track', { ...ids, event, properties: { total: rnd(30) }, timestamp: when }));
      }
      clock.advance(rnd(6) * 3_600_000);
      if (rnd(15) === 0) await t.settle();
    }
    await t.settle();
    for (const k of keys.filter((k) => !early.includes(k))) await json(t.admin('/audiences', { method: 'POST', json: { key: key(k), condition: rewrite(DEFINITIONS[k]) } }), 201);
    await t.settle();

    let compared = 0;
    for (const step of [0, DAY, 2 * DAY + 3_600_000, 6 * DAY, 13 * DAY]) {
      clock.advance(step);
      await t.settle();
      for (const k of keys) {
        const streaming = await members(key(k));
        expect(streaming, `${k} at +${step}`).toEqual(await sql(rewrite(DEFINITIONS[k])));
        compared += streaming.length;
      }
    }
    expect(compared).toBeGreaterThan(0);
  }, 120_000);
});
