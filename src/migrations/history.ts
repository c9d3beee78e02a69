import type { Message } from '../collect/message.js';
import type { HistoryCopy, HistoryQuery, MigrationStore } from './ports.js';

/** What a transform did to one stored message (changed in place, or why not). */
export type Outcome =
  | { outcome: 'changed'; before: unknown; after: unknown }
  | { outcome: 'unchanged' }
  /** The message already carries the target name: left as it is. */
  | { outcome: 'conflict'; before: unknown }
  | { outcome: 'failed'; value: unknown; reason: string };

export interface HistoryReport {
  /** Stored events the migration looked at (those carrying the event or property). */
  matched: number;
  changed: number;
  unchanged: number;
  conflicts: number;
  failed: number;
  /** A few changes, before and after. */
  samples: { eventId: number; before: unknown; after: unknown }[];
  /** A few events left as they were, and why. */
  failures: { eventId: number; value: unknown; reason: string }[];
  /** Events held by the warehouse copy that were read again. */
  warehouse: number;
}

const SAMPLES = 5;
const CHUNK = 1000;

export const emptyReport = (): HistoryReport => ({ matched: 0, changed: 0, unchanged: 0, conflicts: 0, failed: 0, samples: [], failures: [], warehouse: 0 });

/**
 * Runs `transform` over the stored events `query` selects, in id order, a chunk at a time. With `write`, each
 * chunk's changed messages are written back in one transaction and the warehouse copy reads them again before the
 * next chunk; the event loop gets a turn between chunks, so collection keeps answering. Without `write` (a dry run)
 * nothing is written. Returns the report and the ids changed.
 */
export async function rewriteHistory(
  deps: { history: MigrationStore; copy: HistoryCopy },
  query: Omit<HistoryQuery, 'afterId' | 'limit'> & { afterId?: number },
  transform: (m: Message) => Outcome,
  options: { write: boolean; report?: HistoryReport; progress?: (scanned: number) => void },
): Promise<{ report: HistoryReport; changedIds: number[]; lastId: number }> {
  const report = options.report ?? emptyReport();
  const changedIds: number[] = [];
  let afterId = query.afterId ?? 0;
  for (;;) {
    const rows = deps.history.scan({ ...query, afterId, limit: CHUNK });
    if (rows.length === 0) break;
    const changed: { id: number; message: Message }[] = [];
    for (const row of rows) {
      report.matched++;
      const o = transform(row.message);
      if (o.outcome === 'changed') {
        report.changed++;
        changed.push({ id: row.id, message: row.message });
        if (report.samples.length < SAMPLES) report.samples.push({ eventId: row.id, before: o.before, after: o.after });
      } else if (o.outcome === 'unchanged') report.unchanged++;
      else if (o.outcome === 'conflict') {
        report.conflicts++;
        if (report.failures.length < SAMPLES) report.failures.push({ eventId: row.id, value: o.before, reason: 'the event already carries the new name; left as it is' });
      } else {
        report.failed++;
        if (report.failures.length < SAMPLES) report.failures.push({ eventId: row.id, value: o.value, reason: o.reason });
      }
    }
    if (options.write && changed.length) {
      deps.history.rewrite(query.workspaceId, changed);
      report.warehouse += await deps.copy.refreshEvents(changed.map((c) => c.id));
      for (const c of changed) changedIds.push(c.id);
    }
    afterId = rows[rows.length - 1].id;
    options.progress?.(rows.length);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { report, changedIds, lastId: afterId };
}
