import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTandem, type Running } from '../../test/harness.js';

describe('collection endpoints', () => {
  let t: Running;
  beforeEach(async () => {
    t = await startTandem();
  });
  afterEach(async () => t.stop());

  it('keeps the valid messages of a batch and reports each invalid one with its path', async () => {
    const res = await t.collect('/v1/batch', {
      batch: [
        { type: 'track', userId: 'u1', event: 'Order Completed', properties: { total: 10 } },
        { type: 'track', userId: 'u2' },
        { type: 'identify', traits: { email: 'x@example.com' } },
      ],
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.accepted).toBe(1);
    expect(body.errors.map((e: { path: string }) => e.path)).toEqual(['batch[1].event', 'batch[2].userId']);
    await t.settle();
    const events = await (await t.admin('/events')).json();
    expect(events.data).toHaveLength(1);
    expect(events.data[0].message).toMatchObject({ type: 'track', userId: 'u1', event: 'Order Completed', properties: { total: 10 } });
  });

  it('merges batch context under each message and corrects clock skew from sentAt', async () => {
    const res = await t.collect('/v1/batch', {
      context: { library: { name: 'lib', version: '1' }, ip: '1.2.3.4' },
      sentAt: '2026-01-01T00:10:00.000Z',
      batch: [{ type: 'track', userId: 'u1', event: 'A', messageId: 'm-1', timestamp: '2026-01-01T00:09:00.000Z', context: { library: { version: '2' } } }],
    });
    expect(res.status).toBe(200);
    await t.settle();
    const [event] = (await (await t.admin('/events?messageId=m-1')).json()).data;
    expect(event.message.context).toEqual({ library: { name: 'lib', version: '2' }, ip: '1.2.3.4' });
    const received = Date.parse(event.message.receivedAt);
    expect(Date.parse(event.message.timestamp)).toBe(received - 60_000);
    expect(event.message.originalTimestamp).toBe('2026-01-01T00:09:00.000Z');
  });

  it('refuses a batch over the message limit with a 400 naming the limit', async () => {
    const batch = Array.from({ length: 2501 }, (_, i) => ({ type: 'track', userId: `u${i}`, event: 'E' }));
    const res = await t.collect('/v1/batch', { batch });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error.message).toContain('2500 messages per batch');
  });

  it('deduplicates on messageId', async () => {
    for (let i = 0; i < 3; i++) await t.collect('/v1/track', { userId: 'u1', event: 'E', messageId: 'same' });
    await t.settle();
    const events = await (await t.admin('/events?messageId=same')).json();
    expect(events.data).toHaveLength(1);
  });

  it('answers 401 without a valid write key', async () => {
    const res = await fetch(`${t.url}/v1/track`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId: 'u', event: 'E' }) });
    expect(res.status).toBe(401);
    const withBodyKey = await fetch(`${t.url}/v1/track`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId: 'u', event: 'E', writeKey: t.writeKey }) });
    expect(withBodyKey.status).toBe(200);
  });
});
