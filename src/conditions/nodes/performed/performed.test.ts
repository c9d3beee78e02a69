import { describe, expect, it } from 'vitest';
import { createStreamingEvaluator } from '../../streaming.js';
import { parseCondition } from '../../parse.js';
import { DAY, holds, HOUR, MINUTE, nextChange, NOW, track } from '../../test-support.js';

describe('performed', () => {
  const added = (ago: number, properties = {}) => track('Product Added', NOW - ago, properties);

  it('within 24h: an event 23h ago counts, one exactly 24h ago does not', async () => {
    const def = { performed: 'Product Added', within: '24h' };
    expect(await holds(def, { events: [added(23 * HOUR)] })).toBe(true);
    expect(await holds(def, { events: [added(24 * HOUR)] })).toBe(false);
    // The window (now - 24h, now] loses the 23h-old event one hour from now.
    expect(nextChange(def, { events: [added(23 * HOUR)] })).toBe(NOW + HOUR);
  });

  it('ignores events after the instant of evaluation and other event names', async () => {
    expect(await holds({ performed: 'Product Added' }, { events: [track('Product Added', NOW + 1), track('Order Completed', NOW - 1)] })).toBe(false);
  });

  it('counts: three orders in 7 days, the oldest leaving first', async () => {
    const def = { performed: 'Order Completed', count: { gte: 3 }, within: '7d' };
    const events = [track('Order Completed', NOW - 6 * DAY), track('Order Completed', NOW - 2 * DAY), track('Order Completed', NOW - HOUR)];
    expect(await holds(def, { events })).toBe(true);
    expect(await holds(def, { events: events.slice(1) })).toBe(false);
    // The 6-day-old order leaves the window in 1 day; then only 2 remain.
    expect(nextChange(def, { events })).toBe(NOW + DAY);
  });

  it('count below a threshold becomes true when enough events leave the window', async () => {
    const def = { performed: 'Order Completed', count: { lt: 2 }, within: '1d' };
    const events = [track('Order Completed', NOW - 20 * HOUR), track('Order Completed', NOW - 10 * HOUR), track('Order Completed', NOW - 5 * HOUR)];
    expect(await holds(def, { events })).toBe(false);
    // 3 in the window; the count drops to 2 at +4h (still not < 2) and to 1 at +14h.
    expect(nextChange(def, { events })).toBe(NOW + 14 * HOUR);
  });

  it('filters on properties, without coercion', async () => {
    const def = { performed: 'Order Completed', where: [{ property: 'total', gte: 100 }, { property: 'shipping.country', eq: 'FR' }] };
    expect(await holds(def, { events: [track('Order Completed', NOW - 1, { total: 120, shipping: { country: 'FR' } })] })).toBe(true);
    expect(await holds(def, { events: [track('Order Completed', NOW - 1, { total: '120', shipping: { country: 'FR' } })] })).toBe(false);
    expect(await holds(def, { events: [track('Order Completed', NOW - 1, { total: 99.5, shipping: { country: 'FR' } })] })).toBe(false);
  });

  it('absolute window between [from, to) includes from and excludes to', async () => {
    const def = { performed: 'Signed Up', between: ['2024-01-01', '2024-01-08'] };
    expect(await holds(def, { events: [track('Signed Up', Date.UTC(2024, 0, 1))] })).toBe(true);
    expect(await holds(def, { events: [track('Signed Up', Date.UTC(2024, 0, 8))] })).toBe(false);
    expect(nextChange(def, { events: [track('Signed Up', Date.UTC(2024, 0, 1))] })).toBeUndefined();
  });

  it('never performed: count eq 0', async () => {
    expect(await holds({ performed: 'Order Completed', count: { eq: 0 } })).toBe(true);
  });

  it('keeps at most count + 1 timestamps for a window', () => {
    const evaluator = createStreamingEvaluator(parseCondition({ performed: 'A', count: { gte: 3 }, within: '7d' }));
    let state = evaluator.init();
    for (let i = 0; i < 50; i++) state = evaluator.onEvent(state, track('A', NOW - i * MINUTE));
    expect(state).toEqual([NOW, NOW - MINUTE, NOW - 2 * MINUTE, NOW - 3 * MINUTE]);
  });
});
