import { describe, expect, it } from 'vitest';
import { DAY, holds, HOUR, nextChange, NOW, profile, track } from '../../test-support.js';

describe('all, any, not', () => {
  it('empty all is true, empty any is false', async () => {
    expect(await holds({ all: [] })).toBe(true);
    expect(await holds({ any: [] })).toBe(false);
  });

  it('the cart abandoned in the last day: added, not ordered, with an email, subscribed', async () => {
    const def = {
      all: [
        { performed: 'Product Added', within: '24h' },
        { not: { performed: 'Order Completed', within: '24h' } },
        { trait: 'email', exists: true },
        { subscribed: 'marketing_email' },
      ],
    };
    const p = profile({ traits: { email: 'ann@example.com' }, subscriptions: { marketing_email: 'subscribed' } });
    const added = track('Product Added', NOW - 3 * HOUR);
    expect(await holds(def, { profile: p, events: [added] })).toBe(true);
    expect(await holds(def, { profile: p, events: [added, track('Order Completed', NOW - HOUR)] })).toBe(false);
    // Leaves the audience when the add leaves the 24h window: 21 hours from now.
    expect(nextChange(def, { profile: p, events: [added] })).toBe(NOW + 21 * HOUR);
    // An order 23h ago stops blocking 1 hour from now; the earliest change wins.
    expect(nextChange(def, { profile: p, events: [added, track('Order Completed', NOW - 23 * HOUR)] })).toBe(NOW + HOUR);
  });

  it('any: one true branch is enough', async () => {
    expect(await holds({ any: [{ in_audience: 'vip' }, { performed: 'X', within: '1d' }] }, { events: [track('X', NOW - DAY + 1)] })).toBe(true);
  });
});
