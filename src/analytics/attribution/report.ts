import type { Compact } from '../compact.js';
import type { Query } from '../funnels.js';
import { iso, requestDuration, type TimeRange } from '../range.js';
import { MODELS, type AttributionModel, type AttributionRequest } from '../schema.js';
import { checkMatch, labelOf, num, SqlParams } from '../sql.js';
import { journeyCtes } from './journeys-sql.js';
import { CONVERSION, NULL_STATE, removalEffects, START, type Transition } from './markov.js';

export interface AttributionRow {
  channel: string;
  /** null when grouping by channel, or for touchpoints without a campaign. */
  campaign: string | null;
  /** Touchpoints credited to a conversion (in a journey). */
  touchpoints: number;
  /** Conversions credited to this row, per model (fractions: a journey's credits sum to 1). */
  conversions: Partial<Record<AttributionModel, number>>;
  revenue: Partial<Record<AttributionModel, number>>;
  /** Markov only: the removal effect of this state. */
  removalEffect?: number;
}

export interface AttributionAnswer {
  from: string;
  to: string;
  conversion: string;
  lookback: string;
  groupBy: 'channel' | 'campaign';
  models: AttributionModel[];
  totals: {
    conversions: number;
    revenue: number;
    /** Conversions with at least one touchpoint in their lookback window (what the models share out). */
    attributed: number;
    attributedRevenue: number;
    /** Journeys the Markov chain was fitted on. */
    convertingJourneys: number;
    nonConvertingJourneys: number;
  };
  /** Markov only: P(conversion) of the fitted chain. */
  conversionProbability?: number;
  rows: AttributionRow[];
}

const DEFAULT_LOOKBACK = '30d';
const DEFAULT_HALF_LIFE = '7d';

type CreditRow = { ch: string; ca: string | null; touches: number } & Record<string, unknown>;
interface TransitionRow { fch: string | null; fca: string | null; start: boolean; ch: string | null; ca: string | null; fin: string | null; k: number }

const stateOf = (channel: string | null, campaign: string | null) => JSON.stringify([channel, campaign]);

/**
 * Multi-touch attribution (docs/analytics.md): every conversion in [from, to) with the touchpoints of its profile
 * in the `lookback` before it (and after the previous conversion) is shared out among them by each model:
 * first touch, last touch, linear (1/n each), time decay (weight 2^(-age/halfLife), normalised), position-based
 * (40% first, 40% last, 20% over the middle; 50/50 for two; all for one) and Markov (removal effects of a
 * first-order chain fitted on converting and non-converting journeys, times the attributed conversions).
 */
export async function attributionReport(query: Query, workspaceId: string, req: AttributionRequest, range: TimeRange, compact?: Compact): Promise<AttributionAnswer> {
  checkMatch(req.conversion, 'conversion');
  const lookbackText = req.lookback ?? DEFAULT_LOOKBACK;
  const lookbackMs = requestDuration(lookbackText, 'lookback');
  const halfLifeMs = requestDuration(req.halfLife ?? DEFAULT_HALF_LIFE, 'halfLife');
  const models = req.models ?? [...MODELS];
  const groupBy = req.groupBy ?? 'campaign';
  const p = new SqlParams();
  const markovAsked = models.includes('markov');
  const ctes = journeyCtes(p, workspaceId, req, range, lookbackMs, halfLifeMs, groupBy, markovAsked, compact);
  const from = p.add(range.from, 'bigint');
  const credit = {
    first_touch: 'CASE WHEN pos = 1 THEN 1.0 ELSE 0.0 END',
    last_touch: 'CASE WHEN pos = n THEN 1.0 ELSE 0.0 END',
    linear: '1.0 / n',
    time_decay: 'decay',
    position_based: 'CASE WHEN n = 1 THEN 1.0 WHEN n = 2 THEN 0.5 WHEN pos = 1 OR pos = n THEN 0.4 ELSE 0.2 / (n - 2) END',
  };
  const creditCols = Object.entries(credit).map(([m, sql]) => `sum(${sql}) AS ${m}, sum((${sql}) * COALESCE(revenue, 0)) AS ${m}_revenue`).join(', ');
  const sql = `
    WITH ${ctes},
    credits AS (
      SELECT {ch: s.key_channel, ca: s.key_campaign, ${Object.keys(credit).flatMap((m) => [`${m}: c.${m}`, `${m}_revenue: c.${m}_revenue`]).join(', ')}, touches: c.touches} AS r
      FROM (SELECT sk, count(*) AS touches, ${creditCols} FROM j GROUP BY sk) c JOIN states s ON s.sk = c.sk
    )${markovAsked ? `,
    tk AS (
      SELECT psk AS fsk, pos = 1 AS start, sk, NULL::VARCHAR AS fin, count(*) AS k FROM jw GROUP BY psk, pos = 1, sk
      UNION ALL
      SELECT sk, FALSE, NULL, CASE WHEN credited THEN 'conversion' ELSE 'null' END, count(*) FROM jw WHERE ne IS NULL GROUP BY sk, credited
    ),
    trans AS (
      SELECT {fch: f.key_channel, fca: f.key_campaign, start: tk.start, ch: t.key_channel, ca: t.key_campaign, fin: tk.fin, k: tk.k} AS r
      FROM tk LEFT JOIN states f ON f.sk = tk.fsk LEFT JOIN states t ON t.sk = tk.sk
    )` : ''}
    SELECT
      (SELECT count(*) FROM conv WHERE ts >= ${from}) AS conversions,
      (SELECT COALESCE(sum(revenue), 0) FROM conv WHERE ts >= ${from}) AS revenue,
      (SELECT count(*) FROM j WHERE pos = 1) AS attributed,
      (SELECT COALESCE(sum(revenue), 0) FROM j WHERE pos = 1) AS attributed_revenue,
      ${markovAsked ? '(SELECT count(*) FROM jw WHERE NOT credited AND pos = 1)' : `(SELECT count(DISTINCT pk) FROM tc WHERE NOT credited AND ts >= ${from})`} AS non_converting,
      (SELECT list(r) FROM credits) AS credits,
      ${markovAsked ? '(SELECT list(r) FROM trans)' : 'NULL'} AS transitions`;
  const [row] = await query(sql, p.values);
  const credits = (row.credits as CreditRow[] | null) ?? [];
  const totals = {
    conversions: num(row.conversions),
    revenue: num(row.revenue),
    attributed: num(row.attributed),
    attributedRevenue: num(row.attributed_revenue),
    convertingJourneys: num(row.attributed),
    nonConvertingJourneys: num(row.non_converting),
  };
  const rows = new Map<string, AttributionRow>();
  for (const c of credits) {
    const r: AttributionRow = { channel: String(c.ch), campaign: c.ca === null || c.ca === undefined ? null : String(c.ca), touchpoints: num(c.touches), conversions: {}, revenue: {} };
    for (const m of models) {
      if (m === 'markov') continue;
      r.conversions[m] = num(c[m]);
      r.revenue[m] = num(c[`${m}_revenue`]);
    }
    rows.set(stateOf(r.channel, r.campaign), r);
  }
  const answer: AttributionAnswer = {
    from: iso(range.from), to: iso(range.to), conversion: labelOf(req.conversion), lookback: lookbackText, groupBy, models, totals, rows: [],
  };
  if (markovAsked) {
    const transitions: Transition[] = ((row.transitions as TransitionRow[] | null) ?? []).map((t) => ({
      from: t.fin !== null && t.fin !== undefined ? stateOf(t.fch, t.fca) : t.start ? START : stateOf(t.fch, t.fca),
      to: t.fin === 'conversion' ? CONVERSION : t.fin === 'null' ? NULL_STATE : stateOf(t.ch, t.ca),
      count: num(t.k),
    }));
    const markov = removalEffects(transitions);
    answer.conversionProbability = markov.conversionProbability;
    for (const [state, share] of markov.shares) {
      const [channel, campaign] = JSON.parse(state) as [string, string | null];
      // A state seen only in journeys that did not convert has no rule-based credit: 0 for each model asked for.
      const zeros = Object.fromEntries(models.filter((m) => m !== 'markov').map((m) => [m, 0]));
      const r = rows.get(state) ?? { channel, campaign, touchpoints: 0, conversions: { ...zeros }, revenue: { ...zeros } };
      r.conversions.markov = share * totals.attributed;
      r.revenue.markov = share * totals.attributedRevenue;
      r.removalEffect = markov.removalEffects.get(state);
      rows.set(state, r);
    }
  }
  answer.rows = [...rows.values()].sort((a, b) => a.channel.localeCompare(b.channel) || String(a.campaign ?? '').localeCompare(String(b.campaign ?? '')));
  return answer;
}
