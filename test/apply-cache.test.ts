import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/core/clock.js';
import { startTandem, type Running } from './harness.js';

/**
 * The apply stage keeps recently applied profiles' committed state in memory (pipeline.profileStateCache). The same
 * random history (identifies, anonymous profiles merged into known ones, windowed conditions whose timers fire as the
 * clock moves, a computed trait, a definition changed mid-stream and switched, one deleted) goes through three
 * Tandems: no cache, a cache of two profiles (constant eviction) and the default cache. Every profile's computed
 * values and audiences, and every audience's change history, must be the same in all three.
 */
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 4, 1);
const SIZES = [0, 2, 100_000];

const AUDIENCES: Record<string, unknown> = {
  recent: { performed: 'Order Completed', within: '2d' },
  repeat: { performed: 'Order Completed', count: { gte: 2 }, within: '5d' },
  pro: { any: [{ trait: 'plan', eq: 'pro' }, { in_audience: 'repeat' }] },
  known: { all: [{ in_audience: 'recent' }, { has_identifier: 'user_id' }] },
  spenders: { computed: 'orders_3d', gte: 2 },
  viewers: { performed: 'Product Viewed' },
  // Consent changed through the API, read when an order re-evaluates it (an order changes no facts of its own).
  news_buyers: { all: [{ subscribed: 'news' }, { performed: 'Order Completed' }] },
};

let runs: { t: Running; clock: ManualClock }[] = [];
beforeAll(async () => {
  runs = await Promise.all(
    SIZES.map(async (size) => {
      const clock = new ManualClock(T0);
      return { clock, t: await startTandem({ clock, config: { pipeline: { profileStateCache: size } } }) };
    }),
  );
}, 120_000);
afterAll(async () => {
  await Promise.all(runs.map((r) => r.t.stop()));
});

async function json(res: Promise<Response>, status = 200): Promise<any> {
  const r = await res;
  const text = await r.text();
  expect(r.status, text).toBe(status);
  return text ? JSON.parse(text) : undefined;
}

/** Each step runs on every Tandem, one after another, so that all see the same calls at the same clock. */
async function each(step: (t: Running, clock: ManualClock) => Promise<unknown>): Promise<void> {
  for (const r of runs) await step(r.t, r.clock);
}

describe('apply state cache', () => {
  it('gives the same computed values, memberships and membership history with no cache, a tiny one and the default', async () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), Math.floor((seed / 2147483648) * n));
    await each((t) => json(t.admin('/traits', { method: 'POST', json: { key: 'orders_3d', event: 'Order Completed', within: '3d', compute: { count: true } } }), 201));
    for (const [key, condition] of Object.entries(AUDIENCES)) await each((t) => json(t.admin('/audiences', { method: 'POST', json: { key, condition } }), 201));
    await each((t) => t.settle());

    const users = Array.from({ length: 12 }, (_, i) => `u${i}`);
    const calls: { path: string; body: Record<string, unknown>; advance: number }[] = [];
    for (let i = 0; i < 160; i++) {
      const user = users[rnd(users.length)];
      const r = rnd(10);
      const ids = r < 3 ? { anonymousId: `${user}-anon` } : r < 5 ? { userId: user, anonymousId: `${user}-anon` } : { userId: user };
      const body = rnd(8) === 0
        ? { ...ids, traits: { plan: ['pro', 'free'][rnd(2)] } }
        : { ...ids, event: ['Order Completed', 'Order Completed', 'Product Viewed', 'Other'][rnd(4)], properties: { total: rnd(30) } };
      calls.push({ path: 'traits' in body ? '/v1/identify' : '/v1/track', body, advance: rnd(8) * 3_600_000 });
    }
    let i = 0;
    const unmerges: number[] = [];
    for (const call of calls) {
      await each(async (t, clock) => {
        await json(t.collect(call.path, { ...call.body, timestamp: new Date(clock.now()).toISOString() }));
        clock.advance(call.advance);
        // Settled after every call: how far the resolve stage runs ahead of the apply stage depends on timing, and
        // with it the facts a step reads (so the order of transient membership changes); settled, it never does.
        await t.settle();
      });
      i++;
      if (i === 80) {
        // Mid-stream: one definition changes (backfilled as a shadow, then switched), one is deleted.
        await each(async (t) => {
          await t.settle();
          await json(t.admin('/audiences/recent', { method: 'PUT', json: { key: 'recent', condition: { performed: 'Order Completed', within: '1d' } } }));
          await json(t.admin('/audiences/viewers', { method: 'DELETE' }), 204);
          await t.settle();
        });
      }
      if (i === 110) {
        // Facts changed outside the stream: consent through the API, the survivorship rules, an unmerge.
        await each(async (t) => {
          await t.settle();
          for (const user of ['u1', 'u2', 'u5']) {
            const res = await t.admin(`/profiles/lookup?type=user_id&value=${user}`);
            if (res.status !== 200) continue;
            const p = await res.json();
            await json(t.admin(`/profiles/${p.id}/subscriptions/news`, { method: 'PUT', json: { status: 'subscribed' } }));
            await json(t.collect('/v1/track', { userId: user, event: 'Order Completed', properties: { total: 1 }, timestamp: new Date(t.app.clock.now()).toISOString() }));
          }
          await t.settle();
        });
      }
      if (i === 125) {
        await each(async (t) => {
          const res = await t.admin('/profiles/lookup?type=user_id&value=u3');
          if (res.status === 200) {
            const p = await res.json();
            const r = await t.admin(`/profiles/${p.id}/unmerge`, { method: 'POST', json: { identifier: { type: 'anonymous_id', value: 'u3-anon' } } });
            unmerges.push(r.status);
          }
          await t.settle();
        });
      }
      if (i === 140) {
        await each(async (t) => {
          await json(t.admin('/identity-rules/default', { method: 'PUT', json: { key: 'default', survivorship: { default: 'first' } } }));
          await t.settle();
        });
      }
    }
    // The warehouse mirror (SQL previews read its computed values and memberships) holds the same in every run:
    // here, with windows still open, and at the end, after the timers.
    const previews = async (t: Running) => {
      const sizes: number[] = [];
      for (const condition of [{ computed: 'orders_3d', gte: 1 }, { in_audience: 'pro' }, { in_audience: 'news_buyers' }, { in_audience: 'known' }]) {
        sizes.push((await json(t.admin('/audiences/preview', { method: 'POST', json: { condition, sample: 0 } }))).size);
      }
      return sizes;
    };
    const open = [await previews(runs[0].t), await previews(runs[1].t), await previews(runs[2].t)];
    expect(open[0].every((n) => n > 0), JSON.stringify(open[0])).toBe(true);
    expect(open[1]).toEqual(open[0]);
    expect(open[2]).toEqual(open[0]);

    // Timers: windows close as the clock moves on with no new events.
    for (let d = 0; d < 6; d++) await each(async (t, clock) => (clock.advance(DAY), t.app.apply.wake(), t.settle()));

    const snapshot = async (t: Running) => {
      const profiles: Record<string, unknown> = {};
      for (const user of users) {
        for (const [type, value] of [['user_id', user], ['anonymous_id', `${user}-anon`]]) {
          const res = await t.admin(`/profiles/lookup?type=${type}&value=${value}`);
          if (res.status === 404) continue;
          const p = await json(Promise.resolve(res));
          profiles[`${type}:${value}`] = { computed: p.computed, audiences: p.audiences, identifiers: p.identifiers.map((x: { type: string; value: string }) => `${x.type}:${x.value}`).sort() };
        }
      }
      const sizes: Record<string, { size: number; points: number[] }> = {};
      for (const key of Object.keys(AUDIENCES).filter((k) => k !== 'viewers')) {
        const s = await json(t.admin(`/audiences/${key}/size?from=${new Date(T0 - DAY).toISOString()}&to=${new Date(T0 + 60 * DAY).toISOString()}`));
        sizes[key] = { size: s.size, points: s.points.map((p: { size: number }) => p.size) };
      }
      return { profiles, sizes, previews: await previews(t) };
    };
    const [none, tiny, full] = [await snapshot(runs[0].t), await snapshot(runs[1].t), await snapshot(runs[2].t)];
    // The history did something: profiles entered and left audiences, and a trait has values.
    expect(Object.keys(none.profiles).length).toBeGreaterThan(10);
    expect(Object.values(none.sizes).some((s) => (s as { points: number[] }).points.length > 5)).toBe(true);
    expect(new Set(unmerges).size).toBe(1); // the same answer in every run
    expect(none.sizes.news_buyers.size).toBeGreaterThanOrEqual(2);
    expect(tiny).toEqual(none);
    expect(full).toEqual(none);
    // The caches were used (the tiny one mostly missed), the disabled one never.
    expect(runs[0].t.app.apply.stats.cacheHits).toBe(0);
    expect(runs[2].t.app.profileFacts.stats.hits).toBeGreaterThan(50);
    expect(runs[0].t.app.profileFacts.stats.hits).toBe(0);
    expect(runs[2].t.app.apply.stats.cacheHits).toBeGreaterThan(runs[1].t.app.apply.stats.cacheHits);
    expect(runs[2].t.app.apply.stats.cacheHits).toBeGreaterThan(50);
  });
});
