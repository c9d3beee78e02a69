import { describe, expect, it } from 'vitest';
import { holds, profile } from '../../test-support.js';

describe('bucket', () => {
  // Buckets computed independently with `echo -n spring:p1 | md5sum`: 0x3ea28fce % 100 = 38, p2 = 32, p3 = 12.
  it('puts each profile in the bucket of md5(salt:id)', async () => {
    expect(await holds({ bucket: { salt: 'spring', gte: 38, lt: 39 } }, { profile: profile({ id: 'p1' }) })).toBe(true);
    expect(await holds({ bucket: { salt: 'spring', lt: 32 } }, { profile: profile({ id: 'p2' }) })).toBe(false);
    expect(await holds({ bucket: { salt: 'spring', lt: 13 } }, { profile: profile({ id: 'p3' }) })).toBe(true);
  });
});
