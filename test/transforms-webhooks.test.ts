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

  it('answers 422 when the function throws, and 404 for a source without a webhook function', async () => {
    const body = JSON.stringify({ id: 1 }); // no customer: the function throws
    const r = await post(body, { 'x-shopify-hmac-sha256': signBody(body, SECRET, { encoding: 'base64' }) });
    expect(r.status).toBe(422);
    expect(((await r.json()) as { error: { message: string } }).error.message).toContain('TypeError');
    const none = await fetch(`${t.url}/v1/webhooks/default?writeKey=${t.writeKey}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(none.status).toBe(404);
  });
});
