import type { Clock } from '../core/clock.js';
import { TandemError } from '../core/errors.js';
import type { Log } from '../core/ports/log.js';

/** How long a measured backlog is trusted: measuring costs two SQLite reads per partition, a request costs far less. */
const REMEASURE_MS = 250;

/**
 * Backpressure on the pipeline's backlog (docs/reliability.md, "Overload"): the log records written but not yet
 * processed by the events stage (the first stage after the log). Past `max` records, collection answers 503 with
 * Retry-After until the pipeline has caught up below the bound. `max` 0: no bound, the log on disk absorbs any
 * backlog (memory stays bounded either way: the stages read the log a few records at a time).
 */
export class BacklogGuard {
  private measuredAt = -Infinity;
  private records = 0;
  private measuring: Promise<void> | undefined;

  constructor(
    private readonly log: Pick<Log, 'partitions' | 'head'>,
    /** The events stage's committed offset in a partition. */
    private readonly offset: (partition: number) => Promise<number>,
    private readonly max: number,
    private readonly clock: Clock,
  ) {}

  /** Throws a 503 (`backlogged`) when the backlog last measured is over the bound. */
  async check(): Promise<void> {
    if (!(this.max > 0)) return;
    if (this.clock.now() - this.measuredAt >= REMEASURE_MS) {
      this.measuring ??= this.measure().finally(() => (this.measuring = undefined));
      await this.measuring;
    }
    if (this.records > this.max) {
      throw Object.assign(
        new TandemError('backlogged', `the pipeline is ${this.records} log records behind (the bound is ${this.max}, collect.maxBacklog); nothing was stored, retry later`, 503),
        { retryAfterSeconds: 1 },
      );
    }
  }

  private async measure(): Promise<void> {
    let records = 0;
    for (let p = 0; p < this.log.partitions; p++) records += Math.max(0, (await this.log.head(p)) - (await this.offset(p)));
    this.records = records;
    this.measuredAt = this.clock.now();
  }
}
