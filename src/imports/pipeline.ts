import { TandemError } from '../core/errors.js';
import { buildMessage, type ImportRow, type RowProblem } from './build-message.js';
import type { ErrorReport } from './error-report.js';
import type { Mapping } from './mapping.js';
import type { Ack, Sender } from './sender.js';

/**
 * Rows in, batches out: maps each row to a message, groups messages into batches within the collection limits
 * (at most `batch` messages and `batchBytes` bytes), keeps a few requests in flight, and accounts for every row:
 * accepted, quarantined (held by a tracking plan), rejected (a line in the error report) or not sent (the run
 * stopped). `flush()` returns once every row added so far has been answered, which is when the PostgreSQL import
 * may advance its high-water mark.
 */

export interface PipelineOptions {
  /** Most messages per request (at most 2,500; default 500). */
  batch?: number;
  /** Largest request body (default 450 KB, under the server's 500 KB). */
  batchBytes?: number;
  /** Requests in flight (default 4). */
  concurrency?: number;
  /** Called when rows have been answered (or rejected locally). */
  onProgress?(done: number): void;
}

export interface Counts {
  rowsRead: number;
  accepted: number;
  quarantined: number;
  rejected: number;
  notSent: number;
}

interface Pending {
  row: number;
  json: string;
  columns: Map<string, string>;
  ref?: Record<string, unknown>;
}

/** `{"batch":[` ... `]}` */
const ENVELOPE_BYTES = 16;

export class ImportPipeline {
  readonly counts: Counts = { rowsRead: 0, accepted: 0, quarantined: 0, rejected: 0, notSent: 0 };
  /** Why the run stopped, when it did. */
  fatal: TandemError | undefined;
  private items: Pending[] = [];
  private bytes = ENVELOPE_BYTES;
  private readonly inFlight = new Set<Promise<void>>();
  private done = 0;
  private readonly batch: number;
  private readonly batchBytes: number;
  private readonly concurrency: number;

  constructor(
    private readonly mapping: Mapping,
    private readonly scope: string,
    private readonly sender: Sender,
    private readonly report: ErrorReport,
    private readonly options: PipelineOptions = {},
  ) {
    this.batch = Math.min(2500, Math.max(1, options.batch ?? 500));
    this.batchBytes = options.batchBytes ?? 450 * 1024;
    this.concurrency = Math.max(1, options.concurrency ?? 4);
  }

  /** A row that could not be read at all (CSV field count, JSON syntax). */
  unreadable(p: RowProblem): void {
    this.counts.rowsRead++;
    this.counts.rejected++;
    this.report.write(p);
    this.progress(1);
  }

  async add(row: ImportRow): Promise<void> {
    if (this.fatal) throw this.fatal;
    this.counts.rowsRead++;
    const built = buildMessage(row, this.mapping, this.scope);
    if (!built.ok) {
      this.counts.rejected++;
      for (const p of built.problems) this.report.write(p);
      this.progress(1);
      return;
    }
    const json = JSON.stringify(built.message);
    const size = Buffer.byteLength(json) + 1;
    if (this.items.length > 0 && (this.items.length >= this.batch || this.bytes + size > this.batchBytes)) {
      try {
        await this.dispatch();
      } catch (error) {
        this.counts.notSent++; // this row: read, never sent
        throw error;
      }
    }
    this.items.push({ row: row.row, json, columns: built.columns, ...(row.ref ? { ref: row.ref } : {}) });
    this.bytes += size;
  }

  /** Sends what is waiting and waits for every answer; throws if the run had to stop. */
  async flush(): Promise<void> {
    if (this.items.length > 0 && !this.fatal) await this.dispatch();
    await Promise.all(this.inFlight);
    if (this.fatal) throw this.fatal;
  }

  /** After a stop: the rows read but never answered. */
  abandonPending(): void {
    this.counts.notSent += this.items.length;
    this.items = [];
  }

  private async dispatch(): Promise<void> {
    const items = this.items;
    this.items = [];
    this.bytes = ENVELOPE_BYTES;
    while (this.inFlight.size >= this.concurrency) await Promise.race(this.inFlight);
    if (this.fatal) {
      this.counts.notSent += items.length;
      throw this.fatal;
    }
    const request = this.sender
      .post(items.map((i) => i.json))
      .then((ack) => this.answered(items, ack))
      .catch((error: unknown) => {
        this.fatal ??= error instanceof TandemError ? error : new TandemError('failed', (error as Error).message, 500);
        this.counts.notSent += items.length;
        for (const i of items) this.report.write({ row: i.row, ...(i.ref ? { ref: i.ref } : {}), problem: `not sent: ${(error as Error).message}`, code: 'not_sent' });
      })
      .finally(() => {
        this.inFlight.delete(request);
        this.progress(items.length);
      });
    this.inFlight.add(request);
  }

  private answered(items: Pending[], ack: Ack): void {
    const refusedRows = new Set<number>();
    for (const r of ack.refusals) {
      const item = items[r.index];
      if (!item) continue;
      refusedRows.add(r.index);
      const column = columnOf(item.columns, r.path);
      this.report.write({ row: item.row, ...(item.ref ? { ref: item.ref } : {}), ...(column ? { column } : {}), ...(r.path ? { field: r.path } : {}), problem: r.message, code: r.code });
    }
    this.counts.rejected += refusedRows.size;
    this.counts.quarantined += ack.quarantined;
    this.counts.accepted += items.length - refusedRows.size - ack.quarantined;
  }

  private progress(n: number): void {
    this.done += n;
    this.options.onProgress?.(this.done);
  }
}

/** The column that set a field or one of its parents (`properties.revenue.x` was set as `properties.revenue`). */
function columnOf(columns: Map<string, string>, path: string): string | undefined {
  for (let p = path; p; p = p.includes('.') ? p.slice(0, p.lastIndexOf('.')) : '') {
    const column = columns.get(p);
    if (column !== undefined) return column;
  }
  return undefined;
}
