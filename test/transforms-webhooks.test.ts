import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signBody } from '../src/transforms/signature.js';
import { startTandem, type Running } from './harness.js';

// A Shopify-like order webhook mapped by a source function to an identify and one Order Completed per order.
let t: Running;
const SECRET = 'shop-secret-123';
beforeAll(async () => {
  process.env.TANDEM_TEST_SHOP_SECRET = SECRET;
  t = await startTandem();
  await t.admin('/sources', { method: 'POST', json: { key: 'shop', name: 'Shop' } });
  const code = `export default (order, ctx) => [
    { type: 'identify', messageId: 'shop-customer-' + order.customer.id + '-' + order.id, userId: String(order.customer.id), traits: { email: order.email, first_name: order.customer.first_name } },
    { type: 'track', messageId: 'shop-order-' + order.id, userId: String(order.customer.id), event: 'Order Completed', timestamp: order.created_at,
      properties: { order_id: String(order.id), total: Number(order.total_price), currency: order.currency, topic: ctx.headers['x-shopify-topic'],
        products: order.line_items.map((l) => ({ sku: l.sku, quantity: l.quantity, price: Number(l.price) })) } },
  ];`;
  const r = await t.admin('/functions', { method: 'POST', json: { key: 'shop_orders', type: 'webhook', source: 'shop', code, signature: { header: 'X-Shopify-Hmac-Sha256', secret: { env: 'TANDEM_TEST_SHOP_SECRET' }, encoding: 'base64' } } });
  expect(r.status).toBe(201);
});
afterAll(async () => t?.stop());

const ORDER = {
  id: 820982911946154500,
  email: 'jon@example.com',
  created_at: '2024-03-01T12:34:56-05:00',
  total_price: '403.00',
  currency: 'USD',
  customer: { id: 115310627314723950, first_name: 'Jon' },
  line_items: [{ sku: 'IPOD2008PINK', quantity: 1, price: '199.00' }, { sku: 'IPOD2008BLACK', quantity: 2, price: '102.00' }],
};

const post = (body: string, headers: Record<string, string>) => fetch(`${t.url}/v1/webhooks/shop`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

describe('webhook sources', () => {
  it('maps a signed order payload to Segment messages, logged like /v1', async () => {
    const body = JSON.stringify(ORDER);
    const r = await post(body, { 'x-shopify-hmac-sha256': signBody(body, SECRET, { encoding: 'base64' }), 'x-shopify-topic': 'orders/create' });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ mapped: 2, accepted: 2, quarantined: 0, errors: [] });
    await t.settle();
    const events = ((await (await t.admin('/events?messageId=shop-order-820982911946154500')).json()) as { data: { message: Record<string, unknown> }[] }).data;
    expect(events).toHaveLength(1);
    expect(events[0].message).toMatchObject({
      type: 'track',
      event: 'Order Completed',
      userId: '115310627314723950',
      timestamp: '2024-03-01T17:34:56.000Z',
      properties: { order_id: '820982911946154500', total: 403, currency: 'USD', topic: 'orders/create', products: [{ sku: 'IPOD2008PINK', quantity: 1, price: 199 }, { sku: 'IPOD2008BLACK', quantity: 2, price: 102 }] },
    });
    const profile = (await (await t.admin('/profiles/lookup?type=user_id&value=115310627314723950')).json()) as { traits: Record<string, unknown> };
    expect(profile.traits).toMatchObject({ email: 'jon@example.com', first_name: 'Jon' });
  });

  it('refuses a missing or wrong signature, and bad JSON, naming the problem', async () => {
    const body = JSON.stringify(ORDER);
    expect((await post(body, {})).status).toBe(401);
    const wrong = await post(body, { 'x-shopify-hmac-sha256': signBody(body, 'other', { encoding: 'base64' }) });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: { message: string } }).error.message).toContain('does not match');
    const bad = '{"id": 1,';
    const r = await post(bad, { 'x-shopify-hmac-sha256': signBody(bad, SECRET, { encoding: 'base64' }) });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: { path: string } }).error.path).toBe('body');
  });

  it('accepts a payload the function throws on (202) and holds it in the quarantine; a replay maps it with the fixed function', async () => {
    const payload = { id: 77, email: 'ann@example.com', created_at: '2024-03-02T08:00:00Z', total_price: '10.00', currency: 'EUR', line_items: [] }; // no customer: the function throws
    const body = JSON.stringify(payload);
    const sign = { 'x-shopify-hmac-sha256': signBody(body, SECRET, { encoding: 'base64' }), 'x-shopify-topic': 'orders/paid' };
    const r = await post(body, sign);
    expect(r.status).toBe(202);
    const answer = (await r.json()) as { mapped: number; accepted: number; quarantined: number; held: { reason: string } };
    expect(answer).toMatchObject({ mapped: 0, accepted: 0, quarantined: 1 });
    expect(answer.held.reason).toMatch(/^function 'shop_orders' \(version 1\) threw TypeError: .*; the payload is held in the quarantine$/);
    // The sender retries the same delivery: still accepted, and it refreshes the same held item rather than adding one.
    expect((await post(body, sign)).status).toBe(202);
    await t.settle();
    const items = ((await (await t.admin('/quarantine?source=shop&status=held')).json()) as { data: { id: number; type: string; reasons: { path: string; message: string }[]; message: Record<string, unknown> }[] }).data;
    expect(items).toHaveLength(1);
    const [item] = items;
    expect(item.type).toBe('webhook');
    expect(item.reasons[0]).toMatchObject({ path: 'functions.shop_orders', message: expect.stringContaining('threw TypeError') });
    expect(item.message.payload).toEqual(payload);
    expect((item.message.webhook as { headers: Record<string, string> }).headers['x-shopify-topic']).toBe('orders/paid');

    // Replaying with the function unchanged keeps it held, with the reason again.
    const again = (await (await t.admin('/quarantine/replay', { method: 'POST', json: { ids: [item.id] } })).json()) as { results: { outcome: string; reasons: { message: string }[] }[] };
    expect(again.results[0].outcome).toBe('held');
    expect(again.results[0].reasons[0].message).toContain('threw TypeError');

    // Fix the function (guests have no customer), dry-run, then replay: the current version maps the held payload.
    const fixed = `export default (order, ctx) => [{ type: 'track', messageId: 'shop-order-' + order.id, anonymousId: 'guest-' + order.id, event: 'Order Completed',
      timestamp: order.created_at, properties: { total: Number(order.total_price), topic: ctx.headers['x-shopify-topic'] } }];`;
    const put = await t.admin('/functions/shop_orders', { method: 'PUT', json: { key: 'shop_orders', type: 'webhook', source: 'shop', code: fixed, signature: { header: 'X-Shopify-Hmac-Sha256', secret: { env: 'TANDEM_TEST_SHOP_SECRET' }, encoding: 'base64' } } });
    expect(put.status).toBe(200);
    const dry = (await (await t.admin('/quarantine/replay', { method: 'POST', json: { ids: [item.id], dryRun: true } })).json()) as { results: { outcome: string; messages: Record<string, unknown>[] }[] };
    expect(dry.results[0].outcome).toBe('replayed');
    expect(dry.results[0].messages).toHaveLength(1);
    expect(dry.results[0].messages[0]).toMatchObject({ messageId: 'shop-order-77', event: 'Order Completed', properties: { total: 10, topic: 'orders/paid' } });
    const replay = (await (await t.admin('/quarantine/replay', { method: 'POST', json: { ids: [item.id] } })).json()) as { replayed: number };
    expect(replay.replayed).toBe(1);
    await t.settle();
    const events = ((await (await t.admin('/events?messageId=shop-order-77')).json()) as { data: { message: Record<string, unknown> }[] }).data;
    expect(events).toHaveLength(1);
    expect(events[0].message).toMatchObject({ anonymousId: 'guest-77', timestamp: '2024-03-02T08:00:00.000Z', properties: { total: 10, topic: 'orders/paid' } });
    const after = (await (await t.admin(`/quarantine/${item.id}`)).json()) as { status: string };
    expect(after.status).toBe('replayed');
  });

  it('holds a payload whose function returns an invalid message, and one whose function runs out of time', async () => {
    const key = ((await (await t.admin('/sources', { method: 'POST', json: { key: 'crm', name: 'CRM' } })).json()) as { writeKey: string }).writeKey;
    const code = `export default (p) => {
      if (p.kind === 'loop') { for (;;) {} }
      if (p.kind === 'stall') return { type: 'track', userId: 'u', event: 'x', properties: { i: 'a'.repeat(2 ** 20).lastIndexOf('a'.repeat(2 ** 14) + 'b') } };
      return [{ type: 'track', userId: 'u' + p.n, event: 'Signed Up' }, { type: 'track', event: 'No Identity' }];
    }`;
    const created = await t.admin('/functions', { method: 'POST', json: { key: 'crm_hook', type: 'webhook', source: 'crm', code, limits: { timeoutMs: 200 } } });
    expect(created.status).toBe(201);
    const send = (payload: unknown) => fetch(`${t.url}/v1/webhooks/crm?writeKey=${key}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });

    const invalid = await send({ n: 1 });
    expect(invalid.status).toBe(202);
    const answer = (await invalid.json()) as { mapped: number; accepted: number; errors: { index: number }[]; held: { reason: string } };
    expect(answer).toMatchObject({ mapped: 2, accepted: 0 }); // all or nothing: the valid first message is not logged alone
    expect(answer.errors.map((e) => e.index)).toEqual([1]);
    expect(answer.held.reason).toContain("function 'crm_hook' (version 1) returned an invalid message");

    const started = performance.now();
    const [loop, stall, health] = await Promise.all([send({ kind: 'loop' }), send({ kind: 'stall' }), (async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const t0 = performance.now();
      const h = await fetch(`${t.url}/healthz`);
      return { status: h.status, ms: performance.now() - t0 };
    })()]);
    expect(health.status).toBe(200);
    expect(health.ms).toBeLessThan(1000); // answered while the stalled function held its sandbox process
    expect(performance.now() - started).toBeGreaterThan(1000);
    expect(loop.status).toBe(202);
    expect(((await loop.json()) as { held: { reason: string } }).held.reason).toContain('CPU time limit of 200 ms');
    expect(stall.status).toBe(202);
    expect(((await stall.json()) as { held: { reason: string } }).held.reason).toMatch(/exceeded its time limit of 200 ms \(its sandbox process was stopped after \d+ ms\)/);
    await t.settle();
    const items = ((await (await t.admin('/quarantine?source=crm&status=held')).json()) as { data: { message: { payload: unknown } }[] }).data;
    expect(items.map((i) => i.message.payload)).toEqual(expect.arrayContaining([{ n: 1 }, { kind: 'loop' }, { kind: 'stall' }]));
    expect(((await (await t.admin('/events?messageId=x')).json()) as { data: unknown[] }).data).toEqual([]);
  });

  it('still refuses what is the caller\'s fault, and answers 404 for a source without a webhook function', async () => {
    const bad = '{"id": 1,';
    expect((await post(bad, { 'x-shopify-hmac-sha256': signBody(bad, SECRET, { encoding: 'base64' }) })).status).toBe(400);
    expect((await post('{"id": 2}', { 'x-shopify-hmac-sha256': 'forged' })).status).toBe(401);
    const none = await fetch(`${t.url}/v1/webhooks/default?writeKey=${t.writeKey}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(none.status).toBe(404);
    await t.settle();
    const held = ((await (await t.admin('/quarantine?source=shop&status=held')).json()) as { data: unknown[] }).data;
    expect(held).toEqual([]); // refused requests leave nothing behind
  });
});
