import type { SqlValue } from '../core/ports/warehouse.js';
import { parseDuration } from '../core/duration.js';

const DAY_MS = 86_400_000;

/** A JSON path to one top-level key, quoted so that any property name is read literally. */
export const jsonKey = (name: string): string => `$."${name.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;

/** What the propensity features are built from (fixed at training, so scoring builds the same columns). */
export interface FeatureSpec {
  /** Events counted per window. */
  events: string[];
  windows: string[];
  /** The outcome event: its recency is a feature (absent for churn). */
  target?: string;
  revenueProperty?: string;
  traits: string[];
}

/** Feature names in column order. */
export function featureNames(spec: FeatureSpec): string[] {
  return [
    'days_since_last_event',
    'days_since_first_event',
    'events_total',
    ...spec.windows.map((w) => `events_${w}`),
    ...spec.events.flatMap((e) => spec.windows.map((w) => `count(${e}, ${w})`)),
    ...(spec.target !== undefined ? [`days_since_last(${spec.target})`, `count(${spec.target})`] : []),
    ...(spec.revenueProperty !== undefined ? [`sum(${spec.revenueProperty})`] : []),
    ...spec.traits.map((t) => `trait(${t})`),
  ];
}

/**
 * One query: RFM and per-event counts over windows for every profile with an event at or before `cutoff` (or one
 * profile), from c_events, plus numeric traits from c_profiles. A profile that never performed the target gets its
 * tenure plus one day as the target's recency (longer ago than anything it did).
 */
export function featureQuery(spec: FeatureSpec, cutoff: number, profileId?: string): { sql: string; params: SqlValue[] } {
  const params: SqlValue[] = [cutoff];
  const p = (v: SqlValue) => {
    params.push(v);
    return `$${params.length}`;
  };
  const c = '$1';
  const cols: string[] = [
    `(${c} - max(ts)) / ${DAY_MS}.0`,
    `(${c} - min(ts)) / ${DAY_MS}.0`,
    'count(*)',
    ...spec.windows.map((w) => `count(*) FILTER (WHERE ts > ${c} - ${p(parseDuration(w))})`),
  ];
  for (const e of spec.events) {
    const ev = p(e);
    for (const w of spec.windows) cols.push(`count(*) FILTER (WHERE event = ${ev} AND ts > ${c} - ${p(parseDuration(w))})`);
  }
  if (spec.target !== undefined) {
    const t = p(spec.target);
    cols.push(`COALESCE((${c} - max(ts) FILTER (WHERE event = ${t})) / ${DAY_MS}.0, (${c} - min(ts)) / ${DAY_MS}.0 + 1)`);
    cols.push(`count(*) FILTER (WHERE event = ${t})`);
  }
  if (spec.revenueProperty !== undefined) {
    const path = p(jsonKey(spec.revenueProperty));
    const only = spec.target !== undefined ? ` FILTER (WHERE event = ${p(spec.target)})` : '';
    cols.push(`COALESCE(sum(TRY_CAST(json_extract_string(properties, ${path}) AS DOUBLE))${only}, 0)`);
  }
  const traitCols = spec.traits.map((t) => {
    const path = p(jsonKey(t));
    return `COALESCE(TRY_CAST(json_extract_string(pr.traits, ${path}) AS DOUBLE), CASE json_extract_string(pr.traits, ${path}) WHEN 'true' THEN 1 WHEN 'false' THEN 0 END, 0)`;
  });
  const one = profileId !== undefined ? ` AND profile_id = ${p(profileId)}` : '';
  const sql = `WITH f AS (SELECT profile_id, ${cols.map((col, i) => `CAST(${col} AS DOUBLE) AS f${i}`).join(', ')}
    FROM c_events WHERE ts <= ${c}${one} GROUP BY profile_id)
    SELECT f.*${traitCols.map((t, i) => `, CAST(${t} AS DOUBLE) AS t${i}`).join('')} FROM f JOIN c_profiles pr ON pr.profile_id = f.profile_id ORDER BY f.profile_id`;
  return { sql, params };
}

/** Rows of featureQuery as (profile id, feature vector). */
export function featureRows(rows: Record<string, unknown>[], width: number): { ids: string[]; rows: Float64Array[] } {
  const ids: string[] = [];
  const out: Float64Array[] = [];
  for (const r of rows) {
    ids.push(String(r.profile_id));
    const v = Object.values(r);
    const x = new Float64Array(width);
    // Column 0 is profile_id; the features follow in featureNames order.
    for (let j = 0; j < width; j++) x[j] = Number(v[j + 1] ?? 0);
    out.push(x);
  }
  return { ids, rows: out };
}

/** Profiles that performed `event` (or any event, when undefined) in (from, to]. */
export function outcomeQuery(from: number, to: number, event: string | undefined): { sql: string; params: SqlValue[] } {
  return event === undefined
    ? { sql: 'SELECT DISTINCT profile_id FROM c_events WHERE ts > $1 AND ts <= $2', params: [from, to] }
    : { sql: 'SELECT DISTINCT profile_id FROM c_events WHERE ts > $1 AND ts <= $2 AND event = $3', params: [from, to, event] };
}

/** The most frequent track events at or before `cutoff`. */
export function topEventsQuery(cutoff: number, limit: number): { sql: string; params: SqlValue[] } {
  return { sql: `SELECT event, count(*) AS n FROM c_events WHERE ts <= $1 AND event IS NOT NULL GROUP BY event ORDER BY n DESC, event LIMIT ${Math.floor(limit)}`, params: [cutoff] };
}
