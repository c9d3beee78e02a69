import type { JsonValue } from '../conditions/model.js';
import { TandemError } from '../core/errors.js';
import { conditionalExpectedPurchases, fitBgNbd, probabilityAlive, type BgNbdParams } from './bgnbd.js';
import { instant, type ClvParams } from './definition.js';
import { jsonKey } from './features.js';
import { conditionalExpectedValue, fitGammaGamma, type GammaGammaParams } from './gamma-gamma.js';
import { summarisePurchases, type Purchase, type PurchaseSummary } from './purchase-summary.js';
import { round, type Trained, type TrainingContext } from './training.js';

const DAY_MS = 86_400_000;
const UNIT_MS = { days: DAY_MS, weeks: 7 * DAY_MS } as const;
const MONTH_MS = 30.4375 * DAY_MS;

export interface ClvArtefact {
  bgnbd: BgNbdParams;
  gammaGamma: GammaGammaParams | null;
  unitMs: number;
  asOf: number;
  calibrationEnd: number;
}

export interface ClvValue {
  expected_purchases: number;
  p_alive: number;
  expected_value: number | null;
  clv: number | null;
  frequency: number;
  recency: number;
  T: number;
}

/** Purchases per profile, one row per (profile, UTC day) with the day's total value, up to `to`. */
async function purchases(ctx: TrainingContext, p: ClvParams, to: number): Promise<Map<string, Purchase[]>> {
  const rows = await ctx.sql(
    `SELECT profile_id, ts // ${DAY_MS} AS day, sum(COALESCE(TRY_CAST(json_extract_string(properties, $3) AS DOUBLE), 0)) AS value
     FROM c_events WHERE event = $1 AND ts <= $2 AND profile_id IN (SELECT profile_id FROM c_profiles) GROUP BY 1, 2`,
    [p.event, to, jsonKey(p.revenueProperty)],
  );
  const out = new Map<string, Purchase[]>();
  for (const r of rows) {
    const id = String(r.profile_id);
    const list = out.get(id) ?? [];
    list.push({ at: Number(r.day) * DAY_MS, value: Number(r.value) });
    out.set(id, list);
  }
  return out;
}

/** One profile's values from its history as of the scoring instant. */
export function scoreClv(a: ClvArtefact, s: PurchaseSummary, p: ClvParams): ClvValue {
  const c = { frequency: s.frequency, recency: s.recency, T: s.T };
  const expectedValue = a.gammaGamma ? conditionalExpectedValue(a.gammaGamma, { frequency: s.frequency, monetary: s.monetary }) : null;
  // CLV: expected purchases in each month of the horizon times the expected value, discounted monthly.
  let clv: number | null = null;
  if (expectedValue !== null) {
    const horizonMs = p.horizon * a.unitMs;
    const months = Math.ceil(horizonMs / MONTH_MS - 1e-9);
    const monthlyRate = (1 + p.discountRate) ** (1 / 12);
    let before = 0;
    clv = 0;
    for (let m = 1; m <= months; m++) {
      const cumulative = conditionalExpectedPurchases(a.bgnbd, c, Math.min(m * MONTH_MS, horizonMs) / a.unitMs);
      clv += ((cumulative - before) * expectedValue) / monthlyRate ** m;
      before = cumulative;
    }
  }
  return {
    expected_purchases: conditionalExpectedPurchases(a.bgnbd, c, p.horizon),
    p_alive: probabilityAlive(a.bgnbd, c),
    expected_value: expectedValue,
    clv,
    frequency: s.frequency,
    recency: s.recency,
    T: s.T,
  };
}

const rounded = (v: ClvValue): JsonValue => ({
  expected_purchases: round(v.expected_purchases),
  p_alive: round(v.p_alive),
  expected_value: v.expected_value === null ? null : round(v.expected_value),
  clv: v.clv === null ? null : round(v.clv),
});

/**
 * BG/NBD and Gamma-Gamma fitted on the calibration period, checked on the holdout (calibration end to the scoring
 * instant), then every purchaser scored from its history as of the scoring instant.
 */
export async function trainClv(p: ClvParams, ctx: TrainingContext): Promise<Trained> {
  const asOf = p.holdoutEnd !== undefined ? instant(p.holdoutEnd, 'clv.holdoutEnd') : ctx.now;
  const calibrationEnd = p.calibrationEnd !== undefined ? instant(p.calibrationEnd, 'clv.calibrationEnd') : asOf;
  const unitMs = UNIT_MS[p.timeUnit];
  ctx.progress('reading purchases', 0);
  const history = await purchases(ctx, p, asOf);
  const calibration: { id: string; s: PurchaseSummary }[] = [];
  for (const [id, list] of history) {
    const s = summarisePurchases(list, calibrationEnd, unitMs, asOf);
    if (s) calibration.push({ id, s });
  }
  if (calibration.length < 10) throw new TandemError('not_enough_data', `clv: ${calibration.length} profiles performed '${p.event}' by the calibration end; at least 10 are needed`, 400, 'clv.event');
  ctx.progress('fitting BG/NBD', 0.2);
  const bg = fitBgNbd(calibration.map((c) => c.s));
  ctx.progress('fitting Gamma-Gamma', 0.5);
  let gg: ReturnType<typeof fitGammaGamma> | undefined;
  let ggError: string | undefined;
  try {
    gg = fitGammaGamma(calibration.map((c) => c.s));
  } catch (error) {
    ggError = (error as Error).message;
  }
  const artefact: ClvArtefact = { bgnbd: bg.params, gammaGamma: gg?.params ?? null, unitMs, asOf, calibrationEnd };

  // Calibration versus holdout: mean holdout purchases by calibration frequency, observed and predicted.
  const holdoutLength = (asOf - calibrationEnd) / unitMs;
  let holdout: Record<string, unknown>[] | undefined;
  if (holdoutLength > 0) {
    const groups = new Map<number, { customers: number; actual: number; predicted: number }>();
    for (const { s } of calibration) {
      const g = Math.min(s.frequency, 7);
      const e = groups.get(g) ?? { customers: 0, actual: 0, predicted: 0 };
      e.customers++;
      e.actual += s.holdout;
      e.predicted += conditionalExpectedPurchases(bg.params, s, holdoutLength);
      groups.set(g, e);
    }
    holdout = [...groups.entries()].sort((x, y) => x[0] - y[0]).map(([f, e]) => ({ frequency: f === 7 ? '7+' : f, customers: e.customers, actual: round(e.actual / e.customers, 4), predicted: round(e.predicted / e.customers, 4) }));
  }

  ctx.progress('scoring', 0.6);
  const values = new Map<string, JsonValue>();
  let total = 0;
  let n = 0;
  for (const [id, list] of history) {
    const s = summarisePurchases(list, asOf, unitMs);
    if (!s) continue;
    const v = scoreClv(artefact, s, p);
    values.set(id, rounded(v));
    if (v.clv !== null) total += v.clv;
    if (++n % 10_000 === 0) ctx.progress('scoring', 0.6 + (0.3 * n) / history.size);
  }
  const se = (x: number | null) => (x === null ? null : round(x, 4));
  return {
    artefact,
    values,
    result: {
      calibrationEnd: new Date(calibrationEnd).toISOString(),
      scoredAsOf: new Date(asOf).toISOString(),
      timeUnit: p.timeUnit,
      customers: calibration.length,
      bgnbd: {
        parameters: { r: round(bg.params.r), alpha: round(bg.params.alpha), a: round(bg.params.a), b: round(bg.params.b) },
        standardErrors: { r: se(bg.standardErrors.r), alpha: se(bg.standardErrors.alpha), a: se(bg.standardErrors.a), b: se(bg.standardErrors.b) },
        logLikelihood: round(bg.logLikelihood, 8),
      },
      gammaGamma: gg
        ? {
            parameters: { p: round(gg.params.p), q: round(gg.params.q), gamma: round(gg.params.gamma) },
            standardErrors: { p: se(gg.standardErrors.p), q: se(gg.standardErrors.q), gamma: se(gg.standardErrors.gamma) },
            logLikelihood: round(gg.logLikelihood, 8),
            repeatCustomers: gg.customers,
            populationMeanValue: round((gg.params.p * gg.params.gamma) / (gg.params.q - 1)),
          }
        : { error: ggError },
      holdout: holdout ? { length: round(holdoutLength, 6), byCalibrationFrequency: holdout } : null,
      scored: values.size,
      totalClv: round(total, 8),
      explanation:
        'BG/NBD: purchases are Poisson with rate ~ Gamma(r, alpha) while alive; after each purchase the customer drops out with probability ~ Beta(a, b). ' +
        'Gamma-Gamma: a customer\'s mean purchase value is shrunk toward the population mean p*gamma/(q-1), the more the fewer repeat purchases it has. ' +
        `CLV: expected purchases month by month over ${p.horizon} ${p.timeUnit} times the expected value, discounted at ${p.discountRate} a year.`,
    },
  };
}

/** The values of one profile with what they come from (GET /api/v1/models/<key>/profiles/<id>). */
export async function explainClv(p: ClvParams, a: ClvArtefact, ctx: TrainingContext, profileId: string): Promise<Record<string, unknown> | undefined> {
  const rows = await ctx.sql(
    `SELECT ts // ${DAY_MS} AS day, sum(COALESCE(TRY_CAST(json_extract_string(properties, $4) AS DOUBLE), 0)) AS value
     FROM c_events WHERE event = $1 AND ts <= $2 AND profile_id = $3 GROUP BY 1`,
    [p.event, a.asOf, profileId, jsonKey(p.revenueProperty)],
  );
  const s = summarisePurchases(rows.map((r) => ({ at: Number(r.day) * DAY_MS, value: Number(r.value) })), a.asOf, a.unitMs);
  if (!s) return undefined;
  const v = scoreClv(a, s, p);
  const g = a.gammaGamma;
  return {
    values: rounded(v),
    history: { frequency: s.frequency, recency: round(s.recency), T: round(s.T), meanRepeatValue: round(s.monetary) },
    explanation: {
      p_alive: s.frequency === 0 ? 'no repeat purchase yet: the model cannot have seen a drop-out, so P(alive) is 1' : `the longer since the last purchase (${round(s.T - s.recency, 4)} ${p.timeUnit}) relative to the purchase rate, the lower P(alive)`,
      expected_value: g
        ? { ownWeight: round((g.p * s.frequency) / (g.p * s.frequency + g.q - 1), 4), ownMean: round(s.monetary), populationMean: round((g.p * g.gamma) / (g.q - 1)) }
        : null,
    },
  };
}
