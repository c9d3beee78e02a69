import { describe, expect, it } from 'vitest';
import { retryDelay, type RetryPolicy } from './retry.js';

describe('retryDelay', () => {
  const p: RetryPolicy = { attempts: 6, backoffMs: 30_000, maxBackoffMs: 120_000 };
  it('doubles the backoff at each retry up to the cap, half fixed and half jitter', () => {
    // random 0: half the backoff; random just below 1: the whole backoff. Backoffs 30s, 60s, 120s, 120s (capped).
    expect([1, 2, 3, 4].map((k) => retryDelay(k, p, () => 0))).toEqual([15_000, 30_000, 60_000, 60_000]);
    expect([1, 2, 3, 4].map((k) => retryDelay(k, p, () => 0.999999))).toEqual([30_000, 60_000, 120_000, 120_000]);
    expect(retryDelay(2, p, () => 0.5)).toBe(45_000);
  });
  it('spreads delays uniformly over [d/2, d]', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const xs = Array.from({ length: 4000 }, () => retryDelay(1, p, random));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(15_000);
    expect(Math.max(...xs)).toBeLessThanOrEqual(30_000);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    // Uniform on [15000, 30000]: mean 22500, standard error 15000 / sqrt(12 * 4000) = 68.5.
    expect(Math.abs(mean - 22_500)).toBeLessThan(4 * 68.5);
  });
});
