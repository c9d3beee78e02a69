import type { Clock } from './clock.js';

/** The longest a schedule sleeps before it looks again (a definition changed elsewhere, a clock jump). */
const MAX_SLEEP_MS = 60_000;

/**
 * A slow-loop job's schedule on the Clock: runs `tick` (which does the due work and answers the next instant work
 * is due) until stopped, sleeping in between, woken early by wake() when a definition changes. `exclusive` keeps
 * a job's runs from overlapping (a tick's and one asked for through the API); the tick takes it where it needs.
 */
export class Schedule {
  private lock: Promise<unknown> = Promise.resolve();
  private wakeUp: (() => void) | undefined;
  private loopDone: Promise<void> | undefined;
  /** Set by stop(): a tick in progress can check it between units of work. */
  stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly tick: () => Promise<number | undefined>,
    private readonly onError: (error: Error) => void,
  ) {}

  start(): void {
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loopDone;
    await this.lock;
  }

  /** Looks at the schedule again now. */
  wake(): void {
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  /** Runs `fn` when no tick or other exclusive work is running. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let next: number | undefined;
      try {
        next = await this.tick();
      } catch (error) {
        this.onError(error as Error);
      }
      if (this.stopped) return;
      const wait = Math.min(Math.max(0, (next ?? Infinity) - this.clock.now()), MAX_SLEEP_MS);
      await new Promise<void>((resolve) => {
        this.wakeUp = resolve;
        void this.clock.sleep(wait).then(resolve);
      });
      this.wakeUp = undefined;
    }
  }
}
