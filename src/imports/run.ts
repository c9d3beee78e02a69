import { basename, resolve } from 'node:path';
import { TandemError } from '../core/errors.js';
import { ErrorReport } from './error-report.js';
import { openFile, type FileFormat } from './file-rows.js';
import { checkState, readState, writeState, type ImportState, type Mark } from './import-state.js';
import { checkColumns, type ImportKind, type Mapping } from './mapping.js';
import { ImportPipeline, type Counts } from './pipeline.js';
import { connectPostgres, countPending, describeTable, readPage, redact } from './postgres-source.js';
import { Sender } from './sender.js';

/** `tandem import`: a file (CSV, JSON lines) or a PostgreSQL table, sent to a running Tandem. */

export interface ImportTarget {
  kind: ImportKind;
  /** Tandem base URL. */
  url: string;
  writeKey: string;
  mapping: Mapping;
  /** Where the per-row error report goes. */
  errorsPath: string;
  batch?: number;
  concurrency?: number;
  maxRetries?: number;
  /** Mixed into every stable messageId: a new salt imports the same rows again as new messages. */
  idSalt?: string;
  /** Progress: the total once known, then rows done. */
  onTotal?(total: number): void;
  onProgress?(done: number): void;
  /** For tests: how to wait between retries. */
  sleep?(ms: number): Promise<void>;
}

export interface ImportSummary extends Counts {
  source: string;
  requests: number;
  retries: number;
  seconds: number;
  errorsFile: string;
  /** Lines written to the error report (a row may have several problems). */
  errorLines: number;
  /** Why the run stopped before the end, if it did. */
  stopped?: string;
  warnings: string[];
  /** PostgreSQL: the high-water mark after the run. */
  mark?: Mark | null;
}

function setUp(target: ImportTarget) {
  const sender = new Sender({ url: target.url, writeKey: target.writeKey, endpoint: target.kind === 'events' ? '/v1/import' : '/v1/batch', ...(target.maxRetries !== undefined ? { maxRetries: target.maxRetries } : {}), ...(target.sleep ? { sleep: target.sleep } : {}) });
  const report = new ErrorReport(target.errorsPath);
  return { sender, report };
}

function summarise(source: string, pipeline: ImportPipeline, sender: Sender, report: ErrorReport, started: number, warnings: string[]): ImportSummary {
  return {
    source,
    ...pipeline.counts,
    requests: sender.requests,
    retries: sender.retries,
    seconds: (performance.now() - started) / 1000,
    errorsFile: report.path,
    errorLines: report.lines,
    ...(pipeline.fatal ? { stopped: pipeline.fatal.message } : {}),
    warnings,
  };
}

export async function importFile(path: string, format: FileFormat, target: ImportTarget): Promise<ImportSummary> {
  const started = performance.now();
  const input = await openFile(path, format);
  if (input.header) checkColumns(target.mapping, input.header, path);
  const { sender, report } = setUp(target);
  await report.ready();
  // The file's name, not its directory: the same file imported from elsewhere gets the same messageIds.
  const scope = `file:${target.kind}:${basename(resolve(path))}${target.idSalt ? `:${target.idSalt}` : ''}`;
  const pipeline = new ImportPipeline(target.mapping, scope, sender, report, { batch: target.batch, concurrency: target.concurrency, onProgress: target.onProgress });
  target.onTotal?.(input.estimate);
  try {
    for await (const row of input.rows) {
      if ('unreadable' in row) pipeline.unreadable(row.unreadable);
      else await pipeline.add(row);
    }
    await pipeline.flush();
  } catch (error) {
    if (!pipeline.fatal) throw error;
    pipeline.abandonPending();
  } finally {
    await report.close();
  }
  return summarise(path, pipeline, sender, report, started, []);
}

export interface PostgresSource {
  url: string;
  table: string;
  updatedAt: string;
  key?: string[];
  statePath: string;
  /** Rows per page (each page is acknowledged before the mark moves; default 5,000). */
  pageSize?: number;
  /** PostgreSQL interval: leave out rows changed this recently (their transaction may not be visible yet). */
  lag?: string;
}

export async function importPostgres(source: PostgresSource, target: ImportTarget): Promise<ImportSummary> {
  const started = performance.now();
  const client = await connectPostgres(source.url);
  try {
    const info = await describeTable(client, source.table, source.updatedAt, source.key);
    checkColumns(target.mapping, info.columns.map((c) => c.name), `table ${source.table}`);
    const identity = { kind: target.kind, table: source.table, updatedAtColumn: info.updatedAt.name, keyColumns: info.key.map((c) => c.name) };
    const previous = readState(source.statePath);
    if (previous) checkState(previous, identity, source.statePath);
    const state: ImportState = previous ?? { version: 1, ...identity, mark: null, rowsImported: 0 };
    const window = { mark: state.mark, ...(source.lag ? { lag: source.lag } : {}) };
    const { pending, withoutUpdatedAt } = await countPending(client, info, window);
    const warnings = withoutUpdatedAt ? [`${withoutUpdatedAt} rows of ${source.table} have no ${info.updatedAt.name} (NULL) and are not imported until it is set`] : [];
    const { sender, report } = setUp(target);
    await report.ready();
    const scope = `postgres:${target.kind}:${source.table}${target.idSalt ? `:${target.idSalt}` : ''}`;
    // One page at a time: the mark moves only once every row of the page has been answered.
    const pipeline = new ImportPipeline(target.mapping, scope, sender, report, { batch: target.batch, concurrency: target.concurrency, onProgress: target.onProgress });
    target.onTotal?.(pending);
    const pageSize = source.pageSize ?? 5000;
    let position = 0;
    try {
      for (;;) {
        const page = await readPage(client, info, window, pageSize);
        if (page.length === 0) break;
        for (const r of page) {
          position++;
          const key = Object.fromEntries(info.key.map((c, i) => [c.name, c.name === 'ctid' ? r.mark.key[i] : r.values[c.name]]));
          await pipeline.add({ row: position, values: r.values, identity: JSON.stringify([r.mark.key, r.mark.updatedAt]), emptyIsAbsent: false, ref: { key } });
        }
        await pipeline.flush();
        window.mark = page[page.length - 1].mark;
        state.mark = window.mark;
        state.rowsImported += page.length;
        state.lastRunAt = new Date().toISOString();
        writeState(source.statePath, state);
        if (page.length < pageSize) break;
      }
    } catch (error) {
      if (!pipeline.fatal) throw error;
      pipeline.abandonPending();
    } finally {
      await report.close();
    }
    return { ...summarise(`${redact(source.url)} table ${source.table}`, pipeline, sender, report, started, warnings), mark: state.mark };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The summary as printed at the end of a run. */
export function formatSummary(s: ImportSummary): string {
  const lines = [
    `imported ${s.source} in ${s.seconds.toFixed(1)} s`,
    `  rows read:   ${s.rowsRead}`,
    `  accepted:    ${s.accepted}${s.quarantined ? ` (and ${s.quarantined} held in quarantine by a tracking plan)` : ''}`,
    `  rejected:    ${s.rejected}${s.errorLines ? ` (${s.errorLines} problems listed in ${s.errorsFile})` : ''}`,
  ];
  if (s.notSent) lines.push(`  not sent:    ${s.notSent}`);
  lines.push(`  requests:    ${s.requests}${s.retries ? ` (${s.retries} retried)` : ''}`);
  if (s.mark !== undefined) lines.push(`  high-water mark: ${s.mark ? `${s.mark.updatedAt} (key ${s.mark.key.join(', ')})` : 'none yet'}`);
  for (const w of s.warnings) lines.push(`  warning: ${w}`);
  if (s.stopped) lines.push(`stopped early: ${s.stopped}. Re-run the same command to continue: rows already sent are deduplicated by their messageIds.`);
  return lines.join('\n');
}

export function requireWriteKey(writeKey: string | undefined): string {
  if (!writeKey) throw new TandemError('missing_option', '--write-key is required (or set TANDEM_WRITE_KEY): the write key of the source to import into', 400, '--write-key');
  return writeKey;
}
