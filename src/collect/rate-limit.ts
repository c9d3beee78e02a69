import type { Clock } from '../core/clock.js';

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the bucket is full again (RateLimit-Reset). */
  resetSeconds: number;
  /** Seconds to wait before the request would fit (Retry-After), when refused. */
  retryAfterSeconds: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** A token bucket per key (write key), counted in events. A request takes as many tokens as it has messages. */
export class RateLimiter {
  private buckets = new Map<string, Bucket>();
  constructor(private readonly clock: Clock) {}

  take(key: string, cost: number, perSecond: number, burst: number): RateDecision {
    const now = this.clock.now();
    const bucket = this.buckets.get(key) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
    this.buckets.set(key, bucket);
    // Bounded: keys by client address come and go; a bucket idle for a minute is (nearly) full, and is forgotten.
    if (this.buckets.size > 100_000) for (const [k, b] of this.buckets) if (now - b.at > 60_000) this.buckets.delete(k);
    // A request larger than the bucket is admitted when the bucket is full, so it can never be starved.
    const allowed = bucket.tokens >= Math.min(cost, burst);
    if (allowed) bucket.tokens -= cost;
    const remaining = Math.max(0, Math.floor(bucket.tokens));
    return {
      allowed,
      limit: burst,
      remaining,
      resetSeconds: Math.ceil((burst - bucket.tokens) / perSecond),
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((Math.min(cost, burst) - bucket.tokens) / perSecond)),
    };
  }
}
