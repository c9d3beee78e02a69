import { describe, expect, it } from 'vitest';
import { BatchSizer, LoadShare } from './stage-loop.js';

const spin = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* request handling keeping the loop busy */ }
};
const idle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('LoadShare', () => {
  it('lets background turns use the idle loop while requests arrive', async () => {
    const load = new LoadShare(0.2);
    for (let i = 0; i < 30; i++) {
      load.requestSeen();
      await idle(10); // light traffic: the loop mostly waits
    }
    expect(load.busy()).toBe(true);
    expect(load.pauseAfter(3)).toBe(0);
  });

  it('holds background turns to the share when requests alone saturate the loop', async () => {
    const load = new LoadShare(0.2);
    // Requests alone use nearly all the loop for more than one judging window.
    for (let i = 0; i < 30; i++) {
      load.requestSeen();
      spin(10);
      await new Promise((r) => setImmediate(r));
    }
    load.requestSeen();
    const pause = load.pauseAfter(3);
    // A 3 ms turn at a 20% share is followed by about 12 ms of foreground time.
    expect(pause).toBeGreaterThan(8);
    expect(pause).toBeLessThanOrEqual(12);
  });

  it('runs flat out once requests stop', async () => {
    const load = new LoadShare(0.2);
    load.requestSeen();
    spin(250);
    await idle(60);
    expect(load.busy()).toBe(false);
    expect(load.pauseAfter(3)).toBe(0);
  });
});

describe('BatchSizer', () => {
  it('sizes busy batches to about a turn from the measured cost, idle batches to the maximum', () => {
    const sizer = new BatchSizer(50, 5000, 3);
    expect(sizer.size(true)).toBe(1); // nothing measured yet: one item
    expect(sizer.size(false)).toBe(5000);
    sizer.record(10, 5); // 0.5 ms an item
    expect(sizer.size(true)).toBe(6);
    for (let i = 0; i < 50; i++) sizer.record(100, 1); // 0.01 ms an item: capped
    expect(sizer.size(true)).toBe(50);
    for (let i = 0; i < 50; i++) sizer.record(1, 40); // an item costs more than a turn: still one at a time
    expect(sizer.size(true)).toBe(1);
  });
});
