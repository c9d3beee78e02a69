import { compileComparison, readComparison } from '../conditions/comparison.js';
import type { SqlContext } from '../conditions/node-kind.js';
import { checkPropertyFilters } from '../conditions/nodes/performed/schema.js';
import type { SqlParamType } from '../conditions/sql/dialect.js';
import { duckdbDialect } from '../conditions/sql/duckdb.js';
import { pathSegments } from '../conditions/values.js';
import { badRequest } from '../core/errors.js';
import type { SqlValue } from '../core/ports/warehouse.js';
import type { EventMatch } from './schema.js';

/** The parameters of one report query: user values never enter the SQL text. */
export class SqlParams {
  readonly values: SqlValue[] = [];

  add(value: SqlValue, type: SqlParamType = 'text'): string {
    this.values.push(value);
    return duckdbDialect.placeholder(this.values.length, type);
  }

  /** A JSON value at a dotted path of `json` (a JSON expression), under the `under` keys (one parse of `json`). */
  jsonAt(json: string, path: string, under: string[] = []): string {
    return duckdbDialect.jsonGet(json, this.add(duckdbDialect.jsonPathParam([...under, ...pathSegments(path)]), duckdbDialect.jsonPathType));
  }

  /** A property of the raw message `message` (a JSON expression). */
  propertyAt(message: string, path: string): string {
    return this.jsonAt(message, path, ['properties']);
  }

  /** A JSON value at a dotted path, as text (strings unquoted, other scalars as their JSON text; NULL when absent or null). */
  textAt(json: string, path: string, under: string[] = []): string {
    const v = this.jsonAt(json, path, under);
    return `(CASE WHEN json_type(${v}) = 'VARCHAR' THEN json_extract_string(${v}, '$') WHEN json_type(${v}) IN ('NULL') THEN NULL ELSE CAST(${v} AS VARCHAR) END)`;
  }

  /** The condition compiler's context, for the comparisons of property filters (absolute operators only). */
  private context(): SqlContext {
    let aliases = 0;
    return {
      dialect: duckdbDialect,
      param: (value, type) => this.add(value, type),
      get asOf(): string {
        throw new Error('event property filters do not read the time of evaluation');
      },
      profile: 'p',
      alias: (prefix) => `${prefix}_a${++aliases}`,
      compile: () => {
        throw new Error('no nested conditions in a property filter');
      },
    };
  }

  /** The boolean SQL of an event match over m_events `m`; `message` is its raw message (read when filtered). */
  match(match: EventMatch, m: string, message: string): string {
    const terms: string[] = [];
    if (match.event !== undefined) terms.push(`${m}.event = ${this.add(match.event)}`);
    if (match.type !== undefined) terms.push(`${m}.type = ${this.add(match.type)}`);
    const ctx = this.context();
    for (const filter of match.where ?? []) terms.push(compileComparison(this.propertyAt(message, filter.property), readComparison(filter), ctx));
    return terms.length ? terms.join(' AND ') : 'TRUE';
  }
}

/** Checks an event match; `path` is where it sits in the request (e.g. `steps[1]`). Throws a 400 naming the field. */
export function checkMatch(match: EventMatch, path: string, options: { allowAny?: boolean } = {}): void {
  if (match.event === undefined && match.type === undefined && !options.allowAny) throw badRequest('invalid_value', `${path}: needs event (a track event name) or type`, path);
  if (match.event !== undefined && match.type !== undefined && match.type !== 'track') {
    throw badRequest('invalid_value', `${path}.type: only track events have an event name; drop event or use type: track`, `${path}.type`);
  }
  const problem = checkPropertyFilters(match.where);
  if (problem) {
    const at = problem.path ? `${path}.${problem.path}` : path;
    throw badRequest('invalid_value', `${at}: ${problem.message}`, at);
  }
}

/** How an event match is named in answers. */
export const labelOf = (match: EventMatch | undefined): string => match?.label ?? match?.event ?? (match?.type ? `(${match.type})` : '(any event)');

/** Whether matching needs the event's properties (a join with the raw events). */
export const readsProperties = (match: EventMatch | undefined): boolean => (match?.where?.length ?? 0) > 0;

/**
 * Profiles as reports join them: a 64-bit hash of the profile id. Joining and grouping on an integer instead of the
 * id's text halves the time of every per-profile step at 10 million events; two of a million profiles share a
 * hash with probability about 3e-8 (docs/analytics.md).
 */
export const profileKey = (profileId: string): string => `hash(${profileId})`;

/**
 * The events of one workspace that match, as a relation (event_id, pk, ts[, extra columns]): the mirror's
 * resolved events (m_events: the profile each belongs to now, time clamped to arrival), joined with the raw
 * message only when a filter or a column reads it (alias `e`; the name and type filters are repeated on `e` so that
 * the scan of the messages skips the other events). `alsoJoin` adds a join of the caller's (` LEFT JOIN ...`).
 */
export function matchingEvents(p: SqlParams, ws: string, match: EventMatch | undefined, extra: string[] = [], withMessage = false, alsoJoin = ''): string {
  const join = withMessage || readsProperties(match);
  const cols = ['m.event_id', `${profileKey('m.profile_id')} AS pk`, 'm.ts', ...extra].join(', ');
  const where = [`m.workspace_id = ${ws}`, match ? p.match(match, 'm', 'e.message') : 'TRUE'];
  if (join) {
    where.push(`e.workspace_id = ${ws}`);
    if (match?.event !== undefined) where.push(`e.event = ${p.add(match.event)}`);
    if (match?.type !== undefined) where.push(`e.type = ${p.add(match.type)}`);
  }
  return `SELECT ${cols} FROM m_events m${alsoJoin}${join ? ' JOIN events e ON e.id = m.event_id' : ''} WHERE ${where.join(' AND ')}`;
}

/**
 * The first event of a group in (ts, event_id) order, as one aggregate: min of ts * 2^64 + event_id (a HUGEINT),
 * about twice as fast as arg_min over a (ts, id) tuple. firstTs / firstId take it apart.
 */
export const firstKey = (ts = 'ts', id = 'event_id'): string => `min((CAST(${ts} AS HUGEINT) << 64) + ${id})`;
export const firstTs = (key: string): string => `CAST(${key} >> 64 AS BIGINT)`;
export const firstId = (key: string): string => `CAST(${key} & CAST('18446744073709551615' AS HUGEINT) AS BIGINT)`;

/** Rows from DuckDB carry BIGINTs as bigint: plain numbers for answers (ids and times fit in 2^53). */
export const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
