import type { EventMatch } from './schema.js';
import { NAMES_TABLE, SEQ_TABLE, type EventName } from './sequence.js';
import { readsProperties, type SqlParams } from './sql.js';

/**
 * What a report needs to read the compact event sequence (a_event_seq, src/analytics/sequence.ts) instead of
 * m_events: the event names by number. Reports given none read m_events and the raw messages (the original SQL,
 * kept for matches the sequence cannot answer and as the reference the A/B test compares with).
 */
export interface Compact {
  names: EventName[];
}

/** Whether the sequence answers this match alone (no property filters: those read the raw message). */
export const seqCan = (c: Compact | undefined, match: EventMatch | undefined): c is Compact => c !== undefined && !readsProperties(match);

/** The name numbers of the events a match selects (by event name and/or type), as SQL over a_event_seq `s`. */
export function nidFilter(c: Compact, match: EventMatch | undefined, s = 's'): string {
  const { event, type } = match ?? {};
  if (event === undefined && type === undefined) return 'TRUE';
  const nids = c.names.filter((n) => (event === undefined || n.event === event) && (type === undefined || n.type === type)).map((n) => n.nid);
  // Numbers read from the warehouse's own table, not user text.
  return nids.length ? `${s}.nid IN (${nids.join(', ')})` : 'FALSE';
}

/** Name numbers of track events with these names (for touchpoint lists). */
export function nidsNamed(c: Compact, names: string[]): number[] {
  return c.names.filter((n) => n.event !== null && names.includes(n.event)).map((n) => n.nid);
}

/**
 * The events of one workspace that match, from the sequence: (event_id, pk, ts[, extra columns of `s`]), the
 * same relation as matchingEvents (sql.ts) reads from m_events.
 */
export function seqEvents(p: SqlParams, ws: string, c: Compact, match: EventMatch | undefined, extra: string[] = []): string {
  return `SELECT ${['s.event_id', 's.pk', 's.ts', ...extra].join(', ')} FROM ${SEQ_TABLE} s WHERE s.workspace_id = ${ws} AND ${nidFilter(c, match)}`;
}

/** An event's label in paths (its name, or `(type)`), by number: SQL of a_event_names `n`. */
export const labelSql = (n = 'n'): string => `COALESCE(${n}.event, '(' || ${n}.type || ')')`;
export { NAMES_TABLE, SEQ_TABLE };
