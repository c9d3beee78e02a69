import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { csvHeader, csvRows } from '../catalogs/csv.js';
import { TandemError } from '../core/errors.js';
import type { ImportRow, RowProblem } from './build-message.js';

/**
 * The rows of an import file, one at a time: CSV (RFC 4180, the parser of src/catalogs/csv.ts, a header line) or
 * JSON lines (one object a line, read as a stream). A record that cannot be read is yielded as a problem with its
 * line number, never skipped.
 */

export type FileFormat = 'csv' | 'jsonl';
export type FileRow = ImportRow | { row: number; unreadable: RowProblem };

export interface FileInput {
  /** Column names (CSV only; undefined for JSON lines). */
  header?: string[];
  /** Rows in the file, approximately (line count), for the progress bar. */
  estimate: number;
  rows: AsyncIterable<FileRow>;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export async function openFile(path: string, format: FileFormat): Promise<FileInput> {
  return format === 'csv' ? openCsv(path) : openJsonLines(path);
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new TandemError('unreadable', `${path}: ${(error as Error).message}`, 400, 'file');
  }
}

/** CSV is parsed from the whole text (a quoted field may span lines), one record at a time. */
async function openCsv(path: string): Promise<FileInput> {
  const text = await readText(path);
  const records = csvRows(text);
  let first: IteratorResult<{ line: number; fields: string[] }>;
  let header: string[];
  try {
    first = records.next();
    if (first.done) throw new TandemError('invalid_csv', 'the CSV is empty: the first line must be a header', 400, 'line 1');
    header = csvHeader(first.value.fields);
  } catch (error) {
    if (error instanceof TandemError) throw new TandemError(error.code, `${path}: ${error.message}`, 400, 'file');
    throw error;
  }
  let newlines = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) newlines++;
  const estimate = Math.max(0, newlines - (text.endsWith('\n') ? 1 : 0));
  async function* rows(): AsyncIterable<FileRow> {
    let last = first.value.line;
    try {
      for (const r of records) {
        last = r.line;
        if (r.fields.length !== header.length) {
          yield { row: r.line, unreadable: { row: r.line, problem: `${r.fields.length} fields, but the header has ${header.length}` } };
          continue;
        }
        const values: Record<string, string> = {};
        header.forEach((h, n) => (values[h] = r.fields[n]));
        // The line is part of the row's identity: two identical rows are two messages.
        yield { row: r.line, values, identity: `${r.line}:${JSON.stringify(r.fields)}`, emptyIsAbsent: true };
      }
    } catch (error) {
      if (!(error instanceof TandemError)) throw error;
      // An unclosed quote swallows everything after it: say so at the line where it opened.
      const line = Number(/line (\d+)/.exec(error.message)?.[1] ?? last + 1);
      yield { row: line, unreadable: { row: line, problem: `${error.message.replace(/^line \d+: /, '')}; the file from this line to its end was not read` } };
    }
  }
  return { header, estimate, rows: rows() };
}

async function countLines(path: string): Promise<number> {
  let count = 0;
  let last = 10;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) count++;
    if (chunk.length) last = chunk[chunk.length - 1];
  }
  return count + (last === 10 ? 0 : 1);
}

async function openJsonLines(path: string): Promise<FileInput> {
  let estimate: number;
  try {
    estimate = await countLines(path);
  } catch (error) {
    throw new TandemError('unreadable', `${path}: ${(error as Error).message}`, 400, 'file');
  }
  async function* rows(): AsyncIterable<FileRow> {
    const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
    let line = 0;
    for await (const raw of lines) {
      line++;
      const text = line === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
      if (text.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        yield { row: line, unreadable: { row: line, problem: `not JSON: ${(error as Error).message}` } };
        continue;
      }
      if (!isObject(value)) {
        yield { row: line, unreadable: { row: line, problem: `must be a JSON object, not ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}` } };
        continue;
      }
      yield { row: line, values: value, identity: `${line}:${text.trim()}`, emptyIsAbsent: false };
    }
  }
  return { estimate, rows: rows() };
}
