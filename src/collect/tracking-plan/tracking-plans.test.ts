import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTandem, type Running } from '../../../test/harness.js';

type V = { kind: string; path: string; message: string };

const PLAN = {
  key: 'web',
  name: 'Website',
  events: {
    'Order Completed': {
      type: 'object',
      required: ['orderId'],
      properties: {
        orderId: { type: 'string' },
        total: { type: 'number', minimum: 0 },
        currency: { enum: ['USD', 'EUR'] },
        products: { type: 'array', items: { type: 'object', properties: { sku: { type: 'string' } } } },
      },
    },
  },
  identify: { type: 'object', properties: { email: { type: 'string', format: 'email' } } },
  common: { type: 'object', properties: { context: { type: 'object', properties: { app: { type: 'object', required: ['version'] } } } } },
  unplannedEvents: 'flag',
  unplannedProperties: 'flag',
};

describe('tracking plans', () => {
  let t: Running;
  beforeEach(async () => {
    t = await startTandem();
  });
  afterEach(async () => t.stop());

  const usePlan = async (plan: Record<string, unknown>, mode: 'allow' | 'flag' | 'block') => {
    const put = plan.key && (await t.admin(`/tracking-plans/${plan.key as string}`)).status === 200;
    const saved = await t.admin(put ? `/tracking-plans/${plan.key as string}` : '/tracking-plans', { method: put ? 'PUT' : 'POST', json: plan });
    expect(saved.status, JSON.stringify(await saved.clone().json())).toBe(put ? 200 : 201);
    const source = await t.admin('/sources/default', { method: 'PUT', json: { key: 'default', trackingPlan: plan.key, mode } });
    expect(source.status).toBe(200);
  };

  const eventsOf = async (messageId: string) => (await (await t.admin(`/events?messageId=${messageId}`)).json()).data as { violations: V[]; message: Record<string, unknown> }[];

  it('creates, reads, versions, lists and deletes a plan, auditing each change', async () => {
    const created = await t.admin('/tracking-plans', { method: 'POST', json: PLAN });
    expect(created.status).toBe(201);
    expect(created.headers.get('tandem-version')).toBe('1');
    expect(await created.json()).toEqual(PLAN);
    expect((await t.admin('/tracking-plans', { method: 'POST', json: PLAN })).status).toBe(409);

    const got = await t.admin('/tracking-plans/web');
    expect(await got.json()).toEqual(PLAN);

    const changed = { ...PLAN, name: 'Website v2' };
    const put = await t.admin('/tracking-plans/web', { method: 'PUT', json: changed });
    expect(put.status).toBe(200);
    expect(put.headers.get('tandem-version')).toBe('2');
    expect((await (await t.admin('/tracking-plans')).json()).data).toEqual([changed]);
    expect((await t.admin('/tracking-plans/other', { method: 'PUT', json: { ...PLAN, key: 'other' } })).status).toBe(404);
    expect((await t.admin('/tracking-plans/web', { method: 'PUT', json: { ...PLAN, key: 'other' } })).status).toBe(400);

    // In use by a source: deleting it would silently stop the checks.
    await t.admin('/sources/default', { method: 'PUT', json: { key: 'default', trackingPlan: 'web', mode: 'block' } });
    const inUse = await t.admin('/tracking-plans/web', { method: 'DELETE' });
    expect(inUse.status).toBe(409);
    expect((await inUse.json()).error.message).toContain("'default'");
    await t.admin('/sources/default', { method: 'PUT', json: { key: 'default' } });
    expect((await t.admin('/tracking-plans/web', { method: 'DELETE' })).status).toBe(204);
    expect((await t.admin('/tracking-plans/web')).status).toBe(404);

    const audit = (await (await t.admin('/audit')).json()).data as { action: string; target: string }[];
    expect(audit.filter((a) => a.action.startsWith('tracking-plan.')).map((a) => a.action)).toEqual(['tracking-plan.delete', 'tracking-plan.update', 'tracking-plan.create']);
  });

  it('refuses a plan whose JSON Schema does not compile, with the path inside the definition', async () => {
    const bad = structuredClone(PLAN);
    (bad.events['Order Completed'].properties.total as Record<string, unknown>).type = 'numbr';
    const res = await t.admin('/tracking-plans', { method: 'POST', json: bad });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error.code).toBe('invalid_schema');
    expect(body.error.path).toBe('events["Order Completed"].properties.total.type');
    expect(body.error.message).toContain('"number"');

    const badCommon = await t.admin('/tracking-plans', { method: 'POST', json: { ...PLAN, common: { properties: { context: { required: 'app' } } } } });
    expect((await badCommon.json()).error.path).toBe('common.properties.context.required');

    const unknownField = await t.admin('/tracking-plans', { method: 'POST', json: { ...PLAN, unplanned: 'block' } });
    expect(unknownField.status).toBe(400);
    expect((await t.admin('/tracking-plans/web')).status).toBe(404);
  });

  it('in flag mode accepts violating messages and records each violation with its path', async () => {
    await usePlan(PLAN, 'flag');
    const ok = await t.collect('/v1/track', { userId: 'u1', event: 'Order Completed', messageId: 'ok', properties: { orderId: 'o1', total: 5 }, context: { app: { version: '1.0' } } });
    expect(ok.status).toBe(200);
    await t.collect('/v1/track', {
      userId: 'u1',
      event: 'Order Completed',
      messageId: 'bad',
      properties: { total: 'ten', currency: 'GBP', coupon: 'X', products: [{ sku: 'a', colour: 'red' }] },
      context: { app: { version: '1.0' } },
    });
    await t.collect('/v1/track', { userId: 'u1', event: 'Mystery', messageId: 'unplanned', context: { app: { version: '1.0' } } });
    await t.collect('/v1/identify', { userId: 'u1', messageId: 'common', traits: { email: 'not-an-email' }, context: { app: {} } });
    await t.settle();

    expect((await eventsOf('ok'))[0].violations).toEqual([]);
    const bad = (await eventsOf('bad'))[0].violations;
    const kinds = bad.map((v) => [v.kind, v.path]);
    expect(kinds).toEqual(
      expect.arrayContaining([
        ['required_missing', 'properties.orderId'],
        ['type_mismatch', 'properties.total'],
        ['schema_error', 'properties.currency'],
        ['unplanned_property', 'properties.coupon'],
        ['unplanned_property', 'properties.products[0].colour'],
      ]),
    );
    expect(bad).toHaveLength(5);
    expect(bad.find((v) => v.kind === 'type_mismatch')!.message).toBe('properties.total must be number, not string');
    expect(bad.find((v) => v.kind === 'schema_error')!.message).toBe('properties.currency must be one of "USD", "EUR"');

    expect((await eventsOf('unplanned'))[0].violations).toEqual([{ kind: 'unplanned_event', path: 'event', message: expect.stringContaining('"Mystery"') }]);
    const common = (await eventsOf('common'))[0].violations.map((v) => [v.kind, v.path]);
    expect(common).toEqual(expect.arrayContaining([['required_missing', 'context.app.version'], ['schema_error', 'traits.email']]));
  });

  it('in block mode quarantines violating messages with their reasons and keeps them out of the events', async () => {
    await usePlan(PLAN, 'block');
    const res = await t.collect('/v1/batch', {
      context: { app: { version: '2' } },
      batch: [
        { type: 'track', userId: 'u1', event: 'Order Completed', messageId: 'good', properties: { orderId: 'o1' } },
        { type: 'track', userId: 'u1', event: 'Order Completed', messageId: 'blocked', properties: { orderId: 7 } },
      ],
    });
    expect(await res.json()).toMatchObject({ accepted: 1, quarantined: 1 });
    await t.settle();
    expect(await eventsOf('good')).toHaveLength(1);
    expect(await eventsOf('blocked')).toHaveLength(0);
    const held = (await (await t.admin('/quarantine')).json()).data;
    expect(held).toHaveLength(1);
    expect(held[0]).toMatchObject({ messageId: 'blocked', source: 'default', status: 'held', event: 'Order Completed' });
    expect(held[0].reasons).toEqual([{ kind: 'type_mismatch', path: 'properties.orderId', message: 'properties.orderId must be string, not integer' }]);
  });

  it('applies the unplanned-event policy: allow ignores, flag records without blocking, block quarantines', async () => {
    const send = (messageId: string) => t.collect('/v1/track', { userId: 'u1', event: 'Mystery', messageId, context: { app: { version: '1' } } });
    for (const [policy, id] of [['allow', 'a'], ['flag', 'f'], ['block', 'b']] as const) {
      await usePlan({ ...PLAN, unplannedEvents: policy }, 'block');
      const body = await (await send(id)).json();
      expect(body.quarantined, policy).toBe(policy === 'block' ? 1 : 0);
    }
    await t.settle();
    expect((await eventsOf('a'))[0].violations).toEqual([]);
    expect((await eventsOf('f'))[0].violations.map((v) => v.kind)).toEqual(['unplanned_event']);
    expect(await eventsOf('b')).toHaveLength(0);
    const held = (await (await t.admin('/quarantine?reason=unplanned_event')).json()).data;
    expect(held.map((q: { messageId: string }) => q.messageId)).toEqual(['b']);
  });

  it('does not check sources in allow mode, and unplanned properties flagged by policy do not block', async () => {
    await usePlan(PLAN, 'allow');
    await t.collect('/v1/track', { userId: 'u1', event: 'Mystery', messageId: 'allowed' });
    await usePlan({ ...PLAN, unplannedProperties: 'flag' }, 'block');
    await t.collect('/v1/track', { userId: 'u1', event: 'Order Completed', messageId: 'extra', properties: { orderId: 'o', coupon: 'X' }, context: { app: { version: '1' } } });
    await t.settle();
    expect((await eventsOf('allowed'))[0].violations).toEqual([]);
    expect((await eventsOf('extra'))[0].violations).toEqual([{ kind: 'unplanned_property', path: 'properties.coupon', message: 'properties.coupon is not in the tracking plan' }]);
  });
});
