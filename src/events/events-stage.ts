import type { LogEntry } from '../collect/message.js';
import type { Clock } from '../core/clock.js';
import type { Log } from '../core/ports/log.js';
import type { Store, StoredEvent } from '../core/ports/store.js';
import type { Metrics } from '../server/metrics.js';

export type EventListener = (events: StoredEvent[]) => void;

const CONSUMER = 'events';
// A turn blocks the event loop, so it ends after a few milliseconds: requests waiting to be acknowledged come
// first, and the log holds what is not yet stored. (CPU time slicing, not domain time: no Clock.)
const EVENTS_PER_TURN = 1000;
const TURN_MS = 3;
const RECORDS_PER_READ = 8;

/**
 * The first stage after the Log: deduplicates on (workspace, messageId) within the window, stores events and
 * quarantined messages, and commits its offset in the same Store transaction, so a crash at any point neither
 * loses nor duplicates an event. Runs whenever the log is appended to, and on a slow timer as a safety net.
 */
export class EventsStage {
  private running = false;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private listeners = new Set<EventListener>();
  private lastPrune = 0;

  constructor(
    private readonly log: Log,
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly metrics: Metrics,
    private readonly dedupWindowMs: number,
  ) {}

  start(): void {
    this.log.onAppend(() => this.wake());
    this.timer = setInterval(() => this.wake(), 1000);
    this.timer.unref();
    this.wake();
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    setImmediate(() => void this.turn());
  }

  /** Processes everything currently in the log; resolves when caught up (used by tests and shutdown). */
  async drain(): Promise<void> {
    while (await this.process(Number.MAX_SAFE_INTEGER)) { /* keep going until no record is left */ }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    while (this.running) await new Promise((r) => setImmediate(r));
  }

  private async turn(): Promise<void> {
    try {
      const more = await this.process(EVENTS_PER_TURN, performance.now() + TURN_MS);
      this.maybePrune();
      if (more || this.again) {
        this.again = false;
        setImmediate(() => void this.turn());
        return;
      }
    } catch (error) {
      // The offset was not committed, so the same records are retried on the next wake-up.
      process.emitWarning(`events stage failed and will retry: ${(error as Error).message}`);
    }
    this.running = false;
  }

  /** Handles log records across partitions until about `budget` events are done; returns true if records may remain. */
  private async process(budget: number, until = Infinity): Promise<boolean> {
    let handled = 0;
    let lag = 0;
    let more = false;
    for (let p = 0; p < this.log.partitions; p++) {
      const from = await this.store.events.offset(CONSUMER, p);
      const limit = Math.min(budget - handled, RECORDS_PER_READ);
      const records = await this.log.read(p, from, limit);
      if (records.length === limit) more = true;
      let last = from;
      for (const r of records) {
        const result = await this.store.events.accept({
          consumer: CONSUMER,
          partition: p,
          offset: r.offset,
          workspaceId: r.workspaceId,
          sourceId: r.sourceId,
          receivedAt: r.receivedAt,
          entries: JSON.parse(r.payload) as LogEntry[],
          dedupWindowMs: this.dedupWindowMs,
        });
        handled += Math.max(1, r.count);
        last = r.offset;
        if (result.duplicates) this.metrics.duplicates.inc(result.duplicates);
        if (result.stored.length) {
          this.metrics.stored.inc(result.stored.length);
          for (const listener of this.listeners) listener(result.stored);
        }
        if (performance.now() >= until) handled = budget;
        if (handled >= budget) break;
      }
      lag += (await this.log.head(p)) - last;
      if (handled >= budget) {
        this.metrics.lag.set(lag);
        return true;
      }
    }
    this.metrics.lag.set(lag);
    return more;
  }

  private maybePrune(): void {
    const now = this.clock.now();
    if (now - this.lastPrune < 3_600_000) return;
    this.lastPrune = now;
    void this.store.events.pruneDedup(now - this.dedupWindowMs);
  }
}
