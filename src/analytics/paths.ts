import { labelSql, NAMES_TABLE, nidFilter, SEQ_TABLE, seqCan, type Compact } from './compact.js';
import type { Query } from './funnels.js';
import { iso, requestDuration, type TimeRange } from './range.js';
import type { PathsRequest } from './schema.js';
import { checkMatch, firstId, firstKey, firstTs, labelOf, matchingEvents, num, SqlParams } from './sql.js';

export interface PathsAnswer {
  from: string;
  to: string;
  anchor: string;
  direction: 'after' | 'before';
  /** Profiles with an anchor event in [from, to). */
  anchored: number;
  /** Of them, those with no other event on that side of it (within the horizon). */
  noEvents: number;
  /** Most common sequences, in time order (`before`: ending just before the anchor), with how many profiles followed each. */
  paths: { path: string[]; profiles: number; share: number }[];
}

const DEFAULT_WITHIN = '7d';

/**
 * Paths (docs/analytics.md): per profile, its first anchor event in [from, to), then the next (or previous) `steps`
 * events within `within` of it, named by event name (track) or `(type)`; identical sequences are counted.
 */
export async function pathsReport(query: Query, workspaceId: string, req: PathsRequest, range: TimeRange, compact?: Compact): Promise<PathsAnswer> {
  checkMatch(req.anchor, 'anchor');
  const direction = req.direction ?? 'after';
  const steps = req.steps ?? 3;
  const top = req.top ?? 10;
  const withinMs = requestDuration(req.within ?? DEFAULT_WITHIN, 'within');
  const p = new SqlParams();
  const ws = p.add(workspaceId);
  if (seqCan(compact, req.anchor) && (req.exclude ?? []).length === 0) return compactPaths(query, p, ws, compact, req, range, withinMs);
  const anchors = matchingEvents(p, ws, req.anchor);
  const from = p.add(range.from, 'bigint');
  const to = p.add(range.to, 'bigint');
  const within = p.add(withinMs, 'bigint');
  const excluded = (req.exclude ?? []).map((e) => p.add(e));
  const exclude = excluded.length ? ` AND (m.event IS NULL OR m.event NOT IN (${excluded.join(', ')}))` : '';
  const side = direction === 'after'
    ? `x.ts >= a.t AND (x.ts > a.t OR x.event_id > a.i) AND x.ts <= a.t + ${within}`
    : `x.ts <= a.t AND (x.ts < a.t OR x.event_id < a.i) AND x.ts >= a.t - ${within}`;
  const order = direction === 'after' ? 'x.ts, x.event_id' : 'x.ts DESC, x.event_id DESC';
  const sql = `
    WITH a AS (SELECT pk, ${firstTs('k')} AS t, ${firstId('k')} AS i FROM (SELECT pk, ${firstKey()} AS k FROM (${anchors}) WHERE ts >= ${from} AND ts < ${to} GROUP BY pk)),
    x AS (SELECT hash(m.profile_id) AS pk, m.ts, m.event_id, COALESCE(m.event, '(' || m.type || ')') AS label FROM m_events m WHERE m.workspace_id = ${ws}${exclude}),
    n AS (SELECT x.pk, x.label, row_number() OVER (PARTITION BY x.pk ORDER BY ${order}) AS rn FROM a JOIN x ON x.pk = a.pk AND ${side}),
    ps AS (SELECT pk, list(label ORDER BY rn ${direction === 'after' ? 'ASC' : 'DESC'}) AS path FROM n WHERE rn <= ${p.add(steps, 'bigint')} GROUP BY pk),
    counted AS (SELECT path, count(*) AS k FROM ps GROUP BY path)
    SELECT 'total' AS kind, NULL AS path, (SELECT count(*) FROM a) AS k, (SELECT count(*) FROM ps) AS with_events
    UNION ALL
    (SELECT 'path', path, k, NULL FROM counted ORDER BY k DESC, array_to_string(path, ' > ') LIMIT ${p.add(top, 'bigint')})`;
  return answerOf(await query(sql, p.values), req, range);
}

/**
 * The same report on the compact sequence: a profile's events after (before) its anchor in (ts, event_id) order are
 * its rows rn + 1, rn + 2, ... (rn - 1, ...), so the next `steps` events are an equality join on (pk, rn) rather
 * than a sort of every later event; `within` cuts that prefix by time. (Excluded names would renumber the rows:
 * such requests read m_events.)
 */
async function compactPaths(query: Query, p: SqlParams, ws: string, c: Compact, req: PathsRequest, range: TimeRange, withinMs: number): Promise<PathsAnswer> {
  const after = (req.direction ?? 'after') === 'after';
  const from = p.add(range.from, 'bigint');
  const to = p.add(range.to, 'bigint');
  const within = p.add(withinMs, 'bigint');
  const steps = p.add(req.steps ?? 3, 'bigint');
  const sql = `
    WITH a AS (
      SELECT s.pk, min(s.rn) AS r, arg_min(s.ts, s.rn) AS t FROM ${SEQ_TABLE} s
      WHERE s.workspace_id = ${ws} AND ${nidFilter(c, req.anchor)} AND s.ts >= ${from} AND s.ts < ${to} GROUP BY s.pk
    ),
    o AS (SELECT a.pk, a.t, a.r ${after ? '+' : '-'} CAST(k.i AS INTEGER) AS rn FROM a CROSS JOIN (SELECT unnest(range(1, ${steps} + 1)) AS i) k),
    n AS (
      SELECT o.pk, x.rn, x.nid FROM o JOIN ${SEQ_TABLE} x ON x.workspace_id = ${ws} AND x.pk = o.pk AND x.rn = o.rn
      WHERE ${after ? `x.ts <= o.t + ${within}` : `x.ts >= o.t - ${within}`}
    ),
    ps AS (SELECT n.pk, list(${labelSql('nm')} ORDER BY n.rn) AS path FROM n JOIN ${NAMES_TABLE} nm ON nm.nid = n.nid GROUP BY n.pk),
    counted AS (SELECT path, count(*) AS k FROM ps GROUP BY path)
    SELECT 'total' AS kind, NULL AS path, (SELECT count(*) FROM a) AS k, (SELECT count(*) FROM ps) AS with_events
    UNION ALL
    (SELECT 'path', path, k, NULL FROM counted ORDER BY k DESC, array_to_string(path, ' > ') LIMIT ${p.add(req.top ?? 10, 'bigint')})`;
  return answerOf(await query(sql, p.values), req, range);
}

function answerOf(rows: Record<string, unknown>[], req: PathsRequest, range: TimeRange): PathsAnswer {
  const direction = req.direction ?? 'after';
  const total = rows.find((r) => r.kind === 'total');
  const anchored = num(total?.k);
  return {
    from: iso(range.from),
    to: iso(range.to),
    anchor: labelOf(req.anchor),
    direction,
    anchored,
    noEvents: anchored - num(total?.with_events),
    paths: rows
      .filter((r) => r.kind === 'path')
      .map((r) => ({ path: (r.path as unknown[]).map(String), profiles: num(r.k), share: anchored === 0 ? 0 : num(r.k) / anchored }))
      .sort((x, y) => y.profiles - x.profiles || x.path.join('\u0001').localeCompare(y.path.join('\u0001'))),
  };
}
