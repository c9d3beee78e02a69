import { studentTQuantile, studentTTwoSided } from './distributions.js';
import type { Interval, MeanSummary } from './summary.js';

export interface WelchTest {
  /** Treatment mean minus control mean. */
  difference: Interval;
  se: number;
  t: number;
  /** Welch-Satterthwaite degrees of freedom. */
  df: number;
  pValue: number;
}

/** Welch's two-sided t-test for a difference in means with unequal variances (R's `t.test(var.equal = FALSE)`). */
export function welchTest(control: MeanSummary, treatment: MeanSummary, alpha = 0.05): WelchTest {
  const vc = control.variance / control.n;
  const vt = treatment.variance / treatment.n;
  const se = Math.sqrt(vc + vt);
  const diff = treatment.mean - control.mean;
  const df = (vc + vt) ** 2 / ((vc * vc) / (control.n - 1) + (vt * vt) / (treatment.n - 1));
  if (!(se > 0) || !Number.isFinite(df)) return { difference: { estimate: diff, low: diff, high: diff }, se: 0, t: 0, df: Math.max(1, control.n + treatment.n - 2), pValue: 1 };
  const t = diff / se;
  const q = studentTQuantile(1 - alpha / 2, df);
  return { difference: { estimate: diff, low: diff - q * se, high: diff + q * se }, se, t, df, pValue: studentTTwoSided(t, df) };
}
