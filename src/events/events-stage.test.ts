import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { startTandem, type Running } from '../../test/harness.js';

describe('events stage', () => {
  let t: Running;
  afterEach(async () => t.stop());

  it('drops a repeated messageId inside the dedup window and accepts it again after the window', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    t = await startTandem({ clock, config: { collect: { dedupWindow: '1h' } } });
    const send = () => t.collect('/v1/track', { userId: 'u', event: 'E', messageId: 'repeat' });
    await send();
    clock.advance(59 * 60_000);
    await send();
    await t.settle();
    expect((await (await t.admin('/events?messageId=repeat')).json()).data).toHaveLength(1);
    clock.advance(2 * 60_000);
    await send();
    await t.settle();
    expect((await (await t.admin('/events?messageId=repeat')).json()).data).toHaveLength(2);
  });

  it('copies stored events into the warehouse in order', async () => {
    t = await startTandem();
    await t.collect('/v1/batch', { batch: [1, 2, 3].map((i) => ({ type: 'track', userId: `u${i}`, event: 'W', messageId: `w${i}` })) });
    await t.settle();
    await t.app.sink.drain();
    const rows = await t.app.warehouse.query("SELECT message_id, user_id, event FROM events WHERE event = ? ORDER BY id", ['W']);
    expect(rows).toEqual([1, 2, 3].map((i) => ({ message_id: `w${i}`, user_id: `u${i}`, event: 'W' })));
  });

  it('deletes processed log batches older than the retention, and keeps newer ones and the stored events', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    t = await startTandem({ clock, config: { storage: { logRetention: '7d' } } });
    await t.collect('/v1/track', { userId: 'u', event: 'Old', messageId: 'old' });
    clock.advance(6 * 86_400_000);
    await t.collect('/v1/track', { userId: 'u', event: 'New', messageId: 'new' });
    await t.settle();
    const payloads = async () => (await t.app.log.read(0, 0, 100)).map((r) => JSON.parse(r.payload)[0].message.messageId);
    expect(await payloads()).toEqual(['old', 'new']);
    clock.advance(2 * 86_400_000);
    await t.app.events.prune(clock.now());
    expect(await payloads()).toEqual(['new']);
    const stored = (await (await t.admin('/events')).json()).data.map((e: { message: { messageId: string } }) => e.message.messageId);
    expect(stored).toEqual(['new', 'old']);
  });
});
