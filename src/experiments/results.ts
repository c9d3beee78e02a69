import type { Experiment, Metric } from './definition.js';
import type { MetricSums } from './metrics.js';
import { betaPosterior, posteriorChances, type Posterior } from './stats/bayes.js';
import { cuped } from './stats/cuped.js';
import { relativeLift } from './stats/lift.js';
import { bonferroniAlpha, holmAdjust } from './stats/multiple.js';
import { twoProportionTest } from './stats/proportions.js';
import { confidenceSequence, mixingVariance } from './stats/sequential.js';
import { sampleRatioCheck, type SrmCheck } from './stats/srm.js';
import { summarise, type Interval, type MeanSummary } from './stats/summary.js';
import { welchTest } from './stats/welch.js';

export interface ArmResult {
  arm: string;
  control: boolean;
  /** Exposed profiles counted (crossovers left out). */
  n: number;
  /** Conversion rate, or mean per exposed profile. */
  value: number;
  sd: number;
  /** Against the control (absent for the control): treatment minus control, per-comparison interval at 1 - alpha. */
  difference?: Interval;
  /** The same widened to Bonferroni's alpha / (arms - 1), so all arms' intervals hold together. */
  differenceAdjusted?: Interval;
  /** Relative lift (treatment / control - 1), delta-method interval. */
  lift?: Interval;
  /** Fixed-horizon two-sided p-value: two-proportion z-test (conversion) or Welch t-test (revenue, count). */
  pValue?: number;
  /** Holm-adjusted across the treatment arms. */
  pValueAdjusted?: number;
  /** Always-valid confidence sequence on the difference and its p-value (safe to look at every day). */
  sequential?: Interval & { pValue: number; pValueAdjusted: number };
  /** CUPED-adjusted difference (metrics with `cuped`). */
  cuped?: { difference: Interval; pValue: number; varianceReduction: number; theta: number };
  chanceToBeatControl: number;
  chanceToBeBest: number;
  /** Expected loss of choosing this arm, in the metric's unit. */
  expectedLoss: number;
}

export interface MetricResult {
  key: string;
  name?: string;
  type: Metric['type'];
  event: string;
  within: string;
  primary: boolean;
  guardrail: boolean;
  direction: 'increase' | 'decrease';
  arms: ArmResult[];
}

export interface Recommendation {
  decision: 'ship' | 'keep_control' | 'keep_running' | 'invalid' | 'no_data';
  arm?: string;
  reasons: string[];
}

export interface ExperimentResults {
  experiment: string;
  control: string;
  alpha: number;
  exposures: Record<string, number>;
  crossovers: number;
  srm: SrmCheck;
  metrics: MetricResult[];
  recommendation: Recommendation;
}

/** Everything the results page shows, from the per-arm sums of each metric (metrics.ts). */
export function computeResults(experiment: Experiment, sums: MetricSums[]): ExperimentResults {
  const alpha = experiment.alpha;
  const armKeys = experiment.arms.map((a) => a.key);
  const first = sums[0];
  const exposures = Object.fromEntries(armKeys.map((k) => [k, first?.arms.get(k)?.n ?? 0]));
  const srm = sampleRatioCheck(armKeys.map((k) => exposures[k]), experiment.arms.map((a) => a.weight));
  const metrics = sums.map((s) => metricResult(experiment, s));
  return {
    experiment: experiment.key, control: experiment.control, alpha, exposures, crossovers: first?.crossovers ?? 0, srm, metrics,
    recommendation: recommend(experiment, srm, metrics),
  };
}

function metricResult(experiment: Experiment, s: MetricSums): MetricResult {
  const { metric } = s;
  const alpha = experiment.alpha;
  const keys = experiment.arms.map((a) => a.key);
  const ci = keys.indexOf(experiment.control);
  const raw = keys.map((k) => s.arms.get(k) ?? { n: 0, sumY: 0, sumY2: 0 });
  const summaries: MeanSummary[] = raw.map((r) => {
    const m = summarise(r);
    // A conversion's variance is p(1 - p) (the population form the z-test uses).
    return metric.type === 'conversion' ? { ...m, variance: m.mean * (1 - m.mean) } : m;
  });
  const adjusted = metric.cuped ? cuped(raw.filter((r) => r.n > 1)) : undefined;
  const adjustedByArm = adjusted ? (() => {
    let j = 0;
    return raw.map((r) => (r.n > 1 ? adjusted.arms[j++] : undefined));
  })() : undefined;
  const posteriors: Posterior[] = raw.map((r, i) =>
    metric.type === 'conversion' ? betaPosterior(r.sumY, r.n) : { kind: 'normal', mean: summaries[i].mean, sd: r.n > 1 ? Math.sqrt(summaries[i].variance / r.n) : 1e9 },
  );
  const chances = posteriorChances(posteriors, ci, 20_000, `${experiment.key}:${metric.key}`);
  const comparisons = Math.max(1, keys.length - 1);
  const control = summaries[ci];
  const arms: ArmResult[] = keys.map((arm, i) => {
    const m = summaries[i];
    const base: ArmResult = { arm, control: i === ci, n: m.n, value: m.mean, sd: Math.sqrt(m.variance), ...chances[i] };
    if (i === ci || m.n < 2 || control.n < 2) return base;
    const test = metric.type === 'conversion'
      ? twoProportionTest({ n: control.n, successes: raw[ci].sumY }, { n: m.n, successes: raw[i].sumY }, alpha)
      : welchTest(control, m, alpha);
    const wide = metric.type === 'conversion'
      ? twoProportionTest({ n: control.n, successes: raw[ci].sumY }, { n: m.n, successes: raw[i].sumY }, bonferroniAlpha(alpha, comparisons))
      : welchTest(control, m, bonferroniAlpha(alpha, comparisons));
    const varMean = (x: MeanSummary) => x.variance / x.n;
    const v = varMean(control) + varMean(m);
    const seq = confidenceSequence(m.mean - control.mean, v, alpha, mixingVariance(control.variance, m.variance, experiment.planned_sample));
    const lift = relativeLift({ mean: control.mean, varianceOfMean: varMean(control) }, { mean: m.mean, varianceOfMean: varMean(m) }, alpha);
    const out: ArmResult = {
      ...base, difference: test.difference, differenceAdjusted: wide.difference, ...(lift ? { lift } : {}), pValue: test.pValue,
      sequential: { estimate: seq.estimate, low: seq.low, high: seq.high, pValue: seq.pValue, pValueAdjusted: seq.pValue },
    };
    const ac = adjustedByArm?.[ci];
    const at = adjustedByArm?.[i];
    if (adjusted && ac && at) {
      const w = welchTest(ac, at, alpha);
      out.cuped = { difference: w.difference, pValue: w.pValue, varianceReduction: adjusted.varianceReduction, theta: adjusted.theta };
    }
    return out;
  });
  const treated = arms.filter((a) => a.pValue !== undefined);
  holmAdjust(treated.map((a) => a.pValue!)).forEach((p, i) => (treated[i].pValueAdjusted = p));
  holmAdjust(treated.map((a) => a.sequential!.pValue)).forEach((p, i) => (treated[i].sequential!.pValueAdjusted = p));
  return {
    key: metric.key, ...(metric.name ? { name: metric.name } : {}), type: metric.type, event: metric.event, within: metric.within ?? '14d',
    primary: metric.key === experiment.metrics.find((x) => !x.guardrail)?.key, guardrail: metric.guardrail === true,
    direction: metric.direction ?? (metric.guardrail ? 'decrease' : 'increase'), arms,
  };
}

/**
 * The recommendation reads the always-valid (sequential) p-values, Holm-adjusted across arms, so it may be looked at
 * every day. It refuses a winner when the sample-ratio check fails or an arm has fewer than `minimum_sample`
 * profiles, and an arm whose guardrail metric moved significantly in its bad direction cannot win.
 */
function recommend(experiment: Experiment, srm: SrmCheck, metrics: MetricResult[]): Recommendation {
  const alpha = experiment.alpha;
  if (srm.status === 'no_data') return { decision: 'no_data', reasons: ['no exposures yet'] };
  if (srm.status === 'mismatch') {
    return {
      decision: 'invalid',
      reasons: [`sample ratio mismatch: arm counts ${srm.observed.join(' / ')} against expected ${srm.expected.map((e) => e.toFixed(0)).join(' / ')} (chi-square p = ${srm.pValue.toExponential(2)} < 0.001); check the assignment and the exposure logging before reading any result`],
    };
  }
  const primary = metrics.find((m) => m.primary)!;
  const small = primary.arms.filter((a) => a.n < experiment.minimum_sample);
  if (small.length) {
    return { decision: 'keep_running', reasons: [`too few exposed profiles: ${small.map((a) => `${a.arm} has ${a.n}`).join(', ')} (minimum_sample ${experiment.minimum_sample} per arm)`] };
  }
  const good = (m: MetricResult, a: ArmResult) => (m.direction === 'increase' ? a.sequential!.estimate > 0 : a.sequential!.estimate < 0);
  const significant = (a: ArmResult) => a.sequential !== undefined && a.sequential.pValueAdjusted < alpha;
  const reasons: string[] = [];
  const harmed = new Set<string>();
  for (const m of metrics.filter((x) => x.guardrail)) {
    for (const a of m.arms) {
      if (significant(a) && !good(m, a)) {
        harmed.add(a.arm);
        reasons.push(`${a.arm} moved guardrail ${m.key} the wrong way (always-valid p = ${a.sequential!.pValueAdjusted.toPrecision(3)})`);
      }
    }
  }
  const winners = primary.arms.filter((a) => significant(a) && good(primary, a) && !harmed.has(a.arm));
  if (winners.length) {
    const best = winners.reduce((x, y) => (y.chanceToBeBest > x.chanceToBeBest ? y : x));
    reasons.unshift(`${best.arm} beats ${experiment.control} on ${primary.key}: difference ${fmt(best.difference!.estimate)} (always-valid interval ${fmt(best.sequential!.low)} to ${fmt(best.sequential!.high)}, adjusted p = ${best.sequential!.pValueAdjusted.toPrecision(3)}), chance to be best ${(best.chanceToBeBest * 100).toFixed(1)}%`);
    return { decision: 'ship', arm: best.arm, reasons };
  }
  const treated = primary.arms.filter((a) => !a.control);
  if (treated.length && treated.every((a) => significant(a) && !good(primary, a))) {
    return { decision: 'keep_control', arm: experiment.control, reasons: [`every arm is significantly worse than ${experiment.control} on ${primary.key}`, ...reasons] };
  }
  return { decision: 'keep_running', reasons: [`no arm differs from ${experiment.control} on ${primary.key} at the always-valid level yet`, ...reasons] };
}

const fmt = (x: number) => (Math.abs(x) < 1 ? x.toFixed(4) : x.toFixed(2));
