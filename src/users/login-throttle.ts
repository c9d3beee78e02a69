import type { Clock } from '../core/clock.js';

/**
 * Slows password guessing: after `limit` failed sign-ins for one user name within `windowMs`, that name is refused
 * until the window has passed since the first of those failures. A success clears the count. Kept in memory: a
 * restart forgets it, which only gives a guesser one more window.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, { first: number; count: number }>();

  constructor(private readonly clock: Clock, private readonly limit = 10, private readonly windowMs = 15 * 60_000) {}

  /** Milliseconds until the name may try again (0: now). */
  retryAfter(name: string): number {
    const f = this.failures.get(name);
    if (!f) return 0;
    const left = f.first + this.windowMs - this.clock.now();
    if (left <= 0) {
      this.failures.delete(name);
      return 0;
    }
    return f.count >= this.limit ? left : 0;
  }

  failed(name: string): void {
    const now = this.clock.now();
    const f = this.failures.get(name);
    if (!f || f.first + this.windowMs <= now) this.failures.set(name, { first: now, count: 1 });
    else f.count++;
    // Bounded: a flood of made-up names cannot grow the map without end.
    if (this.failures.size > 100_000) for (const [k, v] of this.failures) if (v.first + this.windowMs <= now) this.failures.delete(k);
  }

  succeeded(name: string): void {
    this.failures.delete(name);
  }
}
