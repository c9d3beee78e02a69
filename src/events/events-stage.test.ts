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
});
