import { basename, extname } from 'node:path';
import cliProgress from 'cli-progress';
import { Command, Option } from 'commander';
import { parseDuration } from '../core/duration.js';
import { TandemError } from '../core/errors.js';
import type { FileFormat } from './file-rows.js';
import { buildMapping, type ImportKind } from './mapping.js';
import { formatSummary, importFile, importPostgres, requireWriteKey, type ImportSummary, type ImportTarget } from './run.js';
import { baseUrl, wholeNumber } from '../core/cli-options.js';

/**
 * `tandem import events|traits FILE` and `tandem import events|traits --from-postgres URL --table T --updated-at C`
 * (docs/transformations.md#imports).
 */

interface ImportCliOptions {
  format?: FileFormat;
  map: string[];
  ignore: string[];
  onlyMapped?: boolean;
  event?: string;
  url: string;
  writeKey?: string;
  batch: number;
  concurrency: number;
  retries?: number;
  errors?: string;
  idSalt?: string;
  json?: boolean;
  fromPostgres?: string;
  table?: string;
  updatedAt?: string;
  key?: string;
  state?: string;
  pageSize: number;
  lag?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function formatOf(file: string, given: FileFormat | undefined): FileFormat {
  if (given) return given;
  const ext = extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  throw new TandemError('missing_option', `--format: cannot tell the format of ${file} from its name; pass --format csv or --format jsonl`, 400, '--format');
}

function kindCommand(kind: ImportKind): Command {
  const what = kind === 'events' ? 'track events (sent to /v1/import: their timestamps are kept)' : 'profile traits (identify calls, sent to /v1/batch)';
  return new Command(kind)
    .description(`Import ${what} from a CSV or JSON-lines file, or incrementally from a PostgreSQL table`)
    .argument('[file]', 'the file to import (not with --from-postgres)')
    .addOption(new Option('--format <format>', 'file format (default: from the extension)').choices(['csv', 'jsonl']))
    .option('--map <column=field[:type]>', 'map a column to a message field, e.g. amount=properties.revenue:number (repeatable); types: string, number, integer, boolean, date, json', collect, [])
    .option('--ignore <column>', 'leave a column out (repeatable)', collect, [])
    .option('--only-mapped', 'import only the mapped columns')
    .option('--event <name>', 'event name of rows that have none from a column (events)')
    .option('--url <url>', 'Tandem base URL', baseUrl, 'http://127.0.0.1:8080')
    .addOption(new Option('--write-key <key>', 'write key of the source to import into').env('TANDEM_WRITE_KEY'))
    .option('--batch <n>', 'messages per request (the server takes at most 2,500 and 500 KB)', wholeNumber(1, 2500), 500)
    .option('--concurrency <n>', 'requests in flight', wholeNumber(1, 64), 4)
    .option('--retries <n>', 'attempts after the first when Tandem is busy or unreachable (429, 5xx, lost connection)', wholeNumber(0, 100), 8)
    .option('--errors <file>', 'where the per-row error report goes (default: <input>.errors.jsonl in this directory)')
    .option('--id-salt <text>', 'mixed into every messageId: import the same rows again as new messages instead of deduplicating them')
    .option('--json', 'print the summary as JSON')
    .option('--from-postgres <url>', 'import from PostgreSQL, e.g. postgres://user@host:5432/db')
    .option('--table <name>', 'table (or schema.table) to import from (with --from-postgres)')
    .option('--updated-at <column>', 'column that grows when a row changes: rows past the last run\'s mark are imported (with --from-postgres)')
    .option('--key <columns>', 'comma-separated unique NOT NULL columns ordering rows with the same updated-at (default: the primary key, else ctid)')
    .option('--state <file>', 'where the high-water mark is kept (default: <table>.<kind>.import-state.json in this directory)')
    .option('--page-size <n>', 'rows read and acknowledged before the mark moves', wholeNumber(1, 1_000_000), 5000)
    .option('--lag <duration>', 'leave out rows changed this recently (e.g. 30s), for writers whose transactions commit late')
    .action(async (file: string | undefined, opts: ImportCliOptions) => {
      const summary = await runImportCommand(kind, file, opts);
      process.stdout.write(`${opts.json ? JSON.stringify(summary) : formatSummary(summary)}\n`);
      if (summary.rejected > 0 || summary.stopped) process.exitCode = 1;
    });
}

export async function runImportCommand(kind: ImportKind, file: string | undefined, opts: ImportCliOptions): Promise<ImportSummary> {
  const mapping = buildMapping(kind, { map: opts.map, ignore: opts.ignore, onlyMapped: opts.onlyMapped, event: opts.event });
  const writeKey = requireWriteKey(opts.writeKey);
  const bar = progressBar(kind);
  const target: Omit<ImportTarget, 'errorsPath'> = {
    kind, url: opts.url, writeKey, mapping, batch: opts.batch, concurrency: opts.concurrency,
    ...(opts.idSalt ? { idSalt: opts.idSalt } : {}),
    ...(opts.retries !== undefined ? { maxRetries: opts.retries } : {}),
    onTotal: (total) => bar.start(total),
    onProgress: (done) => bar.update(done),
  };
  try {
    if (opts.fromPostgres) {
      if (file) throw new TandemError('invalid_option', `give either a file (${file}) or --from-postgres, not both`, 400, 'file');
      if (!opts.table) throw new TandemError('missing_option', '--table is required with --from-postgres', 400, '--table');
      if (!opts.updatedAt) throw new TandemError('missing_option', '--updated-at is required with --from-postgres: the column that grows when a row changes', 400, '--updated-at');
      const lag = opts.lag ? `${parseDuration(opts.lag, '--lag')} milliseconds` : undefined;
      const stem = `${opts.table}.${kind}`;
      return await importPostgres(
        {
          url: opts.fromPostgres, table: opts.table, updatedAt: opts.updatedAt, statePath: opts.state ?? `${stem}.import-state.json`, pageSize: opts.pageSize,
          ...(opts.key ? { key: opts.key.split(',').map((k) => k.trim()).filter(Boolean) } : {}),
          ...(lag ? { lag } : {}),
        },
        { ...target, errorsPath: opts.errors ?? `${stem}.errors.jsonl` },
      );
    }
    if (!file) throw new TandemError('missing_option', 'give the file to import, or --from-postgres with --table and --updated-at', 400, 'file');
    for (const [flag, value] of [['--table', opts.table], ['--updated-at', opts.updatedAt], ['--state', opts.state], ['--key', opts.key], ['--lag', opts.lag]] as const) {
      if (value !== undefined) throw new TandemError('invalid_option', `${flag} applies to --from-postgres only`, 400, flag);
    }
    return await importFile(file, formatOf(file, opts.format), { ...target, errorsPath: opts.errors ?? `${basename(file)}.errors.jsonl` });
  } finally {
    bar.stop();
  }
}

/** Rows done of the total on stderr (drawn on a terminal only). */
function progressBar(kind: ImportKind): { start(total: number): void; update(done: number): void; stop(): void } {
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: `import ${kind} [{bar}] {percentage}% | {value}/{total} rows | {duration_formatted} elapsed, ETA {eta_formatted}`, barsize: 30, hideCursor: true, fps: 5 },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    start(total) {
      bar.start(total, 0);
      started = true;
    },
    update(done) {
      if (!started) return;
      if (done > bar.getTotal()) bar.setTotal(done);
      bar.update(done);
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}

export function importCommand(): Command {
  return new Command('import')
    .description('Import events or profile traits from CSV / JSON-lines files or a PostgreSQL table into a running Tandem')
    .addCommand(kindCommand('events'))
    .addCommand(kindCommand('traits'));
}
