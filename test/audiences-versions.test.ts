// Zero-downtime definition changes (issue #7 item 3; docs/audiences.md, "Changing a definition"): a changed
// audience or computed trait is backfilled beside the active version, which keeps answering the API and triggering
// journeys, then one transaction switches every profile, with each membership change's event emitted once.
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/core/clock.js';
import { startTandem, type Running } from './harness.js';

const T0 = Date.UTC(2026, 4, 4, 9, 0, 0);

let running: Running | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

async function json<T = any>(res: Response | Promise<Response>, status = 200): Promise<T> {
  const r = await res;
  const text = await r.text();
  expect(r.status, text).toBe(status);
  return (text ? JSON.parse(text) : undefined) as T;
}

async function setup(): Promise<{ t: Running; clock: ManualClock; ids: Map<string, string>; user: (id: string) => string; settle: () => Promise<void> }> {
  const clock = new ManualClock(T0);
  const t = (running = await startTandem({ clock }));
  const ids = new Map<string, string>();
  const settle = async () => {
    await t.settle();
    await t.app.journeys.drain();
    await t.settle();
  };
  const user = (profileId: string) => [...ids].find(([, p]) => p === profileId)?.[0] ?? profileId;
  return { t, clock, ids, user, settle };
}

const track = (t: Running, userId: string, event: string, properties: Record<string, unknown> = {}) => json(t.collect('/v1/track', { userId, event, properties }));
const lookup = async (t: Running, userId: string) => json(t.admin(`/profiles/lookup?type=user_id&value=${userId}`));
const members = async (t: Running, key: string) => (await json(t.admin(`/audiences/${key}/members?limit=1000`))).data.map((m: { profileId: string }) => m.profileId) as string[];
const membershipEvents = async (t: Running, event: string): Promise<{ userId: string; properties: { audience: string } }[]> =>
  (await json(t.admin(`/events?type=track&event=${encodeURIComponent(event)}&limit=1000`))).data.map((e: any) => e.message);
const names = (list: string[], user: (p: string) => string) => list.map(user).sort();

describe('a changed audience is backfilled beside the old version', () => {
  it('while it backfills the old membership keeps answering the API and journeys keep getting entries; then it switches with no gap, events once', async () => {
    const { t, clock, ids, user, settle } = await setup();
    // v1: viewed a product. u0..u5 viewed; u3..u8 ordered; u9 did neither.
    await json(t.admin('/audiences', { method: 'POST', json: { key: 'shoppers', condition: { performed: 'Product Viewed' } } }), 201);
    await json(t.admin('/journeys', { method: 'POST', json: { key: 'greet', trigger: { type: 'audience_entered', audience: 'shoppers' }, start: 'hold', nodes: { hold: { type: 'wait', duration: '30d' } } } }), 201);
    for (let i = 0; i < 10; i++) {
      await json(t.collect('/v1/identify', { userId: `u${i}`, traits: { n: i } }));
      if (i <= 5) await track(t, `u${i}`, 'Product Viewed');
      if (i >= 3 && i <= 8) await track(t, `u${i}`, 'Order Completed', { total: 10 * i });
    }
    await settle();
    for (let i = 0; i < 10; i++) ids.set(`u${i}`, (await lookup(t, `u${i}`)).id);
    expect(names(await members(t, 'shoppers'), user)).toEqual(['u0', 'u1', 'u2', 'u3', 'u4', 'u5']);
    expect((await json(t.admin('/journeys/greet/stats'))).entries).toBe(6);
    expect(await json(t.admin('/audiences/shoppers/backfill'))).toMatchObject({ state: 'active', version: 1 });

    // Hold the backfill of the change after its first chunk of 3 profiles.
    let chunks = 0;
    let release = false;
    t.app.apply.backfillTuning.chunk = 3;
    t.app.apply.backfillTuning.beforeChunk = () => (release || chunks < 1 ? (chunks++, true) : false);
    clock.advance(60_000);
    await json(t.admin('/audiences/shoppers', { method: 'PUT', json: { key: 'shoppers', condition: { performed: 'Order Completed' } } }));
    await settle();
    expect(chunks).toBe(1);
    const progress = await json(t.admin('/audiences/shoppers/backfill'));
    expect(progress).toMatchObject({ kind: 'audiences', key: 'shoppers', state: 'backfilling', mode: 'shadow', version: 2, activeVersion: 1, profilesDone: 3, profilesTotal: 10, startedAt: new Date(T0 + 60_000).toISOString() });
    expect((await json(t.admin('/backfills'))).data).toEqual([progress]);

    // Mid-way: the API answers the old membership, for every profile, backfilled or not.
    expect(names(await members(t, 'shoppers'), user)).toEqual(['u0', 'u1', 'u2', 'u3', 'u4', 'u5']);
    for (let i = 0; i < 10; i++) expect((await lookup(t, `u${i}`)).audiences, `u${i}`).toEqual(i <= 5 ? ['shoppers'] : []);
    // Live events keep the old version answering (u10 enters by v1 and is greeted) and reach the new one.
    clock.advance(60_000);
    await track(t, 'u10', 'Product Viewed');
    await track(t, 'u11', 'Order Completed', { total: 5 });
    await settle();
    ids.set('u10', (await lookup(t, 'u10')).id);
    ids.set('u11', (await lookup(t, 'u11')).id);
    expect(names(await members(t, 'shoppers'), user)).toEqual(['u0', 'u1', 'u10', 'u2', 'u3', 'u4', 'u5']);
    expect((await json(t.admin('/journeys/greet/stats'))).entries).toBe(7);
    expect((await json(t.admin('/audiences/shoppers/backfill'))).state).toBe('backfilling');
    const enteredBefore = (await membershipEvents(t, 'Audience Entered')).length;
    const exitedBefore = (await membershipEvents(t, 'Audience Exited')).length;
    expect([enteredBefore, exitedBefore]).toEqual([7, 0]);

    // Let it finish: one switch; the members are v2's; each changed profile's event once.
    release = true;
    clock.advance(60_000);
    t.app.apply.wake();
    await settle();
    expect(await json(t.admin('/audiences/shoppers/backfill'))).toEqual({ kind: 'audiences', key: 'shoppers', state: 'active', version: 2 });
    expect(t.app.apply.stats.switches).toBe(1);
    expect(t.app.apply.stats.backfillDisagreements).toBe(0);
    expect(names(await members(t, 'shoppers'), user)).toEqual(['u11', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8']);
    const enteredAll = await membershipEvents(t, 'Audience Entered');
    const entered = enteredAll.slice(0, enteredAll.length - enteredBefore); // newest first
    const exited = await membershipEvents(t, 'Audience Exited');
    expect(entered.map((m) => m.userId).sort()).toEqual(['u11', 'u6', 'u7', 'u8']);
    expect(exited.map((m) => m.userId).sort()).toEqual(['u0', 'u1', 'u10', 'u2']);
    // All at the switch, with the history to match: the stayers keep their first entry.
    const history = (await json(t.admin(`/profiles/${ids.get('u6')}/events?limit=100`))).data.map((e: any) => e.message).filter((m: any) => m.event === 'Audience Entered');
    expect(history.map((m: any) => m.timestamp)).toEqual([new Date(T0 + 180_000).toISOString()]);
    expect((await json(t.admin('/journeys/greet/stats'))).entries).toBe(11);

    // Nothing left over: later events are evaluated by v2 alone.
    await track(t, 'u9', 'Order Completed', { total: 1 });
    await track(t, 'u0', 'Product Viewed');
    await settle();
    expect(names(await members(t, 'shoppers'), user)).toEqual(['u11', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8', 'u9']);
    expect((await membershipEvents(t, 'Audience Entered')).length).toBe(enteredBefore + 5);
  });

  it('a changed computed trait answers its old values until the switch; an audience reading it follows at the switch', async () => {
    const { t, clock, ids, user, settle } = await setup();
    await json(t.admin('/traits', { method: 'POST', json: { key: 'orders', event: 'Order Completed', compute: { count: true } } }), 201);
    await json(t.admin('/audiences', { method: 'POST', json: { key: 'big', condition: { computed: 'orders', gte: 30 } } }), 201);
    const totals = [10, 20, 30, 40, 50];
    for (const [i, total] of totals.entries()) {
      await track(t, `c${i}`, 'Order Completed', { total });
      await track(t, `c${i}`, 'Order Completed', { total });
    }
    await settle();
    const c = await Promise.all(totals.map((_, i) => lookup(t, `c${i}`)));
    c.forEach((p, i) => ids.set(`c${i}`, p.id));
    expect(c.map((p) => p.computed.orders)).toEqual([2, 2, 2, 2, 2]);
    expect(await members(t, 'big')).toEqual([]);

    let release = false;
    t.app.apply.backfillTuning.chunk = 2;
    t.app.apply.backfillTuning.beforeChunk = () => release;
    clock.advance(1000);
    await json(t.admin('/traits/orders', { method: 'PUT', json: { key: 'orders', event: 'Order Completed', compute: { sum: 'total' } } }));
    await settle();
    expect(await json(t.admin('/traits/orders/backfill'))).toMatchObject({ state: 'backfilling', mode: 'shadow', version: 2, activeVersion: 1, profilesDone: 0, profilesTotal: 5 });
    expect((await Promise.all(totals.map((_, i) => lookup(t, `c${i}`)))).map((p) => p.computed.orders)).toEqual([2, 2, 2, 2, 2]);
    // A live event counts by v1 (3 orders) while v2 waits.
    await track(t, 'c0', 'Order Completed', { total: 5 });
    await settle();
    expect((await lookup(t, 'c0')).computed.orders).toBe(3);

    release = true;
    t.app.apply.wake();
    await settle();
    // Sums of totals: c0 10+10+5, c1 40, c2 60, c3 80, c4 100; `big` (>= 30) follows at the switch.
    expect((await Promise.all(totals.map((_, i) => lookup(t, `c${i}`)))).map((p) => p.computed.orders)).toEqual([25, 40, 60, 80, 100]);
    expect(names(await members(t, 'big'), user)).toEqual(['c1', 'c2', 'c3', 'c4']);
    expect((await Promise.all(totals.map((_, i) => lookup(t, `c${i}`)))).map((p) => p.audiences)).toEqual([[], ['big'], ['big'], ['big'], ['big']]);
    expect((await membershipEvents(t, 'Audience Entered')).length).toBe(4);
    expect(await json(t.admin('/traits/orders/backfill'))).toEqual({ kind: 'traits', key: 'orders', state: 'active', version: 2 });
  });

  it('changed again mid-backfill: the newest version is backfilled and switched in; the one in between never answers', async () => {
    const { t, ids, user, settle } = await setup();
    for (let i = 0; i < 6; i++) {
      await track(t, `u${i}`, i % 2 ? 'Product Viewed' : 'Order Completed');
      if (i % 3 === 0) await track(t, `u${i}`, 'Signed Up');
    }
    await settle();
    for (let i = 0; i < 6; i++) ids.set(`u${i}`, (await lookup(t, `u${i}`)).id);
    let open = false;
    t.app.apply.backfillTuning.chunk = 2;
    t.app.apply.backfillTuning.beforeChunk = () => open;
    // A new audience changed before its first backfill ran: no version is complete, the newest starts as new.
    await json(t.admin('/audiences', { method: 'POST', json: { key: 'a', condition: { performed: 'Signed Up' } } }), 201);
    await json(t.admin('/audiences/a', { method: 'PUT', json: { key: 'a', condition: { performed: 'Product Viewed' } } }));
    expect(await json(t.admin('/audiences/a/backfill'))).toMatchObject({ state: 'backfilling', mode: 'new', version: 2 });
    open = true;
    t.app.apply.wake();
    await settle();
    expect(names(await members(t, 'a'), user)).toEqual(['u1', 'u3', 'u5']);

    // v3, then v4 before v3's backfill ran: v4 replaces v3 as the shadow, and v2 (Product Viewed) keeps answering.
    open = false;
    await json(t.admin('/audiences/a', { method: 'PUT', json: { key: 'a', condition: { performed: 'Signed Up' } } }));
    await json(t.admin('/audiences/a', { method: 'PUT', json: { key: 'a', condition: { performed: 'Order Completed' } } }));
    expect(await json(t.admin('/audiences/a/backfill'))).toMatchObject({ state: 'backfilling', mode: 'shadow', version: 4, activeVersion: 2, profilesDone: 0 });
    expect(names(await members(t, 'a'), user)).toEqual(['u1', 'u3', 'u5']);
    open = true;
    t.app.apply.wake();
    await settle();
    expect(await json(t.admin('/audiences/a/backfill'))).toEqual({ kind: 'audiences', key: 'a', state: 'active', version: 4 });
    expect(names(await members(t, 'a'), user)).toEqual(['u0', 'u2', 'u4']);
    // v3 (Signed Up) never answered: u3, who signed up but never ordered, did not enter again; every change once.
    const entered = (await membershipEvents(t, 'Audience Entered')).map((m) => m.userId).sort();
    expect(entered).toEqual(['u0', 'u1', 'u2', 'u3', 'u4', 'u5']);
    expect((await membershipEvents(t, 'Audience Exited')).map((m) => m.userId).sort()).toEqual(['u1', 'u3', 'u5']);
    expect(t.app.apply.stats.switches).toBe(1);
  });

  it('progress routes name what is missing', async () => {
    const { t } = await setup();
    const r = await json(t.admin('/audiences/nope/backfill'), 404);
    expect(r.error.message).toContain("audience 'nope'");
    expect((await json(t.admin('/backfills'))).data).toEqual([]);
  });
});
