import { describe, expect, it } from 'vitest';
import { holds, profile } from '../../test-support.js';

describe('computed', () => {
  it('reads computed traits, not traits', async () => {
    const p = profile({ traits: { lifetime_revenue: 500 }, computed: { lifetime_revenue: 80 } });
    expect(await holds({ computed: 'lifetime_revenue', gte: 100 }, { profile: p })).toBe(false);
    expect(await holds({ computed: 'lifetime_revenue', lt: 100 }, { profile: p })).toBe(true);
  });
});
