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
export async function pathsReport(query: Query, workspaceId: string, req: PathsRequest, range: TimeRange): Promise<PathsAnswer> {
  checkMatch(req.anchor, 'anchor');
  const direction = req.direction ?? 'after';
  const steps = req.steps ?? 3;
  const top = req.top ?? 10;
  const withinMs = requestDuration(req.within ?? DEFAULT_WITHIN, 'within');
  const p = new SqlParams();
  const ws = p.add(workspaceId);
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
  const rows = await query(sql, p.values);
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
