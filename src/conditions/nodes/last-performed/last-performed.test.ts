import { describe, expect, it } from 'vitest';
import { DAY, holds, nextChange, NOW, track } from '../../test-support.js';

describe('last_performed and first_performed', () => {
  const order = (daysAgo: number, total = 50) => track('Order Completed', NOW - daysAgo * DAY, { total });

  it('last order more than 30 days ago', async () => {
    const def = { last_performed: 'Order Completed', ago: { gt: '30d' } };
    expect(await holds(def, { events: [order(40), order(31)] })).toBe(true);
    expect(await holds(def, { events: [order(40), order(10)] })).toBe(false);
    // No order at all is not "last order more than 30 days ago".
    expect(await holds(def)).toBe(false);
    // The last order, 10 days ago, is more than 30 days old 20 days (and 1 ms) from now.
    expect(nextChange(def, { events: [order(40), order(10)] })).toBe(NOW + 20 * DAY + 1);
  });

  it('first order between 7 and 14 days ago, with a property filter', async () => {
    const def = { first_performed: 'Order Completed', where: [{ property: 'total', gte: 100 }], ago: { gte: '7d', lt: '14d' } };
    expect(await holds(def, { events: [order(20, 10), order(9, 150), order(1, 150)] })).toBe(true);
    expect(await holds(def, { events: [order(20, 150), order(9, 150)] })).toBe(false);
    // First big order 9 days ago leaves the [7d, 14d) range 5 days from now.
    expect(nextChange(def, { events: [order(9, 150)] })).toBe(NOW + 5 * DAY);
  });
});
