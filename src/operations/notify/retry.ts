/** How a failed notification is retried (alert rule field `retry`). */
export interface RetryPolicy {
  /** Attempts in all, the first included (1: never retried). */
  attempts: number;
  /** Delay before the first retry, before jitter; doubles at each retry. */
  backoffMs: number;
  /** Cap of the doubled delay. */
  maxBackoffMs: number;
}

export const RETRY_DEFAULTS: RetryPolicy = { attempts: 5, backoffMs: 30_000, maxBackoffMs: 15 * 60_000 };

/**
 * The delay before retry `k` (1 = the first retry): exponential backoff capped at maxBackoffMs, with "equal jitter"
 * (half of the delay fixed, the other half uniformly random), so retries of many alerts after one outage spread out
 * while each still waits at least half its backoff. `random` returns a number in [0, 1).
 */
export function retryDelay(k: number, p: RetryPolicy, random: () => number): number {
  const d = Math.min(p.maxBackoffMs, p.backoffMs * 2 ** (k - 1));
  return Math.round(d / 2 + random() * (d / 2));
}
