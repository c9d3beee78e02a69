import { describe, expect, it } from 'vitest';
import { holds, nextChange, profile } from '../../test-support.js';

describe('in_audience, has_identifier, subscribed', () => {
  const p = profile({
    audiences: ['vip'],
    identifiers: [{ type: 'email', value: 'ann@example.com' }],
    subscriptions: { marketing_email: 'subscribed', sms: 'unsubscribed' },
  });

  it('reads the profile as it is', async () => {
    expect(await holds({ in_audience: 'vip' }, { profile: p })).toBe(true);
    expect(await holds({ in_audience: 'churn' }, { profile: p })).toBe(false);
    expect(await holds({ has_identifier: 'email' }, { profile: p })).toBe(true);
    expect(await holds({ has_identifier: 'phone' }, { profile: p })).toBe(false);
    expect(await holds({ subscribed: 'marketing_email' }, { profile: p })).toBe(true);
    expect(await holds({ subscribed: 'sms' }, { profile: p })).toBe(false);
    // Consent is opt-in: no record means not subscribed.
    expect(await holds({ subscribed: 'push' }, { profile: p })).toBe(false);
    expect(nextChange({ subscribed: 'marketing_email' }, { profile: p })).toBeUndefined();
  });
});
