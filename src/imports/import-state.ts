import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { TandemError } from '../core/errors.js';

/**
 * The high-water mark of an incremental PostgreSQL import, in a small JSON file: the (updated-at, key) of the last
 * row the server acknowledged, as PostgreSQL's own text (no precision is lost on timestamps or numerics). Written
 * to a temporary file and renamed, so a crash leaves the old mark or the new one, never half of one.
 */

export interface Mark {
  updatedAt: string;
  key: string[];
}

export interface ImportState {
  version: 1;
  kind: 'events' | 'traits';
  table: string;
  updatedAtColumn: string;
  keyColumns: string[];
  mark: Mark | null;
  /** Rows sent over every run. */
  rowsImported: number;
  lastRunAt?: string;
}

export function readState(path: string): ImportState | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TandemError('unreadable', `--state ${path}: ${(error as Error).message}`, 400, '--state');
  }
  try {
    const state = JSON.parse(text) as ImportState;
    if (state.version !== 1 || typeof state.table !== 'string' || !Array.isArray(state.keyColumns)) throw new Error('not a state file of tandem import');
    return state;
  } catch (error) {
    throw new TandemError('invalid_state', `--state ${path}: ${(error as Error).message}`, 400, '--state');
  }
}

export function writeState(path: string, state: ImportState): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(temporary, path);
}

/** Refuses a state file written for another table, column, key or kind of import: its mark would mean nothing here. */
export function checkState(state: ImportState, expected: Pick<ImportState, 'kind' | 'table' | 'updatedAtColumn' | 'keyColumns'>, path: string): void {
  const mismatch = (what: string, was: string, now: string) =>
    new TandemError('state_mismatch', `--state ${path} holds the mark of ${what} ${was}, not ${now}; use another --state file for this import`, 400, '--state');
  if (state.kind !== expected.kind) throw mismatch('an import of', state.kind, expected.kind);
  if (state.table !== expected.table) throw mismatch('table', state.table, expected.table);
  if (state.updatedAtColumn !== expected.updatedAtColumn) throw mismatch('updated-at column', state.updatedAtColumn, expected.updatedAtColumn);
  if (state.keyColumns.join(',') !== expected.keyColumns.join(',')) throw mismatch('key', state.keyColumns.join(','), expected.keyColumns.join(','));
}
