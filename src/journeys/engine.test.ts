import { afterEach, describe, expect, it } from 'vitest';
import { TandemError } from '../core/errors.js';
import { parseJourney } from './definition.js';
import { DAY, harness, HOUR, profile, type Harness } from './test-support.js';

const T0 = Date.UTC(2026, 0, 1); // 19:00 on Dec 31 in New York

const cart = (over: Record<string, unknown> = {}) => ({
  key: 'cart',
  trigger: { type: 'event', event: 'Product Added' },
  re_entry: { policy: 'always' },
  goal: { event: 'Order Completed', within: '3d' },
  start: 'wait_1h',
  nodes: {
    wait_1h: { type: 'wait', duration: '1h', next: 'check_stock' },
    check_stock: {
      type: 'branch',
      condition: { catalog: 'products', key_from: { last_event: 'Product Added', property: 'sku' }, where: [{ field: 'stock', gt: 0 }] },
      then: 'send_email', else: 'out_of_stock',
    },
    out_of_stock: { type: 'exit' },
    send_email: { type: 'send', channel: 'email', template: 'cart_reminder', next: 'wait_order' },
    wait_order: { type: 'wait_for_event', event: 'Order Completed', timeout: '24h', next: 'converted', timeout_next: 'send_sms' },
    converted: { type: 'exit' },
    send_sms: { type: 'send', channel: 'sms', template: 'cart_sms' },
  },
  ...over,
});

let h: Harness;
afterEach(async () => h?.close());

function setup(start = T0) {
  h = harness({ start });
  h.profiles.set('p1', profile('p1', { timezone: 'America/New_York', email: 'a@example.com' }));
  h.catalog.set('sku-1', { stock: 3 });
  h.catalog.set('sku-0', { stock: 0 });
  return h;
}

const sends = () => h.outbox().map((r) => ({ node: r.node, channel: r.channel, at: r.at, key: r.idempotencyKey }));

describe('cart abandonment', () => {
  it('sends the email after 1 h and the SMS 24 h later when no order comes', async () => {
    setup();
    await h.journeys.save('w', cart(), 'create');
    await h.emit('p1', 'Product Added', { sku: 'sku-1' });
    expect(h.outbox()).toEqual([]);
    await h.advance(HOUR - 1);
    expect(h.outbox()).toEqual([]);
    await h.advance(1);
    expect(sends()).toMatchObject([{ node: 'send_email', channel: 'email', at: T0 + HOUR }]);
    await h.advance(24 * HOUR);
    const rows = sends();
    expect(rows).toMatchObject([{ node: 'send_email', at: T0 + HOUR }, { node: 'send_sms', channel: 'sms', at: T0 + 25 * HOUR }]);
    const [instance] = h.journeys.store.activeOf('w', 'cart').concat(h.journeys.store.latestInstance('w', 'cart', 'p1')!);
    expect(rows.map((r) => r.key)).toEqual([`${instance.id}:send_email:1`, `${instance.id}:send_sms:1`]);
    expect(h.journeys.store.latestInstance('w', 'cart', 'p1')).toMatchObject({ status: 'completed', exitReason: 'completed' });
    expect(h.outbox()[0]).toMatchObject({ template: 'cart_reminder', payload: { event: { event: 'Product Added', properties: { sku: 'sku-1' } } } });
  });

  it('takes the goal path when the order comes within 24 h: conversion per journey and node, no SMS', async () => {
    setup();
    await h.journeys.save('w', cart(), 'create');
    await h.emit('p1', 'Product Added', { sku: 'sku-1' });
    await h.advance(5 * HOUR);
    await h.emit('p1', 'Order Completed', { total: 30 });
    await h.advance(3 * DAY);
    expect(sends().map((s) => s.node)).toEqual(['send_email']);
    const stats = h.journeys.stats('w', 'cart');
    expect(stats).toMatchObject({ entries: 1, conversions: 1, exits: { goal: 1 } });
    expect(stats.nodes.wait_order).toMatchObject({ conversions: 1 });
    expect(stats.nodes.send_email).toMatchObject({ sent: 1, attributed: 1 });
    expect(stats.nodes.send_sms).toBeUndefined();
  });

  it('without a goal rule the awaited event takes the next edge of wait_for_event', async () => {
    setup();
    await h.journeys.save('w', cart({ goal: undefined }), 'create');
    await h.emit('p1', 'Product Added', { sku: 'sku-1' });
    await h.advance(2 * HOUR);
    await h.emit('p1', 'Order Completed');
    expect(h.journeys.store.latestInstance('w', 'cart', 'p1')).toMatchObject({ status: 'exited', exitReason: 'exit_node', node: 'converted' });
  });

  it('out of stock: the branch takes else, nothing is sent and the trace shows the row it saw', async () => {
    setup();
    await h.journeys.save('w', cart(), 'create');
    await h.emit('p1', 'Product Added', { sku: 'sku-0' });
    await h.advance(2 * DAY);
    expect(h.outbox()).toEqual([]);
    const trace = h.journeys.trace('w', 'p1', 'cart');
    const branch = trace.trail.find((r) => r.node === 'check_stock')!;
    expect(branch.detail).toMatchObject({ result: false, next: 'out_of_stock', seen: [{ result: false, value: { key: 'sku-0', row: { stock: 0 } } }] });
    expect(trace.summary.join('\n')).toContain('check_stock: condition false, went to out_of_stock');
  });
});

describe('re-entry policies', () => {
  const simple = (re_entry: unknown) => ({
    key: 'welcome', trigger: { type: 'event', event: 'Signed Up' }, re_entry, start: 'hello',
    nodes: { hello: { type: 'send', channel: 'email', template: 'welcome', category: 'transactional' } },
  });

  it('never: one entry ever, and the trace says why the second did not enter', async () => {
    setup();
    await h.journeys.save('w', simple({ policy: 'never' }), 'create');
    await h.emit('p1', 'Signed Up');
    await h.advance(DAY);
    await h.emit('p1', 'Signed Up');
    expect(h.outbox()).toHaveLength(1);
    const trace = h.journeys.trace('w', 'p1', 'welcome');
    expect(trace.trail.filter((r) => r.kind === 'no_entry')).toMatchObject([{ detail: { reason: 're_entry', policy: 'never' } }]);
  });

  it('cooldown: refused within it, entered after', async () => {
    setup();
    await h.journeys.save('w', simple({ policy: 'cooldown', cooldown: '7d' }), 'create');
    await h.emit('p1', 'Signed Up');
    await h.advance(6 * DAY);
    await h.emit('p1', 'Signed Up');
    expect(h.outbox()).toHaveLength(1);
    await h.advance(DAY);
    await h.emit('p1', 'Signed Up');
    expect(h.outbox().map((r) => r.at)).toEqual([T0, T0 + 7 * DAY]);
  });

  it('unique_on: once per value of the property', async () => {
    setup();
    await h.journeys.save('w', { ...simple({ policy: 'unique_on', property: 'plan' }) }, 'create');
    await h.emit('p1', 'Signed Up', { plan: 'free' });
    await h.emit('p1', 'Signed Up', { plan: 'free' });
    await h.emit('p1', 'Signed Up', { plan: 'pro' });
    await h.emit('p1', 'Signed Up');
    expect(h.outbox()).toHaveLength(2);
    const reasons = h.journeys.trace('w', 'p1', 'welcome').trail.filter((r) => r.kind === 'no_entry').map((r) => r.detail.message);
    expect(reasons).toEqual(['entered before with plan = "free"', 'the trigger has no plan to be unique on']);
  });
});

describe('guardrails', () => {
  const promo = (key: string, priority: number, extra: Record<string, unknown> = {}) => ({
    key, priority, trigger: { type: 'event', event: 'Promo' }, re_entry: { policy: 'always' }, start: 'w',
    nodes: { w: { type: 'wait', duration: '1h', next: 's' }, s: { type: 'send', channel: 'email', template: key, ...extra } },
  });

  it('quiet hours defer (not drop) to their end in the profile time zone', async () => {
    setup(Date.UTC(2026, 0, 1, 1)); // 20:00 in New York
    await h.journeys.setGuardrails('w', { quiet_hours: { start: '21:00', end: '08:00' } });
    await h.journeys.save('w', promo('promo', 0), 'create');
    await h.emit('p1', 'Promo'); // the send falls at 21:00 New York
    await h.advance(HOUR);
    expect(h.outbox()).toEqual([]);
    await h.advance(DAY);
    expect(sends()).toMatchObject([{ node: 's', at: Date.UTC(2026, 0, 1, 13) }]); // 08:00 EST = 13:00 UTC
    const trace = h.journeys.trace('w', 'p1', 'promo');
    expect(trace.trail.find((r) => r.kind === 'guardrail')!.detail).toMatchObject({ guardrail: 'quiet_hours', action: 'defer', timezone: 'America/New_York', until: Date.UTC(2026, 0, 1, 13) });
    // A profile in Tokyo at the same instant (10:00 local) is not in quiet hours.
    h.profiles.set('p2', profile('p2', { timezone: 'Asia/Tokyo' }));
  });

  it('frequency caps: when two journeys compete for the last slot, the higher priority wins', async () => {
    setup();
    await h.journeys.setGuardrails('w', { frequency_caps: [{ medium: 'email', max: 1, within: '1d' }] });
    // 'a_low' sorts first by key; priority must still decide.
    await h.journeys.save('w', promo('a_low', 1), 'create');
    await h.journeys.save('w', promo('b_high', 5), 'create');
    await h.emit('p1', 'Promo');
    await h.advance(2 * HOUR);
    expect(h.outbox().map((r) => r.journey)).toEqual(['b_high']);
    const low = h.journeys.trace('w', 'p1', 'a_low').trail.find((r) => r.kind === 'guardrail')!;
    expect(low.detail).toMatchObject({ guardrail: 'frequency_cap', action: 'skip', count: 1, max: 1, priority: 1 });
    // The cap is rolling: a day later there is room again.
    await h.advance(DAY);
    await h.emit('p1', 'Promo');
    await h.advance(2 * HOUR);
    expect(h.outbox().map((r) => r.journey)).toEqual(['b_high', 'b_high']);
  });

  it('transactional messages are exempt from caps', async () => {
    setup();
    await h.journeys.setGuardrails('w', { frequency_caps: [{ max: 0, within: '1d' }] });
    await h.journeys.save('w', promo('receipt', 0, { category: 'transactional' }), 'create');
    await h.emit('p1', 'Promo');
    await h.advance(HOUR);
    expect(h.outbox()).toHaveLength(1);
  });

  it('unsubscribed, suppressed and holdout profiles get no send, and the trace says why', async () => {
    setup();
    h.profiles.set('unsub', profile('unsub', {}, { marketing_email: 'unsubscribed' }));
    h.profiles.set('sub', profile('sub', {}, { marketing_email: 'subscribed' }));
    h.profiles.set('bounced', profile('bounced', {}, { marketing_email: 'subscribed' }));
    await h.journeys.setGuardrails('w', { subscription_groups: [{ key: 'marketing_email', medium: 'email', category: 'marketing', mode: 'opt_in' }] });
    await h.journeys.save('w', promo('promo', 0), 'create');
    await h.emit('bounced', 'Message Bounced', { channel: 'email', bounce_type: 'hard' });
    for (const id of ['unsub', 'sub', 'bounced']) await h.emit(id, 'Promo');
    await h.advance(HOUR);
    expect(h.outbox().map((r) => r.profileId)).toEqual(['sub']);
    const why = (id: string) => h.journeys.trace('w', id, 'promo').trail.find((r) => r.kind === 'guardrail')?.detail;
    expect(why('unsub')).toMatchObject({ guardrail: 'consent', group: 'marketing_email', status: 'unsubscribed' });
    expect(why('bounced')).toMatchObject({ guardrail: 'suppression', reason: 'hard_bounce' });

    await h.journeys.setGuardrails('w', { holdout_percent: 100 });
    await h.advance(DAY);
    await h.emit('sub', 'Promo');
    await h.advance(HOUR);
    expect(h.outbox()).toHaveLength(1);
    expect(h.journeys.trace('w', 'sub', 'promo').summary.at(-2)).toContain('blocked by holdout');
  });

  it('budgets: skip drops the message, defer sends it in the next window', async () => {
    setup();
    await h.journeys.setGuardrails('w', { budgets: [{ medium: 'sms', max: 2, per: '1d', on_exhausted: 'skip' }] });
    const sms = { ...promo('sms', 0), nodes: { w: { type: 'wait', duration: '1h', next: 's' }, s: { type: 'send', channel: 'sms', template: 'x' } } };
    await h.journeys.save('w', sms, 'create');
    for (const id of ['a', 'b', 'c']) h.profiles.set(id, profile(id));
    for (const id of ['a', 'b', 'c']) await h.emit(id, 'Promo');
    await h.advance(HOUR);
    expect(h.outbox().map((r) => r.profileId)).toEqual(['a', 'b']);
    expect(h.journeys.trace('w', 'c', 'sms').trail.find((r) => r.kind === 'guardrail')!.detail).toMatchObject({ guardrail: 'budget', action: 'skip', used: 2, max: 2 });

    // The journey's own budget, deferring: one per day.
    const deferring = { ...promo('drip', 0), budgets: [{ max: 1, per: '1d', on_exhausted: 'defer' }] };
    await h.journeys.save('w', deferring, 'create');
    for (const id of ['a', 'b']) await h.emit(id, 'Promo');
    await h.advance(2 * DAY);
    const drip = h.outbox().filter((r) => r.journey === 'drip');
    expect(drip.map((r) => [r.profileId, r.at])).toEqual([['a', T0 + 2 * HOUR], ['b', T0 + DAY]]);
  });
});

describe('lifecycle and versions', () => {
  it('pause stops new entries and holds timers; resume continues them', async () => {
    setup();
    h.profiles.set('p2', profile('p2'));
    await h.journeys.save('w', cart(), 'create');
    await h.emit('p1', 'Product Added', { sku: 'sku-1' });
    await h.journeys.setStatus('w', 'cart', 'paused');
    await h.emit('p2', 'Product Added', { sku: 'sku-1' });
    await h.advance(3 * HOUR);
    expect(h.outbox()).toEqual([]);
    expect(h.journeys.trace('w', 'p2', 'cart').trail[0].detail).toMatchObject({ reason: 'paused' });
    await h.journeys.setStatus('w', 'cart', 'active');
    await h.journeys.drain();
    expect(sends()).toMatchObject([{ node: 'send_email', at: T0 + 3 * HOUR }]);
    expect(h.journeys.stats('w', 'cart').entries).toBe(1);
  });

  it('archive exits running instances', async () => {
    setup();
    await h.journeys.save('w', cart(), 'create');
    await h.emit('p1', 'Product Added', { sku: 'sku-1' });
    await h.journeys.setStatus('w', 'cart', 'archived');
    await h.advance(DAY);
    expect(h.outbox()).toEqual([]);
    expect(h.journeys.stats('w', 'cart').exits).toEqual({ archived: 1 });
  });

  it('a new version takes new entries while a running instance continues on its node ids', async () => {
    setup();
    h.profiles.set('p2', profile('p2'));
    await h.journeys.save('w', cart(), 'create');
    await h.emit('p1', 'Product Added', { sku: 'sku-1' });
    const v2 = cart();
    v2.nodes.send_email = { type: 'send', channel: 'email', template: 'cart_reminder_v2', next: 'wait_order' };
    const saved = await h.journeys.save('w', v2, 'update', 'cart');
    expect(saved.version).toBe(2);
    await h.emit('p2', 'Product Added', { sku: 'sku-1' });
    await h.advance(2 * HOUR);
    const byProfile = Object.fromEntries(h.outbox().map((r) => [r.profileId, r.template]));
    expect(byProfile).toEqual({ p1: 'cart_reminder', p2: 'cart_reminder_v2' });
    const trace = h.journeys.trace('w', 'p1', 'cart');
    expect(new Set(trace.trail.map((r) => r.version))).toEqual(new Set([1]));
  });
});

describe('waits and triggers', () => {
  it('wait until a time of day in the profile zone, and a birthday minus a day', async () => {
    setup();
    h.profiles.set('p1', profile('p1', { timezone: 'America/New_York', birthday: '1990-01-10' }));
    await h.journeys.save('w', {
      key: 'bday', trigger: { type: 'event', event: 'Go' }, start: 'nine',
      nodes: {
        nine: { type: 'wait_until', time: '09:00', next: 'm1' },
        m1: { type: 'send', channel: 'email', next: 'eve' },
        eve: { type: 'wait_until', date_trait: 'birthday', offset: '-1d', time: '10:00', yearly: true, next: 'm2' },
        m2: { type: 'send', channel: 'email' },
      },
    }, 'create');
    await h.emit('p1', 'Go'); // 19:00 Dec 31 in New York
    await h.advance(20 * DAY);
    expect(sends().map((s) => s.at)).toEqual([Date.UTC(2026, 0, 1, 14), Date.UTC(2026, 0, 9, 15)]); // 09:00 EST; 10:00 EST on Jan 9
  });

  it('audience entered triggers, exit on leaving the audience, and a cron broadcast to an audience', async () => {
    setup();
    h.profiles.set('p2', profile('p2'));
    await h.journeys.save('w', {
      key: 'vip', trigger: { type: 'audience_entered', audience: 'vips' }, exit: [{ audience_exited: 'vips' }], start: 'w',
      nodes: { w: { type: 'wait', duration: '2d', next: 's' }, s: { type: 'send', channel: 'email' } },
    }, 'create');
    await h.emit('p1', 'Audience Entered', { audience: 'vips' });
    await h.emit('p2', 'Audience Entered', { audience: 'vips' });
    await h.advance(DAY);
    await h.emit('p2', 'Audience Exited', { audience: 'vips' });
    await h.advance(2 * DAY);
    expect(h.outbox().map((r) => r.profileId)).toEqual(['p1']);

    h.members.set('all', ['p1', 'p2']);
    await h.journeys.save('w', {
      key: 'weekly', trigger: { type: 'schedule', audience: 'all', cron: '0 9 * * 1', timezone: 'Europe/Paris' }, start: 's',
      nodes: { s: { type: 'send', channel: 'email', template: 'news' } },
    }, 'create');
    await h.advance(14 * DAY);
    const news = h.outbox().filter((r) => r.journey === 'weekly');
    // Mondays Jan 5 and Jan 12 2026 at 09:00 Paris (08:00 UTC), once per member each.
    expect(news.map((r) => [r.profileId, r.at])).toEqual([
      ['p1', Date.UTC(2026, 0, 5, 8)], ['p2', Date.UTC(2026, 0, 5, 8)], ['p1', Date.UTC(2026, 0, 12, 8)], ['p2', Date.UTC(2026, 0, 12, 8)],
    ]);
  });

  it('split is deterministic per instance and weighted; update_trait queues an effect', async () => {
    setup();
    for (let i = 0; i < 200; i++) h.profiles.set(`s${i}`, profile(`s${i}`));
    await h.journeys.save('w', {
      key: 'ab', trigger: { type: 'event', event: 'Go' }, start: 'split',
      nodes: {
        split: { type: 'split', branches: [{ weight: 9, next: 'a' }, { weight: 1, next: 'b' }] },
        a: { type: 'update_trait', trait: 'group', value: 'a' },
        b: { type: 'update_trait', trait: 'group', value: 'b' },
      },
    }, 'create');
    for (let i = 0; i < 200; i++) await h.emit(`s${i}`, 'Go');
    const effects = h.journeys.store.effects(1000);
    const a = effects.filter((e) => e.traits.group === 'a').length;
    expect(effects).toHaveLength(200);
    expect(a).toBeGreaterThan(160);
    expect(a).toBeLessThan(200);
  });
});

describe('validation', () => {
  const bad = (body: unknown) => {
    try {
      parseJourney(body);
    } catch (error) {
      expect(error).toBeInstanceOf(TandemError);
      return (error as TandemError).message;
    }
    throw new Error('expected a validation error');
  };

  it('names the path of each problem', () => {
    expect(bad({ ...cart(), nodes: { ...cart().nodes, send_sms: { type: 'send', channel: 'sms', next: 'nowhere' } } })).toBe("nodes.send_sms.next: names node 'nowhere', which is not in nodes");
    expect(bad({ ...cart(), nodes: { ...cart().nodes, orphan: { type: 'exit' } } })).toBe("nodes.orphan: is unreachable from start 'wait_1h'");
    expect(bad({
      ...cart(), start: 'a',
      nodes: { a: { type: 'branch', condition: { trait: 'x', exists: true }, then: 'b', else: 'c' }, b: { type: 'update_trait', trait: 'n', value: 1, next: 'a' }, c: { type: 'exit' } },
    })).toMatch(/^nodes\.b: forms a loop with no wait \(a -> b -> a\)/);
    expect(bad({ ...cart(), nodes: { ...cart().nodes, check_stock: { ...cart().nodes.check_stock, condition: { catalog: 'products', key_from: { trait: 'sku' }, where: [{ field: 'stock', gt: 'many' }] } } } }))
      .toMatch(/^nodes\.check_stock\.condition\.where\[0\]/);
    expect(bad({ ...cart(), nodes: { ...cart().nodes, wait_1h: { type: 'wait', duration: 'soon', next: 'check_stock' } } })).toBe('nodes.wait_1h.duration: must be a duration such as 24h, 30m or 7d');
    expect(bad({ ...cart(), nodes: { ...cart().nodes, wait_1h: { type: 'nap' } } })).toMatch(/^nodes\.wait_1h\.type: must be one of wait, /);
    expect(bad({ ...cart(), trigger: { type: 'event' } })).toBe('trigger.event: is required');
    expect(bad({ ...cart(), start: 'x' })).toBe("start: names node 'x', which is not in nodes");
    expect(bad({ ...cart(), re_entry: { policy: 'cooldown' } })).toBe('re_entry.cooldown: is required for the cooldown policy');
    expect(bad({ ...cart(), trigger: { type: 'schedule', audience: 'a', cron: '61 * * * *' } })).toMatch(/^trigger\.cron: minute field '61'/);
    // A loop through a wait is fine.
    expect(() => parseJourney({ ...cart(), nodes: { ...cart().nodes, send_sms: { type: 'send', channel: 'sms', next: 'wait_1h' } } })).not.toThrow();
  });
});

describe('which events concern the journeys', () => {
  it('only events a trigger, a goal, an active instance or suppression can use', async () => {
    setup();
    const engine = h.journeys.engine;
    const ev = (event: string) => ({ type: 'track', event, timestamp: T0, properties: {}, messageId: `m-${event}` });
    expect(engine.concerns('w', 'p1', ev('Product Added'))).toBe(false); // no journey yet
    await h.journeys.save('w', cart(), 'create');
    expect(engine.concerns('w', 'p1', ev('Product Added'))).toBe(true); // the trigger
    expect(engine.concerns('w', 'p1', ev('Order Completed'))).toBe(true); // the goal
    expect(engine.concerns('w', 'p1', ev('Page Viewed'))).toBe(false);
    expect(engine.concerns('w', 'p1', ev('Message Bounced'))).toBe(true); // suppression
    await h.emit('p1', 'Product Added', { sku: 'sku-1' });
    expect(engine.concerns('w', 'p1', ev('Page Viewed'))).toBe(true); // p1 now has an active instance
    expect(engine.concerns('w', 'p2', ev('Page Viewed'))).toBe(false);
  });
});

describe('event names that are object keys', () => {
  it('an event named constructor or toString suppresses nobody', async () => {
    setup();
    await h.journeys.save('w', cart(), 'create');
    await h.emit('p1', 'constructor', {});
    await h.emit('p1', 'toString', {});
    await h.emit('p1', 'Product Added', { sku: 'sku-1' });
    await h.advance(HOUR);
    expect(sends()).toMatchObject([{ node: 'send_email', channel: 'email' }]);
  });
});
