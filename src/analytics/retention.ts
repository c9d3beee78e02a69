import { SEQ_TABLE, seqCan, seqEvents, type Compact } from './compact.js';
import type { Query } from './funnels.js';
import { iso, type TimeRange } from './range.js';
import type { RetentionRequest } from './schema.js';
import { checkMatch, labelOf, matchingEvents, num, SqlParams } from './sql.js';

export interface RetentionCell {
  period: number;
  /** Profiles of the cohort for whom this period has started before `to`. */
  eligible: number;
  /** Of them, those with a return event in this period (period 0: all of them). */
  returned: number;
  /** returned / eligible; null when none is eligible yet. */
  rate: number | null;
}

export interface RetentionAnswer {
  from: string;
  to: string;
  period: 'day' | 'week' | 'month';
  cohortBy: string;
  returnOn: string;
  cohorts: { cohort: string | null; size: number; periods: RetentionCell[] }[];
  /** All cohorts together, weighted by their eligible profiles: the retention curve. */
  curve: RetentionCell[];
}

const cell = (period: number, eligible: number, returned: number): RetentionCell => ({ period, eligible, returned, rate: eligible === 0 ? null : returned / eligible });

/**
 * Retention (docs/analytics.md): a profile enters its cohort at its first cohort event ever, if that falls in
 * [from, to). Periods are calendar periods in UTC (weeks start on Monday); period 0 is the period of that first
 * event, and the profile returned in period n >= 1 when it has a return event in the n-th period after it, before
 * `to`. Rows are the entry period, or the profile's current trait value when `cohort.trait` is set.
 */
export async function retentionReport(query: Query, workspaceId: string, req: RetentionRequest, range: TimeRange, compact?: Compact): Promise<RetentionAnswer> {
  if (req.cohort?.event) checkMatch(req.cohort.event, 'cohort.event');
  if (req.return) checkMatch(req.return, 'return');
  const period = req.period ?? 'week';
  const periods = req.periods ?? 8;
  const p = new SqlParams();
  const ws = p.add(workspaceId);
  const unit = `'${period}'`; // one of three literals (schema-checked), not user text
  const cohortEvents = seqCan(compact, req.cohort?.event) ? seqEvents(p, ws, compact, req.cohort?.event) : matchingEvents(p, ws, req.cohort?.event);
  const returnEvents = seqCan(compact, req.return) ? seqEvents(p, ws, compact, req.return) : matchingEvents(p, ws, req.return);
  const from = p.add(range.from, 'bigint');
  const to = p.add(range.to, 'bigint');
  // Entry on any event: a profile's first event is its row 1 of the sequence (no aggregate over every event).
  const entries = compact && req.cohort?.event === undefined
    ? `SELECT s.pk, s.ts AS t0 FROM ${SEQ_TABLE} s WHERE s.workspace_id = ${ws} AND s.rn = 1 AND s.ts >= ${from} AND s.ts < ${to}`
    : `SELECT pk, min(ts) AS t0 FROM (${cohortEvents}) GROUP BY pk HAVING min(ts) >= ${from} AND min(ts) < ${to}`;
  const label = req.cohort?.trait !== undefined
    ? p.textAt('mp.traits', req.cohort.trait)
    : `strftime(date_trunc(${unit}, epoch_ms(a.t0)), '%Y-%m-%d')`;
  const maxPeriods = p.add(periods, 'bigint');
  const sql = `
    WITH a AS (${entries}),
    c AS (
      SELECT a.pk, a.t0, date_trunc(${unit}, epoch_ms(a.t0)) AS anchor, ${label} AS label,
             date_diff(${unit}, date_trunc(${unit}, epoch_ms(a.t0)), date_trunc(${unit}, epoch_ms(${to} - 1))) AS started
      FROM a${req.cohort?.trait !== undefined ? ` LEFT JOIN m_profiles mp ON mp.workspace_id = ${ws} AND hash(mp.profile_id) = a.pk` : ''}
    ),
    r AS (
      SELECT DISTINCT c.pk, c.label, date_diff(${unit}, c.anchor, date_trunc(${unit}, epoch_ms(x.ts))) AS n
      FROM c JOIN (${returnEvents}) x ON x.pk = c.pk AND x.ts >= c.t0 AND x.ts < ${to}
    )
    SELECT 'size' AS kind, label, LEAST(started, ${maxPeriods}) AS n, count(*) AS k FROM c GROUP BY ALL
    UNION ALL
    SELECT 'returned', label, n, count(*) FROM r WHERE n BETWEEN 1 AND ${maxPeriods} GROUP BY ALL`;
  const rows = await query(sql, p.values);

  // Per cohort: how many profiles have had each period start (eligible = started >= n), and returns per period.
  const byLabel = new Map<string | null, { started: number[]; returned: number[] }>();
  const of = (l: unknown) => {
    const key = l === null || l === undefined ? null : String(l);
    let e = byLabel.get(key);
    if (!e) byLabel.set(key, (e = { started: new Array(periods + 1).fill(0), returned: new Array(periods + 1).fill(0) }));
    return e;
  };
  for (const r of rows) {
    const e = of(r.label);
    const n = num(r.n);
    if (r.kind === 'size') e.started[n] += num(r.k);
    else e.returned[n] += num(r.k);
  }
  const curveEligible = new Array(periods + 1).fill(0);
  const curveReturned = new Array(periods + 1).fill(0);
  const cohorts = [...byLabel.entries()].map(([cohort, e]) => {
    const size = e.started.reduce((s, v) => s + v, 0);
    const cells: RetentionCell[] = [];
    let eligible = size;
    for (let n = 0; n <= periods; n++) {
      if (n > 0) eligible -= e.started[n - 1];
      const returned = n === 0 ? size : e.returned[n];
      cells.push(cell(n, eligible, returned));
      curveEligible[n] += eligible;
      curveReturned[n] += returned;
    }
    return { cohort, size, periods: cells };
  });
  if (req.cohort?.trait !== undefined) cohorts.sort((x, y) => y.size - x.size || String(x.cohort).localeCompare(String(y.cohort)));
  else cohorts.sort((x, y) => String(x.cohort).localeCompare(String(y.cohort)));
  return {
    from: iso(range.from),
    to: iso(range.to),
    period,
    cohortBy: req.cohort?.trait !== undefined ? `trait ${req.cohort.trait}` : `first ${labelOf(req.cohort?.event)}`,
    returnOn: labelOf(req.return),
    cohorts,
    curve: curveEligible.map((e, n) => cell(n, e, curveReturned[n])),
  };
}
