import { parseCsv } from '../catalogs/csv.js';
import { badRequest } from '../core/errors.js';
import type { SpendRow } from './schema.js';

/** Campaign spend per day (docs/analytics.md): the cost side of CPA and ROAS. */
export interface SpendStore {
  /** Creates or replaces rows keyed by (date, campaign, channel); all or nothing. Returns how many were written. */
  upsert(workspaceId: string, rows: SpendRow[], at: number): number;
  /** Rows with fromDay <= date <= toDay (YYYY-MM-DD), in date order. */
  list(workspaceId: string, fromDay: string, toDay: string): Required<SpendRow>[];
}

const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

/** Checks rows that passed the schema: real calendar dates. */
export function checkSpendRows(rows: SpendRow[], path = 'rows'): SpendRow[] {
  rows.forEach((r, i) => {
    const at = new Date(`${r.date}T00:00:00Z`);
    // 2026-02-30 would roll over to March; 2026-13-01 is no date at all.
    if (!DAY_PATTERN.test(r.date) || Number.isNaN(at.getTime()) || at.toISOString().slice(0, 10) !== r.date) {
      throw badRequest('invalid_value', `${path}[${i}].date: '${r.date}' is not a real date (YYYY-MM-DD)`, `${path}[${i}].date`);
    }
  });
  return rows;
}

/** Spend rows from CSV text with a header naming date, campaign, spend and optionally channel (any order). */
export function parseSpendCsv(text: string): SpendRow[] {
  const { header, records } = parseCsv(text);
  for (const required of ['date', 'campaign', 'spend']) {
    if (!header.includes(required)) throw badRequest('invalid_csv', `the CSV header must name ${required} (columns: date, campaign, channel, spend); got ${header.join(', ') || 'nothing'}`, required);
  }
  const unknown = header.filter((h) => !['date', 'campaign', 'channel', 'spend'].includes(h));
  if (unknown.length) throw badRequest('invalid_csv', `unknown CSV column ${unknown.join(', ')}; columns are date, campaign, channel, spend`, unknown[0]);
  const rows = records.map(({ line, values }) => {
    const spend = Number(values.spend);
    if (values.spend === undefined || values.spend.trim() === '' || !Number.isFinite(spend) || spend < 0) {
      throw badRequest('invalid_value', `line ${line}: spend must be a number >= 0; got '${values.spend ?? ''}'`, `line ${line}.spend`);
    }
    if (!values.campaign) throw badRequest('invalid_value', `line ${line}: campaign must not be empty`, `line ${line}.campaign`);
    return { date: values.date ?? '', campaign: values.campaign, channel: values.channel ?? '', spend };
  });
  return checkSpendRows(rows, 'csv');
}
