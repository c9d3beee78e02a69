import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/** How far back the loop's use is judged when deciding whether background work must hold back. */
const WINDOW_MS = 200;

/**
 * Request handling and the background stages (events, resolve, apply, ...) share one event loop. Collection
 * comes first, but background work is not starved: while requests keep arriving, background turns take the loop
 * time that request handling leaves idle, and at least `share` of it; only when requests alone keep the loop
 * nearly busy (a saturating ingest) are the background turns held to `share`, and the durable log holds the
 * backlog. When requests stop, the stages run flat out and catch up.
 */
export class LoadShare {
  private lastRequest = -Infinity;
  /** Earliest start of the next background turn while the loop is saturated, shared by every stage. */
  private nextTurn = -Infinity;
  /** The loop's use and the background turns' time since the start of the current window. */
  private windowStart = performance.now();
  private windowElu: EventLoopUtilization = performance.eventLoopUtilization();
  private backgroundMs = 0;
  /** Share of the last window the loop spent on anything but background turns. */
  private foreground = 0;

  constructor(readonly share = 0.2) {}

  /** Called as each request starts. */
  requestSeen(): void {
    this.lastRequest = performance.now();
  }

  /** Whether requests arrived in the last 50 ms (scheduling uses a monotonic timer, not the domain clock). */
  busy(): boolean {
    return performance.now() - this.lastRequest < 50;
  }

  /**
   * Whether request handling alone used most of the loop lately: then background turns keep to their share.
   * Otherwise they may use the idle time, one short turn at a time with I/O polled in between.
   */
  saturated(): boolean {
    const now = performance.now();
    if (now - this.windowStart >= WINDOW_MS) {
      const elu = performance.eventLoopUtilization(this.windowElu);
      const span = now - this.windowStart;
      this.foreground = Math.max(0, elu.utilization - this.backgroundMs / span);
      this.windowElu = performance.eventLoopUtilization();
      this.windowStart = now;
      this.backgroundMs = 0;
    }
    return this.foreground >= 1 - this.share;
  }

  /**
   * Pause before the next background turn, after one of `turnMs`. The budget is shared: all stages together stay
   * within the share when the loop is saturated, however many there are.
   */
  pauseAfter(turnMs: number): number {
    this.backgroundMs += turnMs;
    const now = performance.now();
    if (!this.busy() || !this.saturated()) {
      this.nextTurn = -Infinity;
      return 0;
    }
    this.nextTurn = Math.max(this.nextTurn, now) + (turnMs * (1 - this.share)) / this.share;
    return this.wait();
  }

  /** How long a background turn must wait now to stay within the share (0 unless requests saturate the loop). */
  wait(): number {
    if (!this.busy() || !this.saturated()) return 0;
    return Math.max(0, Math.min(250, this.nextTurn - performance.now()));
  }
}

/** One step of a stage: does work until `deadline` (a performance.now() value) and says whether work remains. */
export type StageStep = (deadline: number) => Promise<boolean>;

const TURN_MS = 3;

/**
 * Sizes a stage's batches from its measured cost per item, so that while requests arrive one batch takes about a
 * turn (a request waits at most that long), and when they stop batches are large (a commit per batch is cheaper).
 */
export class BatchSizer {
  private msPerItem = 0;
  constructor(
    private readonly busyMax: number,
    private readonly idle: number,
    private readonly turnMs = TURN_MS,
  ) {}

  size(busy: boolean): number {
    if (!busy) return this.idle;
    if (this.msPerItem === 0) return 1;
    return Math.max(1, Math.min(this.busyMax, Math.floor(this.turnMs / this.msPerItem)));
  }

  /** Records a batch of `items` that took `ms`. */
  record(items: number, ms: number): void {
    if (items <= 0) return;
    const m = ms / items;
    this.msPerItem = this.msPerItem === 0 ? m : 0.8 * this.msPerItem + 0.2 * m;
  }
}

/**
 * Runs a stage's steps in short turns: woken by new input, on a slow timer as a safety net, and drained
 * explicitly by tests and at shutdown. A failed step is retried on the next wake-up (stages commit their
 * position with their effects, so a retry repeats nothing).
 */
export class StageLoop {
  private running = false;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  /** Steps never overlap: a drain and a scheduled turn would otherwise both start from the same position. */
  private lock: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly name: string,
    private readonly step: StageStep,
    private readonly load: LoadShare,
    private readonly intervalMs = 1000,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.wake(), this.intervalMs);
    this.timer.unref();
    this.wake();
  }

  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.schedule(this.load.wait());
  }

  private schedule(pause: number): void {
    if (pause > 0) setTimeout(() => void this.turn(), pause);
    else setImmediate(() => void this.turn());
  }

  /** Runs steps until no work remains. */
  async drain(): Promise<void> {
    while (await this.exclusive(Infinity)) { /* until caught up */ }
  }

  /** Runs one step for at most `budgetMs`, counted from when it actually starts. */
  private exclusive(budgetMs: number): Promise<boolean> {
    const result = this.lock.then(() => this.step(performance.now() + budgetMs));
    this.lock = result.catch(() => undefined);
    return result;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    while (this.running) await new Promise((r) => setImmediate(r));
  }

  private async turn(): Promise<void> {
    const started = performance.now();
    const busy = this.load.busy();
    try {
      const more = await this.exclusive(TURN_MS);
      // Requests that arrived during the turn are not seen until the loop polls again: collection that was active
      // when the turn began counts as active still, or the next turn would take a large idle-sized batch.
      if (busy) this.load.requestSeen();
      const pause = this.load.pauseAfter(performance.now() - started); // every turn is charged to the shared budget
      if ((more || this.again) && !this.stopped) {
        this.again = false;
        this.schedule(pause);
        return;
      }
    } catch (error) {
      process.emitWarning(`${this.name} stage failed and will retry: ${(error as Error).message}`);
    }
    this.running = false;
  }
}
