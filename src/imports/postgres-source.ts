import pg from 'pg';
import { TandemError } from '../core/errors.js';
import type { Mark } from './import-state.js';

/**
 * Reading a PostgreSQL table incrementally: rows whose updated-at column is past the high-water mark, in pages
 * ordered by (updated_at, key), where the key is the primary key (or the columns given with --key, or the row's
 * ctid when the table has none). Keyset paging on that order never skips or repeats a row between pages, even when
 * many rows share one updated_at.
 */

export interface Column {
  name: string;
  /** As format_type gives it, e.g. `timestamp with time zone`, `numeric(10,2)`; `tid` for ctid. */
  type: string;
  notNull: boolean;
}

export interface TableInfo {
  /** As given, e.g. `public.orders`. */
  name: string;
  /** Quoted for SQL, e.g. `"public"."orders"`. */
  quoted: string;
  columns: Column[];
  updatedAt: Column;
  key: Column[];
}

export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Dates and timestamps without a time zone as the text PostgreSQL wrote (read as UTC, not the machine's zone). */
const DATE_OID = 1082;
const TIMESTAMP_OID = 1114;

export async function connectPostgres(url: string): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: url,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
        if (oid === DATE_OID) return (text: string) => text;
        if (oid === TIMESTAMP_OID) return (text: string) => (/^\d{4}-/.test(text) ? new Date(`${text.replace(' ', 'T')}Z`) : text);
        return pg.types.getTypeParser(oid, format ?? 'text');
      }) as typeof pg.types.getTypeParser,
    },
  });
  try {
    await client.connect();
    // Marks are kept as PostgreSQL's text of the values: the same text whatever the server's own time zone.
    await client.query("SET TimeZone = 'UTC'");
  } catch (error) {
    await client.end().catch(() => undefined);
    throw new TandemError('unreachable', `--from-postgres ${redact(url)}: could not connect: ${(error as Error).message}`, 400, '--from-postgres');
  }
  return client;
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(not a URL)';
  }
}

export async function describeTable(client: pg.Client, table: string, updatedAtColumn: string, keyColumns?: string[]): Promise<TableInfo> {
  const parts = table.split('.');
  if (parts.length > 2 || parts.some((p) => p === '')) throw new TandemError('invalid_option', `--table ${table}: write it as table or schema.table`, 400, '--table');
  const quoted = parts.map(quoteIdent).join('.');
  const found = await client.query<{ oid: string | null }>('SELECT to_regclass($1)::oid::text AS oid', [quoted]);
  const oid = found.rows[0]?.oid;
  if (!oid) throw new TandemError('not_found', `--table ${table}: no such table (or no permission to see it)`, 400, '--table');
  const columns = (
    await client.query<{ name: string; type: string; not_null: boolean }>(
      'SELECT attname AS name, format_type(atttypid, atttypmod) AS type, attnotnull AS not_null FROM pg_attribute WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum',
      [oid],
    )
  ).rows.map((r) => ({ name: r.name, type: r.type, notNull: r.not_null }));
  const byName = new Map(columns.map((c) => [c.name, c]));
  const updatedAt = byName.get(updatedAtColumn);
  if (!updatedAt) throw new TandemError('not_found', `--updated-at ${updatedAtColumn}: table ${table} has no such column (its columns: ${columns.map((c) => c.name).join(', ')})`, 400, '--updated-at');
  let key: Column[];
  if (keyColumns && keyColumns.length) {
    key = keyColumns.map((name) => {
      const c = byName.get(name);
      if (!c) throw new TandemError('not_found', `--key ${name}: table ${table} has no such column`, 400, '--key');
      if (!c.notNull) throw new TandemError('invalid_option', `--key ${name}: the column may hold NULL, which cannot order rows; use NOT NULL columns (the primary key)`, 400, '--key');
      return c;
    });
  } else {
    const primary = await client.query<{ name: string }>(
      `SELECT a.attname AS name FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
       WHERE i.indrelid = $1::oid AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)`,
      [oid],
    );
    key = primary.rows.length ? primary.rows.map((r) => byName.get(r.name)!) : [{ name: 'ctid', type: 'tid', notNull: true }];
  }
  return { name: table, quoted, columns, updatedAt, key };
}

const TIME_TYPES = /^(timestamp|date)/;

export interface Window {
  mark: Mark | null;
  /** Leave out rows changed within this interval before now (PostgreSQL interval text, e.g. '30 seconds'). */
  lag?: string;
}

/** WHERE clause and parameters of the rows past the mark. */
function where(info: TableInfo, window: Window): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const conditions = [`t.${quoteIdent(info.updatedAt.name)} IS NOT NULL`];
  if (window.mark) {
    const left = [info.updatedAt, ...info.key].map((c) => (c.name === 'ctid' && c.type === 'tid' ? 't.ctid' : `t.${quoteIdent(c.name)}`));
    const right = [window.mark.updatedAt, ...window.mark.key].map((v, i) => {
      params.push(v);
      return `$${params.length}::${[info.updatedAt, ...info.key][i].type}`;
    });
    conditions.push(`(${left.join(', ')}) > (${right.join(', ')})`);
  }
  if (window.lag) {
    if (!TIME_TYPES.test(info.updatedAt.type)) throw new TandemError('invalid_option', `--lag needs an updated-at column of a date or timestamp type; ${info.updatedAt.name} is ${info.updatedAt.type}`, 400, '--lag');
    params.push(window.lag);
    conditions.push(`t.${quoteIdent(info.updatedAt.name)} <= now() - $${params.length}::interval`);
  }
  return { sql: conditions.join(' AND '), params };
}

/** One page of rows past the mark, in (updated_at, key) order, each with its mark as PostgreSQL text. */
export function pageQuery(info: TableInfo, window: Window, limit: number): { sql: string; params: unknown[] } {
  const w = where(info, window);
  const keyExpr = (c: Column) => (c.name === 'ctid' && c.type === 'tid' ? 't.ctid' : `t.${quoteIdent(c.name)}`);
  const marks = [`t.${quoteIdent(info.updatedAt.name)}::text AS __tandem_updated_at`, ...info.key.map((c, i) => `${keyExpr(c)}::text AS __tandem_key_${i}`)];
  const order = [`t.${quoteIdent(info.updatedAt.name)}`, ...info.key.map(keyExpr)].join(', ');
  w.params.push(limit);
  return { sql: `SELECT t.*, ${marks.join(', ')} FROM ${info.quoted} t WHERE ${w.sql} ORDER BY ${order} LIMIT $${w.params.length}`, params: w.params };
}

export async function countPending(client: pg.Client, info: TableInfo, window: Window): Promise<{ pending: number; withoutUpdatedAt: number }> {
  const w = where(info, window);
  const pending = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${info.quoted} t WHERE ${w.sql}`, w.params);
  const nulls = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${info.quoted} t WHERE t.${quoteIdent(info.updatedAt.name)} IS NULL`);
  return { pending: Number(pending.rows[0].n), withoutUpdatedAt: Number(nulls.rows[0].n) };
}

export interface PageRow {
  values: Record<string, unknown>;
  mark: Mark;
}

/** Pages of rows past the mark, in order; the caller advances `window.mark` (after the server's acknowledgement). */
export async function readPage(client: pg.Client, info: TableInfo, window: Window, limit: number): Promise<PageRow[]> {
  const q = pageQuery(info, window, limit);
  const result = await client.query<Record<string, unknown>>(q.sql, q.params);
  return result.rows.map((row) => {
    const mark: Mark = { updatedAt: String(row.__tandem_updated_at), key: info.key.map((_, i) => String(row[`__tandem_key_${i}`])) };
    delete row.__tandem_updated_at;
    info.key.forEach((_, i) => delete row[`__tandem_key_${i}`]);
    return { values: row, mark };
  });
}
