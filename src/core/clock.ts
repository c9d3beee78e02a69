/** Time is injected: domain code asks a Clock, never the system directly (ARCHITECTURE.md, invariant 4). */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** A clock that only moves when told to; sleepers wake when the clock passes their deadline. */
export class ManualClock implements Clock {
  private sleepers: { until: number; wake: () => void }[] = [];
  constructor(private current = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.current;
  }
  sleep(ms: number): Promise<void> {
    return new Promise((wake) => this.sleepers.push({ until: this.current + ms, wake }));
  }
  advance(ms: number): void {
    this.set(this.current + ms);
  }
  set(time: number): void {
    this.current = time;
    const due = this.sleepers.filter((s) => s.until <= time);
    this.sleepers = this.sleepers.filter((s) => s.until > time);
    for (const s of due) s.wake();
  }
}
