import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTandem, type Running } from '../../../test/harness.js';
import { ManualClock } from '../../core/clock.js';

type Item = { id: number; messageId: string; status: string; reasons: { kind: string; path: string; message: string }[]; message: Record<string, unknown>; source: string; event: string | null; receivedAt: string };

const PLAN = {
  key: 'shop',
  events: {
    'Order Completed': { type: 'object', required: ['orderId', 'total'], properties: { orderId: { type: 'string' }, total: { type: 'number' } } },
    'Product Viewed': { type: 'object', required: ['sku'], properties: { sku: { type: 'string' } } },
  },
  unplannedEvents: 'block',
};

describe('quarantine', () => {
  let t: Running;
  let clock: ManualClock;
  beforeEach(async () => {
    clock = new ManualClock(Date.UTC(2026, 2, 1, 12));
    t = await startTandem({ clock });
    expect((await t.admin('/tracking-plans', { method: 'POST', json: PLAN })).status).toBe(201);
    expect((await t.admin('/sources/default', { method: 'PUT', json: { key: 'default', trackingPlan: 'shop', mode: 'block' } })).status).toBe(200);
  });
  afterEach(async () => t.stop());

  const list = async (query = '') => (await (await t.admin(`/quarantine${query}`)).json()) as { data: Item[]; next?: number };
  const item = async (id: number) => (await (await t.admin(`/quarantine/${id}`)).json()) as Item;
  const replay = async (body: unknown) => {
    const res = await t.admin('/quarantine/replay', { method: 'POST', json: body });
    expect(res.status, JSON.stringify(await res.clone().json())).toBe(200);
    return res.json();
  };
  const hold = async (messageId: string, properties: Record<string, unknown>, event = 'Order Completed', userId = 'u1') => {
    const body = await (await t.collect('/v1/track', { userId, event, messageId, properties })).json();
    expect(body.quarantined).toBe(1);
  };
  const idOf = async (messageId: string) => (await list()).data.find((q) => q.messageId === messageId)!.id;
  const eventsOf = async (messageId: string) => (await (await t.admin(`/events?messageId=${messageId}`)).json()).data as { violations: unknown[]; message: Record<string, unknown> }[];

  it('replays a message fixed by a JSON patch: it reaches the events and the item is marked replayed', async () => {
    await hold('m1', { orderId: 'o1', total: '12.50' });
    await t.settle();
    const id = await idOf('m1');
    const inspected = await item(id);
    expect(inspected).toMatchObject({ id, messageId: 'm1', source: 'default', status: 'held', event: 'Order Completed', receivedAt: '2026-03-01T12:00:00.000Z' });
    expect(inspected.reasons).toEqual([{ kind: 'type_mismatch', path: 'properties.total', message: 'properties.total must be number, not string' }]);
    expect(inspected.message).toMatchObject({ type: 'track', properties: { orderId: 'o1', total: '12.50' } });

    const answer = await replay({ ids: [id], patch: [{ op: 'replace', path: '/properties/total', value: 12.5 }] });
    expect(answer).toEqual({ dryRun: false, replayed: 1, held: 0, results: [{ id, outcome: 'replayed' }] });
    await t.settle();

    const [event] = await eventsOf('m1');
    expect(event.message).toMatchObject({ properties: { orderId: 'o1', total: 12.5 }, receivedAt: '2026-03-01T12:00:00.000Z' });
    expect(event.violations).toEqual([]);
    expect((await item(id)).status).toBe('replayed');
    // Replaying again is refused per item: it has left the quarantine.
    expect((await replay({ ids: [id] })).results[0]).toMatchObject({ outcome: 'not_held', status: 'replayed' });
    const audit = (await (await t.admin('/audit')).json()).data as { action: string; detail: { replayed: number[] } }[];
    expect(audit.find((a) => a.action === 'quarantine.replay')!.detail.replayed).toEqual([id]);
  });

  it('keeps a message that still fails held, with its new reasons and the edited message', async () => {
    await hold('m2', { total: 'x' });
    await t.settle();
    const id = await idOf('m2');
    const answer = await replay({ ids: [id], patch: [{ op: 'add', path: '/properties/orderId', value: 42 }] });
    expect(answer.held).toBe(1);
    expect(answer.results[0].outcome).toBe('held');
    expect(answer.results[0].reasons.map((r: { kind: string; path: string }) => [r.kind, r.path])).toEqual([
      ['type_mismatch', 'properties.orderId'],
      ['type_mismatch', 'properties.total'],
    ]);
    await t.settle();
    const after = await item(id);
    expect(after.status).toBe('held');
    expect(after.reasons).toEqual(answer.results[0].reasons);
    expect(after.message).toMatchObject({ properties: { orderId: 42, total: 'x' } });
    expect(await eventsOf('m2')).toHaveLength(0);

    // A patch that cannot be applied leaves the item as it was and says which operation failed.
    const failed = await replay({ ids: [id, 9999], patch: [{ op: 'test', path: '/properties/total', value: 'y' }] });
    expect(failed.results).toEqual([
      { id, outcome: 'failed', error: expect.objectContaining({ code: 'patch_failed', path: 'patch[0]' }) },
      { id: 9999, outcome: 'not_found', error: expect.objectContaining({ code: 'not_found' }) },
    ]);

    // Renaming the event to one the plan does not know: held under its new name, which the list filter finds.
    const renamed = await replay({ ids: [id], patch: [{ op: 'replace', path: '/event', value: 'Order Done' }] });
    expect(renamed.results[0].reasons).toEqual([expect.objectContaining({ kind: 'unplanned_event', path: 'event' })]);
    expect((await list('?event=Order%20Done')).data.map((i) => i.id)).toEqual([id]);
  });

  it('renames fields with a mapping, and a dry run changes nothing', async () => {
    await hold('m3', { orderId: 'o3', amount: 9 });
    await t.settle();
    const id = await idOf('m3');
    const dry = await replay({ ids: [id], mapping: { 'properties.amount': 'properties.total' }, dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, replayed: 1, results: [{ id, outcome: 'replayed', message: { properties: { orderId: 'o3', total: 9 } } }] });
    await t.settle();
    expect((await item(id)).status).toBe('held');
    expect(await eventsOf('m3')).toHaveLength(0);

    await replay({ ids: [id], mapping: { 'properties.amount': 'properties.total' } });
    await t.settle();
    expect((await eventsOf('m3'))[0].message.properties).toEqual({ orderId: 'o3', total: 9 });
    expect((await item(id)).status).toBe('replayed');
  });

  it('replays under the source\'s current mode: in flag mode violations are recorded on the event', async () => {
    await hold('m4', { orderId: 'o4' });
    await t.settle();
    await t.admin('/sources/default', { method: 'PUT', json: { key: 'default', trackingPlan: 'shop', mode: 'flag' } });
    const answer = await replay({ ids: [await idOf('m4')] });
    expect(answer.results[0]).toMatchObject({ outcome: 'replayed', reasons: [{ kind: 'required_missing', path: 'properties.total' }] });
    await t.settle();
    expect((await eventsOf('m4'))[0].violations).toEqual([expect.objectContaining({ kind: 'required_missing', path: 'properties.total' })]);
  });

  it('discards held messages with a reason that is audited', async () => {
    await hold('d1', {});
    await hold('d2', {});
    await t.settle();
    const [d1, d2] = [await idOf('d1'), await idOf('d2')];
    const res = await t.admin('/quarantine/discard', { method: 'POST', json: { ids: [d1, 12345], reason: 'test traffic' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ discarded: 1, results: [{ id: d1, outcome: 'discarded' }, { id: 12345, outcome: 'not_found' }] });
    expect((await item(d1)).status).toBe('discarded');
    expect((await item(d2)).status).toBe('held');
    const audit = (await (await t.admin('/audit')).json()).data as { action: string; detail: unknown }[];
    expect(audit.find((a) => a.action === 'quarantine.discard')!.detail).toEqual({ ids: [d1], reason: 'test traffic' });
    expect((await replay({ ids: [d1] })).results[0].outcome).toBe('not_held');
    expect((await t.admin('/quarantine/discard', { method: 'POST', json: { ids: [d2] } })).status).toBe(400);
  });

  it('filters the list by source, reason, event, status and time, newest first, with paging', async () => {
    const created = await t.admin('/sources', { method: 'POST', json: { key: 'app', trackingPlan: 'shop', mode: 'block' } });
    const appKey = (await created.json()).writeKey as string;
    await hold('f1', { orderId: 1, total: 1 });
    clock.advance(60_000);
    await hold('f2', {}, 'Product Viewed');
    clock.advance(60_000);
    await hold('f3', {}, 'Unknown Event');
    const viaApp = await fetch(`${t.url}/v1/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${appKey}:`).toString('base64')}` },
      body: JSON.stringify({ userId: 'u9', event: 'Order Completed', messageId: 'f4', properties: { orderId: 'o' } }),
    });
    expect((await viaApp.json()).quarantined).toBe(1);
    await t.settle();
    const ids = async (q: string) => (await list(q)).data.map((i) => i.messageId);

    expect(await ids('')).toEqual(['f4', 'f3', 'f2', 'f1']);
    expect(await ids('?source=app')).toEqual(['f4']);
    expect(await ids('?source=nope')).toEqual([]);
    expect(await ids('?reason=type_mismatch')).toEqual(['f1']);
    expect(await ids('?reason=required_missing')).toEqual(['f4', 'f2']);
    expect(await ids('?reason=unplanned_event')).toEqual(['f3']);
    expect(await ids('?event=Product%20Viewed')).toEqual(['f2']);
    expect(await ids(`?from=${encodeURIComponent('2026-03-01T12:01:00.000Z')}&to=${encodeURIComponent('2026-03-01T12:02:00.000Z')}`)).toEqual(['f2']);

    await t.admin('/quarantine/discard', { method: 'POST', json: { ids: [await idOf('f3')], reason: 'noise' } });
    expect(await ids('?status=discarded')).toEqual(['f3']);
    expect(await ids('?status=held')).toEqual(['f4', 'f2', 'f1']);

    const page1 = await list('?limit=2');
    expect(page1.data.map((i) => i.messageId)).toEqual(['f4', 'f3']);
    expect(await ids(`?limit=2&before=${page1.next}`)).toEqual(['f2', 'f1']);
    expect((await t.admin('/quarantine?status=lost')).status).toBe(400);
    expect((await t.admin('/quarantine/424242')).status).toBe(404);

    const openapi = await (await fetch(`${t.url}/api/v1/openapi.json`)).json();
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/api/v1/quarantine', '/api/v1/quarantine/{id}', '/api/v1/quarantine/replay', '/api/v1/quarantine/discard', '/api/v1/tracking-plans', '/api/v1/tracking-plans/{key}']));
  });
});
