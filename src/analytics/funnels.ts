import type { SqlValue } from '../core/ports/warehouse.js';
import { seqCan, seqEvents, type Compact } from './compact.js';
import { iso, requestDuration, type TimeRange } from './range.js';
import type { Breakdown, FunnelRequest } from './schema.js';
import { checkMatch, firstId, firstKey, firstTs, labelOf, matchingEvents, num, numOrNull, SqlParams } from './sql.js';

export type Query = (sql: string, params: SqlValue[]) => Promise<Record<string, unknown>[]>;

export interface FunnelStep {
  step: number;
  label: string;
  /** Profiles that reached this step. */
  count: number;
  /** count / entered (step 1). */
  conversion: number;
  /** count / previous step's count (null for step 1). */
  stepConversion: number | null;
  /** Previous step's count minus this one's (0 for step 1). */
  dropOff: number;
  /** Median ms from the previous step / from the first step, over the profiles that reached this step. */
  medianFromPrevious: number | null;
  medianFromStart: number | null;
}

export interface FunnelAnswer {
  from: string;
  to: string;
  window: string;
  steps: FunnelStep[];
  breakdown?: { by: string; groups: { group: string | null; steps: FunnelStep[] }[] };
}

const DEFAULT_WINDOW = '7d';

/** The group column of a breakdown over the per-profile funnel rows `f` (columns pk, g1 = entry's group). */
function breakdownJoin(b: Breakdown, p: SqlParams, ws: string): { sql: string; by: string } {
  if ('trait' in b) {
    return { by: `trait ${b.trait}`, sql: `SELECT f.*, ${p.textAt('mp.traits', b.trait)} AS g FROM f LEFT JOIN m_profiles mp ON mp.workspace_id = ${ws} AND hash(mp.profile_id) = f.pk` };
  }
  if ('property' in b) return { by: `property ${b.property}`, sql: 'SELECT f.*, f.g1 AS g FROM f' };
  if ('audiences' in b) {
    const list = b.audiences.map((a) => p.add(a)).join(', ');
    return { by: 'audience', sql: `SELECT f.*, mm.audience AS g FROM f JOIN m_memberships mm ON mm.workspace_id = ${ws} AND hash(mm.profile_id) = f.pk AND mm.audience IN (${list})` };
  }
  const x = b.exposure;
  const arm = p.textAt('e.message', x.property, ['properties']);
  const exposures = matchingEvents(p, ws, { event: x.event, where: x.where }, [`${arm} AS g`], true);
  return {
    by: `exposure ${x.event}.${x.property}`,
    sql: `SELECT f.*, x.g AS g FROM f JOIN (SELECT pk, arg_min(g, (ts, event_id)) AS g FROM (${exposures}) GROUP BY pk) x ON x.pk = f.pk`,
  };
}

/**
 * Ordered funnel (docs/analytics.md): a profile enters at its first step-1 event in [from, to); step k is its
 * earliest step-k event after the event that filled step k-1 (events at the same millisecond in arrival order) and
 * no later than `window` after entry. Earliest matching is optimal for an ordered sequence, so a profile reaches
 * step k exactly when some such sequence exists after its entry.
 */
export async function funnelReport(query: Query, workspaceId: string, req: FunnelRequest, range: TimeRange, compact?: Compact): Promise<FunnelAnswer> {
  req.steps.forEach((s, i) => checkMatch(s, `steps[${i}]`));
  const windowText = req.window ?? DEFAULT_WINDOW;
  const windowMs = requestDuration(windowText, 'window');
  const b = req.breakdown;
  if (b && 'exposure' in b) checkMatch({ event: b.exposure.event, where: b.exposure.where }, 'breakdown.exposure');

  const p = new SqlParams();
  const ws = p.add(workspaceId);
  const n = req.steps.length;
  const ctes: string[] = [];
  req.steps.forEach((step, i) => {
    const group = i === 0 && b && 'property' in b ? [`${p.textAt('e.message', b.property, ['properties'])} AS g`] : [];
    // From the compact sequence unless the step reads the message (property filters, a property breakdown).
    const events = group.length === 0 && seqCan(compact, step) ? seqEvents(p, ws, compact, step) : matchingEvents(p, ws, step, group, group.length > 0);
    ctes.push(`e${i + 1} AS (${events})`);
  });
  const from = p.add(range.from, 'bigint');
  const to = p.add(range.to, 'bigint');
  const win = p.add(windowMs, 'bigint');
  const g1 = b && 'property' in b ? ', arg_min(g, (ts, event_id)) AS g1' : ', NULL::VARCHAR AS g1';
  ctes.push(`s1 AS (SELECT pk, ${firstTs('k')} AS t1, ${firstId('k')} AS i1, g1 FROM (SELECT pk, ${firstKey()} AS k${g1} FROM e1 WHERE ts >= ${from} AND ts < ${to} GROUP BY pk))`);
  for (let k = 2; k <= n; k++) {
    const prev = `s${k - 1}`;
    ctes.push(
      `s${k} AS (SELECT pk, t1, ${firstTs('k')} AS t${k}, ${firstId('k')} AS i${k} FROM (SELECT q.pk, q.t1, ${firstKey('e.ts', 'e.event_id')} AS k ` +
        `FROM ${prev} q JOIN e${k} e ON e.pk = q.pk AND e.ts >= q.t${k - 1} AND (e.ts > q.t${k - 1} OR e.event_id > q.i${k - 1}) AND e.ts <= q.t1 + ${win} ` +
        `GROUP BY q.pk, q.t1))`,
    );
  }
  const joins = Array.from({ length: n - 1 }, (_, i) => ` LEFT JOIN s${i + 2} ON s${i + 2}.pk = s1.pk`).join('');
  const times = Array.from({ length: n - 1 }, (_, i) => `, s${i + 2}.t${i + 2}`).join('');
  ctes.push(`f AS (SELECT s1.pk, s1.t1, s1.g1${times} FROM s1${joins})`);
  const aggs: string[] = [];
  for (let k = 1; k <= n; k++) {
    aggs.push(`count(t${k}) AS c${k}`);
    if (k > 1) aggs.push(`quantile_cont(t${k} - t${k - 1}, 0.5) AS dp${k}`, `quantile_cont(t${k} - t1, 0.5) AS ds${k}`);
  }
  let by: string | undefined;
  let sql = `WITH ${ctes.join(',\n')}\nSELECT NULL::VARCHAR AS g, FALSE AS grouped, ${aggs.join(', ')} FROM f`;
  if (b) {
    const joined = breakdownJoin(b, p, ws);
    by = joined.by;
    sql = `WITH ${ctes.join(',\n')}, fg AS (${joined.sql})\nSELECT NULL::VARCHAR AS g, FALSE AS grouped, ${aggs.join(', ')} FROM f\nUNION ALL SELECT g, TRUE, ${aggs.join(', ')} FROM fg GROUP BY g`;
  }
  const rows = await query(sql, p.values);
  const labels = req.steps.map((s) => labelOf(s));
  const stepsOf = (r: Record<string, unknown>): FunnelStep[] => {
    const counts = labels.map((_, i) => num(r[`c${i + 1}`]));
    return labels.map((label, i) => ({
      step: i + 1,
      label,
      count: counts[i],
      conversion: counts[0] === 0 ? 0 : counts[i] / counts[0],
      stepConversion: i === 0 ? null : counts[i - 1] === 0 ? 0 : counts[i] / counts[i - 1],
      dropOff: i === 0 ? 0 : counts[i - 1] - counts[i],
      medianFromPrevious: i === 0 ? null : numOrNull(r[`dp${i + 1}`]),
      medianFromStart: i === 0 ? null : numOrNull(r[`ds${i + 1}`]),
    }));
  };
  const overall = rows.find((r) => r.grouped === false);
  const answer: FunnelAnswer = { from: iso(range.from), to: iso(range.to), window: windowText, steps: stepsOf(overall ?? {}) };
  if (b) {
    const groups = rows
      .filter((r) => r.grouped === true)
      .map((r) => ({ group: r.g === null || r.g === undefined ? null : String(r.g), steps: stepsOf(r) }))
      .sort((x, y) => y.steps[0].count - x.steps[0].count || String(x.group).localeCompare(String(y.group)))
      .slice(0, req.limit ?? 20);
    answer.breakdown = { by: by!, groups };
  }
  return answer;
}
