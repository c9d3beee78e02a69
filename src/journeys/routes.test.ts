import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { errorHandler } from '../server/errors.js';
import { journeysRoutes } from '../server/journeys-routes.js';
import { openSqlite, type Sqlite } from '../storage/sqlite/database.js';
import { createJourneys, type Journeys } from './journeys.js';
import type { JourneyEvent, JourneyProfile } from './ports.js';
import { DAY, HOUR, memoryDefinitions, profile } from './test-support.js';

const T0 = Date.UTC(2026, 0, 1);

const cart = {
  key: 'cart',
  trigger: { type: 'event', event: 'Product Added' },
  re_entry: { policy: 'cooldown', cooldown: '1d' },
  goal: { event: 'Order Completed', within: '3d' },
  start: 'wait_1h',
  nodes: {
    wait_1h: { type: 'wait', duration: '1h', next: 'check_stock' },
    check_stock: {
      type: 'branch', condition: { catalog: 'products', key_from: { last_event: 'Product Added', property: 'sku' }, where: [{ field: 'stock', gt: 0 }] },
      then: 'send_email', else: 'done',
    },
    done: { type: 'exit' },
    send_email: { type: 'send', channel: 'email', template: 'cart_reminder', next: 'wait_order' },
    wait_order: { type: 'wait_for_event', event: 'Order Completed', timeout: '24h', next: 'done', timeout_next: 'send_sms' },
    send_sms: { type: 'send', channel: 'sms', template: 'cart_sms' },
  },
};

let app: FastifyInstance;
let db: Sqlite;
let journeys: Journeys;
const sent: unknown[] = [];

afterEach(async () => {
  await app?.close();
  await journeys?.stop();
  db?.close();
});

async function build(history: { profileId: string; event: JourneyEvent }[] = [], profiles = new Map<string, JourneyProfile>()) {
  db = openSqlite(':memory:');
  const clock = new ManualClock(T0 + 30 * DAY);
  journeys = createJourneys({
    db, store: memoryDefinitions(), clock,
    profiles: { get: async (_w, id) => profiles.get(id) },
    outbox: { enqueue: (e) => sent.push(e) },
    catalogs: () => ({ get: (c, k) => (c === 'products' ? ({ a: { stock: 2 }, z: { stock: 0 } } as Record<string, Record<string, unknown>>)[k] : undefined) }),
    history: { events: async (_w, from, to) => history.filter((h) => h.event.timestamp >= from && h.event.timestamp < to) },
  });
  app = Fastify();
  app.setErrorHandler(errorHandler);
  app.decorateRequest('workspaceId', '');
  app.addHook('onRequest', async (req) => {
    req.workspaceId = 'w';
  });
  await app.register((admin) => journeysRoutes(admin, { journeys }), { prefix: '/api/v1' });
  return clock;
}

describe('journeys routes', () => {
  it('CRUD with versions, validation errors naming the path, pause / resume, stats', async () => {
    await build();
    const created = await app.inject({ method: 'POST', url: '/api/v1/journeys', payload: cart });
    expect(created.statusCode).toBe(201);
    expect(created.headers['tandem-version']).toBe('1');
    expect((await app.inject({ method: 'POST', url: '/api/v1/journeys', payload: cart })).statusCode).toBe(409);
    const invalid = await app.inject({ method: 'PUT', url: '/api/v1/journeys/cart', payload: { ...cart, nodes: { ...cart.nodes, check_stock: { ...cart.nodes.check_stock, condition: { trait: 'x', gt: [] } } } } });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().error.path).toMatch(/^nodes\.check_stock\.condition\.gt/);
    const updated = await app.inject({ method: 'PUT', url: '/api/v1/journeys/cart', payload: { ...cart, name: 'Cart' } });
    expect(updated.headers['tandem-version']).toBe('2');
    expect((await app.inject({ method: 'POST', url: '/api/v1/journeys/cart/pause' })).json()).toEqual({ key: 'cart', status: 'paused' });
    expect((await app.inject({ method: 'GET', url: '/api/v1/journeys/cart' })).headers['tandem-status']).toBe('paused');
    expect((await app.inject({ method: 'POST', url: '/api/v1/journeys/cart/resume' })).json().status).toBe('active');
    expect((await app.inject({ method: 'GET', url: '/api/v1/journeys/cart/stats' })).json()).toMatchObject({ key: 'cart', status: 'active', entries: 0 });
    expect((await app.inject({ method: 'GET', url: '/api/v1/journeys' })).json().data).toHaveLength(1);
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/journeys/cart' })).statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: '/api/v1/journeys/cart' })).statusCode).toBe(404);
  });

  it('simulate: the path, the timings and the messages, on a simulated clock, sending nothing', async () => {
    const clock = await build();
    await app.inject({ method: 'POST', url: '/api/v1/journeys', payload: cart });
    await app.inject({ method: 'PUT', url: '/api/v1/journey-guardrails', payload: { quiet_hours: { start: '21:00', end: '08:00' } } });
    const res = await app.inject({
      method: 'POST', url: '/api/v1/journeys/cart/simulate',
      payload: { profile: { traits: { timezone: 'Europe/Paris' } }, events: [{ event: 'Product Added', properties: { sku: 'a' } }], until: '3d' },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    const start = clock.now(); // Jan 31 00:00 UTC = 01:00 Paris: inside quiet hours
    expect(body.messages.map((m: { node: string; at: number }) => [m.node, m.at])).toEqual([
      ['send_email', Date.UTC(2026, 0, 31, 7)], // deferred from 02:00 to 08:00 Paris
      ['send_sms', Date.UTC(2026, 1, 1, 7)], // 24 h later = 08:00 Paris, after quiet hours
    ]);
    expect(body.timings.map((t: { node: string; afterStart: number }) => [t.node, t.afterStart])).toEqual([
      ['wait_1h', 0], ['check_stock', HOUR], ['send_email', HOUR], ['wait_order', Date.UTC(2026, 0, 31, 7) - start], ['wait_order', Date.UTC(2026, 1, 1, 7) - start], ['send_sms', Date.UTC(2026, 1, 1, 7) - start],
    ]);
    expect(body.path.some((p: { kind: string; detail: { guardrail?: string } }) => p.kind === 'guardrail' && p.detail.guardrail === 'quiet_hours')).toBe(true);
    expect(sent).toEqual([]);
    expect(journeys.stats('w', 'cart').entries).toBe(0);

    // A synthetic trigger and a draft definition, with the order arriving in time.
    const draft = await app.inject({
      method: 'POST', url: '/api/v1/journeys/cart/simulate',
      payload: { definition: { ...cart, trigger: { type: 'event', event: 'Product Added' } }, profile: { id: 'x', traits: { timezone: 'Asia/Tokyo' } }, events: [{ event: 'Product Added', properties: { sku: 'a' } }, { event: 'Order Completed', after: '5h' }] },
    });
    expect(draft.json()).toMatchObject({ version: null, messages: [{ node: 'send_email' }], instances: [{ status: 'exited', exitReason: 'goal' }] });
    const bad = await app.inject({ method: 'POST', url: '/api/v1/journeys/cart/simulate', payload: { events: [{ event: 'Product Added', after: 'later' }] } });
    expect(bad.json().error).toMatchObject({ path: 'events[0].after' });
  });

  it('backtest: entries, messages per node and what the caps cut over stored history', async () => {
    const profiles = new Map(['a', 'b', 'c', 'd'].map((id) => [id, profile(id, { timezone: 'UTC' })]));
    const ev = (profileId: string, event: string, at: number, properties: Record<string, unknown> = {}, n = 0) => ({
      profileId, event: { type: 'track', event, timestamp: at, properties, messageId: `${profileId}-${event}-${at}-${n}` },
    });
    const history = [
      ev('a', 'Product Added', T0 + 10 * HOUR, { sku: 'a' }), // email, then SMS
      ev('b', 'Product Added', T0 + 10 * HOUR, { sku: 'a' }), ev('b', 'Order Completed', T0 + 15 * HOUR), // email, converts
      ev('c', 'Product Added', T0 + 10 * HOUR, { sku: 'z' }), // out of stock
      ev('d', 'Product Added', T0 + 10 * HOUR, { sku: 'a' }), ev('d', 'Product Added', T0 + 12 * HOUR, { sku: 'a' }, 1), // second add while in the journey
      ev('a', 'Product Added', T0 + 40 * DAY, { sku: 'a' }), // outside the period
    ];
    await build(history, profiles);
    await app.inject({ method: 'POST', url: '/api/v1/journeys', payload: cart });
    await app.inject({ method: 'PUT', url: '/api/v1/journey-guardrails', payload: { frequency_caps: [{ max: 1, within: '7d' }] } });
    const res = await app.inject({ method: 'POST', url: '/api/v1/journeys/cart/backtest', payload: { from: '2026-01-01T00:00:00Z', to: '2026-01-10T00:00:00Z' } });
    expect(res.statusCode).toBe(200);
    const r = res.json();
    expect(r).toMatchObject({ profiles: 4, entered: 4, notEntered: { already_active: 1 }, conversions: 1, messages: 3, capped: { send_sms: 2 }, blocked: { frequency_cap: 2 } });
    expect(r.nodes.send_email).toMatchObject({ sent: 3 });
    expect(r.nodes.send_sms).toMatchObject({ sent: 0, blocked: { frequency_cap: 2 } });
    expect(sent).toEqual([]);
  });

  it('trace answers why a profile did or did not get a message', async () => {
    const clock = await build();
    await app.inject({ method: 'POST', url: '/api/v1/journeys', payload: cart });
    await app.inject({ method: 'PUT', url: '/api/v1/journey-guardrails', payload: { subscription_groups: [{ key: 'news', medium: 'email', category: 'marketing', mode: 'opt_in' }] } });
    const p = profile('p9', {}, { news: 'unsubscribed' });
    journeys.engine.handleEvent('w', p, { type: 'track', event: 'Product Added', timestamp: clock.now(), properties: { sku: 'a' }, messageId: 'x1' });
    clock.advance(HOUR);
    for (const inst of journeys.store.due(clock.now(), 10)) journeys.engine.fireTimer(inst.id, p);
    const res = await app.inject({ method: 'GET', url: '/api/v1/profiles/p9/trace?journey=cart' });
    const body = res.json();
    expect(body.summary.join('\n')).toMatch(/send_email: blocked by consent \(not subscribed to 'news' \(opt-in\)\)/);
    expect(body.trail[0]).toMatchObject({ kind: 'entry', journey: 'cart' });
    const none = await app.inject({ method: 'GET', url: '/api/v1/profiles/nobody/trace?journey=cart' });
    expect(none.json().summary).toEqual(['no event of this profile has matched the trigger of cart']);
  });
});
