import { parseCsv } from '../catalogs/csv.js';
import { badRequest, TandemError } from '../core/errors.js';

/** One row of a bulk trait file: the profile's identifier value and the traits it states. */
export interface TraitRow {
  line: number;
  identifier: string;
  traits: Record<string, unknown>;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Reads trait rows from CSV (a header line; `column` holds the identifier, every other column is a trait; an empty
 * cell states nothing) or JSON lines (one object a line; `column` holds the identifier, every other field is a
 * trait, any JSON value). Errors name the line: `data: line 3: ...`.
 */
export function parseTraitRows(format: 'csv' | 'jsonl', data: string, column: string): TraitRow[] {
  const rows: TraitRow[] = [];
  if (format === 'csv') {
    let parsed: ReturnType<typeof parseCsv>;
    try {
      parsed = parseCsv(data);
    } catch (error) {
      if (error instanceof TandemError) throw badRequest(error.code, `data: ${error.message}`, 'data');
      throw error;
    }
    if (!parsed.header.includes(column)) throw badRequest('missing_column', `data: line 1: the header has no column '${column}' holding the identifier (set column)`, 'data');
    for (const r of parsed.records) {
      const identifier = r.values[column].trim();
      if (identifier === '') throw badRequest('missing_identifier', `data: line ${r.line}: column '${column}' is empty`, 'data');
      const traits: Record<string, unknown> = {};
      for (const [name, value] of Object.entries(r.values)) if (name !== column && value !== '') traits[name] = value;
      rows.push({ line: r.line, identifier, traits });
    }
  } else {
    parseJsonLines(data, column, rows);
  }
  if (rows.length === 0) throw badRequest('empty', 'data: has no rows', 'data');
  return rows;
}

function parseJsonLines(data: string, column: string, rows: TraitRow[]): void {
  data.split(/\r?\n/).forEach((text, i) => {
    const line = i + 1;
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw badRequest('invalid_json', `data: line ${line}: not JSON (${(error as Error).message})`, 'data');
    }
    if (!isObject(value)) throw badRequest('wrong_type', `data: line ${line}: must be a JSON object`, 'data');
    const { [column]: id, ...traits } = value;
    if (typeof id !== 'string' && typeof id !== 'number') throw badRequest('missing_identifier', `data: line ${line}: field '${column}' (the identifier) must be a string`, 'data');
    if (String(id).trim() === '') throw badRequest('missing_identifier', `data: line ${line}: field '${column}' is empty`, 'data');
    rows.push({ line, identifier: String(id).trim(), traits });
  });
}
