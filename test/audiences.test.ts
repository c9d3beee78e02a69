import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/core/clock.js';
import { startTandem, type Running } from './harness.js';

const DAY = 86_400_000;
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
const profileOf = (t: Running, type: string, value: string) => json(t.admin(`/profiles/lookup?type=${type}&value=${encodeURIComponent(value)}`));
const createAudience = (t: Running, key: string, condition: unknown) => json(t.admin('/audiences', { method: 'POST', json: { key, name: key, condition } }), 201);
const members = async (t: Running, key: string): Promise<string[]> => {
  const out: string[] = [];
  for (let after = ''; ;) {
    const page = await json(t.admin(`/audiences/${key}/members?limit=1000${after ? `&after=${after}` : ''}`));
    out.push(...page.data.map((m: { profileId: string }) => m.profileId));
    if (!page.next) return out;
    after = page.next;
  }
};
const timeline = async (t: Running, profileId: string) => (await json(t.admin(`/profiles/${profileId}/events?limit=1000`))).data.map((e: any) => e.message);

describe('audiences through the real server', () => {
  it('a windowed audience: member after an order, exits exactly 30 days later by a timer, with an Audience Exited event', async () => {
    const clock = new ManualClock(T0);
    const t = await start(clock);
    await createAudience(t, 'recent-buyers', { performed: 'Order Completed', within: '30d' });
    await track(t, 'u1', 'Order Completed', { properties: { total: 30 } });
    await t.settle();
    const p = await profileOf(t, 'user_id', 'u1');
    expect(await members(t, 'recent-buyers')).toEqual([p.id]);
    expect(p.audiences).toEqual(['recent-buyers']);
    const entered = (await timeline(t, p.id)).filter((m: any) => m.event === 'Audience Entered');
    expect(entered).toHaveLength(1);
    expect(entered[0]).toMatchObject({ timestamp: iso(T0), properties: { audience: 'recent-buyers', profile_id: p.id } });

    clock.set(T0 + 30 * DAY - 1);
    await t.settle();
    expect(await members(t, 'recent-buyers')).toEqual([p.id]);

    // No new event and no drain: the stage's timer wakes it at the instant.
    clock.set(T0 + 30 * DAY + 5000);
    for (let i = 0; i < 200 && (await members(t, 'recent-buyers')).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await members(t, 'recent-buyers')).toEqual([]);
    await t.settle();
    const exited = (await timeline(t, p.id)).filter((m: any) => m.event === 'Audience Exited');
    expect(exited).toHaveLength(1);
    expect(exited[0].timestamp).toBe(iso(T0 + 30 * DAY));
    expect((await profileOf(t, 'user_id', 'u1')).audiences).toEqual([]);
    const size = await json(t.admin(`/audiences/recent-buyers/size?from=${iso(T0 - DAY)}&to=${iso(T0 + 31 * DAY)}`));
    expect(size).toEqual({ size: 0, before: 0, points: [{ at: iso(T0), size: 1 }, { at: iso(T0 + 30 * DAY), size: 0 }] });
  });

  it('"no order in 30 days and signed up" is entered at the exact instant the window closes', async () => {
    const clock = new ManualClock(T0);
    const t = await start(clock);
    await createAudience(t, 'lapsed', { all: [{ not: { performed: 'Order Completed', within: '30d' } }, { performed: 'Signed Up' }] });
    await track(t, 'u2', 'Signed Up');
    await t.settle();
    const p = await profileOf(t, 'user_id', 'u2');
    expect(await members(t, 'lapsed')).toEqual([p.id]); // signed up, never ordered
    clock.advance(3_600_000);
    await track(t, 'u2', 'Order Completed');
    await t.settle();
    expect(await members(t, 'lapsed')).toEqual([]);
    const orderAt = T0 + 3_600_000;
    clock.set(orderAt + 30 * DAY - 1);
    await t.settle();
    expect(await members(t, 'lapsed')).toEqual([]);
    clock.set(orderAt + 45 * DAY);
    await t.settle();
    expect(await members(t, 'lapsed')).toEqual([p.id]);
    const entered = (await timeline(t, p.id)).filter((m: any) => m.event === 'Audience Entered').map((m: any) => m.timestamp).sort();
    expect(entered).toEqual([iso(T0), iso(orderAt + 30 * DAY)]);
    const page = await json(t.admin('/audiences/lapsed/members'));
    expect(page.data).toEqual([{ profileId: p.id, enteredAt: iso(orderAt + 30 * DAY) }]);
  });

  it('a merge re-evaluates the surviving profile at once', async () => {
    const clock = new ManualClock(T0);
    const t = await start(clock);
    await createAudience(t, 'viewers', { performed: 'Product Viewed' });
    await createAudience(t, 'known-viewers', { all: [{ performed: 'Product Viewed' }, { has_identifier: 'user_id' }] });
    await json(t.collect('/v1/identify', { userId: 'u3', traits: { plan: 'pro' } }));
    clock.advance(1000);
    await json(t.collect('/v1/track', { anonymousId: 'anon-3', event: 'Product Viewed' }));
    await t.settle();
    const anon = await profileOf(t, 'anonymous_id', 'anon-3');
    const known = await profileOf(t, 'user_id', 'u3');
    expect(anon.id).not.toBe(known.id);
    expect(await members(t, 'viewers')).toEqual([anon.id]);
    expect(await members(t, 'known-viewers')).toEqual([]);

    clock.advance(1000);
    await json(t.collect('/v1/track', { userId: 'u3', anonymousId: 'anon-3', event: 'Page Loaded' }));
    await t.settle();
    const merged = await profileOf(t, 'user_id', 'u3');
    expect(merged.mergedFrom.length).toBe(1);
    expect(merged.audiences).toEqual(['known-viewers', 'viewers']);
    expect(await members(t, 'viewers')).toEqual([merged.id]);
    expect(await members(t, 'known-viewers')).toEqual([merged.id]);
    // The survivor entered known-viewers at the merge; the merged-away id left without an Audience Exited event.
    const events = (await timeline(t, merged.id)).filter((m: any) => m.event?.startsWith('Audience '));
    expect(events.filter((m: any) => m.event === 'Audience Exited')).toEqual([]);
    expect(events.filter((m: any) => m.properties.audience === 'known-viewers').map((m: any) => [m.event, m.timestamp])).toEqual([['Audience Entered', iso(T0 + 2000)]]);
  });

  it('audiences of audiences: references are checked, cycles refused with their path', async () => {
    const clock = new ManualClock(T0);
    const t = await start(clock);
    const unknown = await json(t.admin('/audiences', { method: 'POST', json: { key: 'a', condition: { all: [{ performed: 'X' }, { in_audience: 'nope' }] } } }), 400);
    expect(unknown.error).toMatchObject({ code: 'unknown_audience', path: 'condition.all[1].in_audience' });
    const invalid = await json(t.admin('/audiences', { method: 'POST', json: { key: 'a', condition: { performed: 'X', within: 'soon' } } }), 400);
    expect(invalid.error).toMatchObject({ code: 'invalid_condition', path: 'condition.within' });
    const self = await json(t.admin('/audiences', { method: 'POST', json: { key: 'z', condition: { in_audience: 'z' } } }), 409);
    expect(self.error).toMatchObject({ code: 'audience_cycle', path: 'condition.in_audience' });
    await createAudience(t, 'x', { performed: 'X' });
    await createAudience(t, 'y', { in_audience: 'x' });
    await createAudience(t, 'w', { all: [{ in_audience: 'y' }, { performed: 'W' }] });
    const cycle = await json(t.admin('/audiences/x', { method: 'PUT', json: { key: 'x', condition: { any: [{ performed: 'X' }, { in_audience: 'w' }] } } }), 409);
    expect(cycle.error.code).toBe('audience_cycle');
    expect(cycle.error.path).toBe('condition.any[1].in_audience');
    expect(cycle.error.message).toContain('x -> w -> y -> x');
    const inUse = await json(t.admin('/audiences/x', { method: 'DELETE' }), 409);
    expect(inUse.error.code).toBe('in_use');

    await track(t, 'u1', 'X');
    await track(t, 'u2', 'X');
    await track(t, 'u2', 'W');
    await t.settle();
    const [p1, p2] = [await profileOf(t, 'user_id', 'u1'), await profileOf(t, 'user_id', 'u2')];
    expect((await members(t, 'y')).sort()).toEqual([p1.id, p2.id].sort());
    expect(await members(t, 'w')).toEqual([p2.id]);
  });

  it('preview answers size and sample with SQL; members page and export as CSV', async () => {
    const clock = new ManualClock(T0);
    const t = await start(clock);
    await createAudience(t, 'buyers', { performed: 'Order Completed' });
    for (let i = 0; i < 5; i++) await track(t, `buyer-${i}`, 'Order Completed', { properties: { total: i * 10 } });
    await track(t, 'browser', 'Product Viewed');
    await t.settle();
    const all = await members(t, 'buyers');
    expect(all).toHaveLength(5);
    const preview = await json(t.admin('/audiences/preview', { method: 'POST', json: { condition: { performed: 'Order Completed', where: [{ property: 'total', gte: 20 }] }, sample: 2 } }));
    expect(preview.size).toBe(3);
    expect(preview.sample).toHaveLength(2);
    const expected = [];
    for (const i of [2, 3, 4]) expected.push((await profileOf(t, 'user_id', `buyer-${i}`)).id);
    expect(preview.sample).toEqual(expected.sort().slice(0, 2));
    const bad = await json(t.admin('/audiences/preview', { method: 'POST', json: { condition: { performed: 'Order Completed', count: { gte: -1 } } } }), 400);
    expect(bad.error.path).toBe('condition.count.gte');

    const page1 = await json(t.admin('/audiences/buyers/members?limit=2'));
    const page2 = await json(t.admin(`/audiences/buyers/members?limit=2&after=${page1.next}`));
    const page3 = await json(t.admin(`/audiences/buyers/members?limit=2&after=${page2.next}`));
    expect(page3.next).toBeUndefined();
    expect([...page1.data, ...page2.data, ...page3.data].map((m: any) => m.profileId)).toEqual([...all].sort());
    const csv = await t.admin('/audiences/buyers/members.csv');
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const lines = (await csv.text()).trim().split('\n');
    expect(lines[0]).toBe('profile_id,entered_at');
    expect(lines.slice(1)).toEqual([...all].sort().map((id) => `${id},${iso(T0)}`));
  });

  it('a computed trait feeds an audience; deleting a trait an audience reads is refused', async () => {
    const clock = new ManualClock(T0);
    const t = await start(clock);
    await json(t.admin('/traits', { method: 'POST', json: { key: 'orders_7d', event: 'Order Completed', within: '7d', compute: { count: true } } }), 201);
    await createAudience(t, 'frequent', { computed: 'orders_7d', gte: 2 });
    await track(t, 'u1', 'Order Completed');
    clock.advance(DAY);
    await track(t, 'u1', 'Order Completed');
    await t.settle();
    const p = await profileOf(t, 'user_id', 'u1');
    expect(p.computed).toEqual({ orders_7d: 2 });
    expect(p.audiences).toEqual(['frequent']);
    clock.set(T0 + 7 * DAY);
    await t.settle();
    const later = await profileOf(t, 'user_id', 'u1');
    expect(later.computed).toEqual({ orders_7d: 1 });
    expect(later.audiences).toEqual([]);
    expect((await json(t.admin('/traits/orders_7d', { method: 'DELETE' }), 409)).error.code).toBe('in_use');
  });

  it('a backfilled audience over existing history equals the streaming one and the SQL answer, for every profile', async () => {
    const clock = new ManualClock(T0);
    const t = await start(clock);
    const condition = { all: [{ performed: 'Order Completed', within: '10d', count: { gte: 2 } }, { not: { performed: 'Refund Requested' } }] };
    await createAudience(t, 'streamed', condition);
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
    for (let i = 0; i < 60; i++) {
      const user = `u${rnd(12)}`;
      const event = ['Order Completed', 'Order Completed', 'Refund Requested', 'Product Viewed'][rnd(4)];
      await track(t, user, event, { timestamp: iso(clock.now() - rnd(15) * DAY) });
      clock.advance(rnd(3) * 3_600_000);
    }
    await t.settle();
    await createAudience(t, 'backfilled', condition);
    await t.settle();
    const streamed = await members(t, 'streamed');
    expect(streamed.length).toBeGreaterThan(0);
    expect(await members(t, 'backfilled')).toEqual(streamed);
    expect((await json(t.admin('/audiences/preview', { method: 'POST', json: { condition, sample: 1000 } }))).sample).toEqual(streamed);
    clock.advance(6 * DAY);
    await t.settle();
    const later = await members(t, 'streamed');
    expect(await members(t, 'backfilled')).toEqual(later);
    expect((await json(t.admin('/audiences/preview', { method: 'POST', json: { condition, sample: 1000 } }))).sample).toEqual(later);
  });

  it('survives a restart mid-stream: no membership event lost or repeated', async () => {
    const clock = new ManualClock(T0);
    const first = await start(clock);
    const dataDir = first.dataDir;
    await createAudience(first, 'buyers', { performed: 'Order Completed', within: '1d' });
    for (let i = 0; i < 20; i++) await track(first, `u${i}`, 'Order Completed');
    await first.app.events.drain();
    await first.app.resolve.drain();
    // Stop mid-stream: part of the history applied, none of its membership events necessarily appended.
    await first.app.http.close();
    await first.app.close();
    running = running.filter((r) => r !== first);
    const second = await start(clock, dataDir);
    const auth = `Basic ${Buffer.from(`${first.writeKey}:`).toString('base64')}`;
    for (let i = 20; i < 30; i++) {
      await json(fetch(`${second.url}/v1/track`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: JSON.stringify({ userId: `u${i}`, event: 'Order Completed' }) }));
    }
    await second.settle();
    expect(await members(second, 'buyers')).toHaveLength(30);
    clock.advance(2 * DAY);
    await second.settle();
    expect(await members(second, 'buyers')).toHaveLength(0);
    const entered = await json(second.admin('/events?event=Audience%20Entered&limit=1000'));
    const exited = await json(second.admin('/events?event=Audience%20Exited&limit=1000'));
    expect(entered.data).toHaveLength(30);
    expect(exited.data).toHaveLength(30);
    expect(new Set(entered.data.map((e: any) => e.message.properties.profile_id)).size).toBe(30);
  });
});
