import type { LogEntry } from '../collect/message.js';
import type { Clock } from '../core/clock.js';
import type { Log } from '../core/ports/log.js';
import type { AcceptBatch, Store, StoredEvent } from '../core/ports/store.js';
import { StageLoop, type LoadShare } from '../core/stage-loop.js';
import type { Metrics } from '../server/metrics.js';

export type EventListener = (events: StoredEvent[]) => void;
/** Rewrites log records' entries before they are deduplicated and stored (event functions: src/transforms). */
export type EntriesTransform = (batches: AcceptBatch[]) => Promise<AcceptBatch[]>;

/** The events stage's name in consumer_offsets (also read by collection's backlog guard). */
export const EVENTS_CONSUMER = 'events';
const CONSUMER = EVENTS_CONSUMER;
const RECORDS_PER_READ = 8;

/**
 * The first stage after the Log: deduplicates on (workspace, messageId) within the window, stores events and
 * quarantined messages, and commits its offset in the same Store transaction, so a crash at any point neither
 * loses nor duplicates an event. Runs whenever the log is appended to, and on a slow timer as a safety net.
 */
export class EventsStage {
  private readonly loop: StageLoop;
  private listeners = new Set<EventListener>();
  private lastPrune = 0;
  private transform: EntriesTransform | undefined;

  constructor(
    private readonly log: Log,
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly metrics: Metrics,
    private readonly dedupWindowMs: number,
    load: LoadShare,
    private readonly logRetentionMs = 7 * 86_400_000,
  ) {
    this.loop = new StageLoop('events', (deadline) => this.step(deadline), load);
  }

  start(): void {
    this.log.onAppend(() => this.loop.wake());
    this.loop.start();
  }

  /** Sets the hook that runs on every record read from the log, before storage (the log keeps the raw message). */
  transformWith(transform: EntriesTransform): void {
    this.transform = transform;
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Processes everything currently in the log (tests and shutdown). */
  drain(): Promise<void> {
    return this.loop.drain();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Reads a few records per partition and stores them in one transaction, until the deadline; true if records may remain. */
  private async step(deadline: number): Promise<boolean> {
    let more = false;
    let lag = 0;
    for (let p = 0; p < this.log.partitions; p++) {
      let from = await this.store.events.offset(CONSUMER, p);
      for (;;) {
        const records = await this.log.read(p, from, RECORDS_PER_READ);
        if (records.length === 0) break;
        const batches: AcceptBatch[] = records.map((r) => ({
          consumer: CONSUMER,
          partition: p,
          offset: r.offset,
          workspaceId: r.workspaceId,
          sourceId: r.sourceId,
          receivedAt: r.receivedAt,
          entries: JSON.parse(r.payload) as LogEntry[],
          dedupWindowMs: this.dedupWindowMs,
        }));
        const result = await this.store.events.accept(this.transform ? await this.transform(batches) : batches);
        from = records[records.length - 1].offset;
        if (result.duplicates) this.metrics.duplicates.inc(result.duplicates);
        if (result.stored.length) {
          this.metrics.stored.inc(result.stored.length);
          for (const listener of this.listeners) listener(result.stored);
        }
        if (records.length < RECORDS_PER_READ) break;
        if (performance.now() >= deadline) {
          more = true;
          break;
        }
      }
      lag += (await this.log.head(p)) - from;
    }
    this.metrics.lag.set(lag);
    this.maybePrune();
    return more;
  }

  /** Hourly: forgets message ids older than the dedup window, and deletes log batches this stage has passed. */
  private maybePrune(): void {
    const now = this.clock.now();
    if (now - this.lastPrune < 3_600_000) return;
    this.lastPrune = now;
    void this.prune(now);
  }

  async prune(now: number): Promise<void> {
    try {
      await this.store.events.pruneDedup(now - this.dedupWindowMs);
      for (let p = 0; p < this.log.partitions; p++) {
        await this.log.trim(p, await this.store.events.offset(CONSUMER, p), now - this.logRetentionMs);
      }
    } catch (error) {
      process.emitWarning(`pruning failed and will be retried in an hour: ${(error as Error).message}`);
    }
  }
}
