import { describe, expect, it } from 'vitest';
import { DAY, holds, HOUR, nextChange, NOW, profile } from '../../test-support.js';

const withTraits = (traits: Record<string, unknown>) => ({ profile: profile({ traits }) });

describe('trait', () => {
  it('exists: a present value, not null and not missing', async () => {
    expect(await holds({ trait: 'email', exists: true }, withTraits({ email: 'a@example.com' }))).toBe(true);
    expect(await holds({ trait: 'email', exists: true }, withTraits({ email: null }))).toBe(false);
    expect(await holds({ trait: 'email', exists: false }, withTraits({}))).toBe(true);
  });

  it('eq and neq do not coerce; neq is false on a missing value', async () => {
    expect(await holds({ trait: 'plan', eq: 'pro' }, withTraits({ plan: 'pro' }))).toBe(true);
    expect(await holds({ trait: 'age', eq: 30 }, withTraits({ age: '30' }))).toBe(false);
    expect(await holds({ trait: 'plan', neq: 'pro' }, withTraits({ plan: 'free' }))).toBe(true);
    expect(await holds({ trait: 'plan', neq: 'pro' }, withTraits({}))).toBe(false);
    expect(await holds({ trait: 'beta', eq: true }, withTraits({ beta: true }))).toBe(true);
  });

  it('numeric comparisons and between (inclusive) read numbers only', async () => {
    expect(await holds({ trait: 'age', gt: 17 }, withTraits({ age: 18 }))).toBe(true);
    expect(await holds({ trait: 'age', lte: 17 }, withTraits({ age: 18 }))).toBe(false);
    expect(await holds({ trait: 'age', between: [18, 30] }, withTraits({ age: 30 }))).toBe(true);
    expect(await holds({ trait: 'age', gte: 1 }, withTraits({ age: '5' }))).toBe(false);
  });

  it('in, contains (substring or array element), starts_with, and dotted paths', async () => {
    expect(await holds({ trait: 'plan', in: ['pro', 'team'] }, withTraits({ plan: 'team' }))).toBe(true);
    expect(await holds({ trait: 'email', contains: '@example' }, withTraits({ email: 'ann@example.com' }))).toBe(true);
    expect(await holds({ trait: 'tags', contains: 'vip' }, withTraits({ tags: ['new', 'vip'] }))).toBe(true);
    expect(await holds({ trait: 'tags', contains: 'vi' }, withTraits({ tags: ['new', 'vip'] }))).toBe(false);
    expect(await holds({ trait: 'email', starts_with: 'ann' }, withTraits({ email: 'ann@example.com' }))).toBe(true);
    expect(await holds({ trait: 'address.city', eq: 'Lyon' }, withTraits({ address: { city: 'Lyon' } }))).toBe(true);
  });

  it('before an absolute date, from an ISO string or epoch milliseconds', async () => {
    expect(await holds({ trait: 'signup', before: '2024-01-01' }, withTraits({ signup: '2023-12-31T23:59:59Z' }))).toBe(true);
    expect(await holds({ trait: 'signup', before: '2024-01-01' }, withTraits({ signup: Date.UTC(2024, 0, 1) }))).toBe(false);
    expect(await holds({ trait: 'signup', before: '2024-01-01' }, withTraits({ signup: 'last tuesday' }))).toBe(false);
  });

  it('a trial ending within 3 days from now, and when that changes', async () => {
    const def = { trait: 'trial_ends_at', before: { from_now: '3d' } };
    const example = withTraits({ trial_ends_at: new Date(NOW + 4 * DAY).toISOString() });
    // ends in 4 days: not yet before now + 3d; it will be 1 day (and 1 ms) from now.
    expect(await holds(def, example)).toBe(false);
    expect(nextChange(def, example)).toBe(NOW + DAY + 1);
    expect(await holds(def, { ...example, now: NOW + DAY + 1 })).toBe(true);
  });

  it('signed up more than 30 days ago becomes true at an exact instant', async () => {
    const def = { trait: 'signup', before: { ago: '30d' } };
    const example = withTraits({ signup: NOW - 29 * DAY });
    expect(await holds(def, example)).toBe(false);
    expect(nextChange(def, example)).toBe(NOW + DAY + 1);
  });

  it('within 7d: a date in the last 7 days, leaving it after 7 days', async () => {
    const def = { trait: 'last_login', within: '7d' };
    const example = withTraits({ last_login: NOW - 2 * HOUR });
    expect(await holds(def, example)).toBe(true);
    expect(nextChange(def, example)).toBe(NOW - 2 * HOUR + 7 * DAY);
    expect(await holds(def, withTraits({ last_login: NOW + HOUR }))).toBe(false);
  });
});
