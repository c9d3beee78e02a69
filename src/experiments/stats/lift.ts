import { normalQuantile } from './distributions.js';
import type { Interval } from './summary.js';

/**
 * Relative lift (treatment mean / control mean - 1) with a delta-method interval. With independent arms,
 * Var(T/C) ≈ Var(T)/C² + T² Var(C)/C⁴, where Var(·) are the variances of the two sample means.
 */
export function relativeLift(control: { mean: number; varianceOfMean: number }, treatment: { mean: number; varianceOfMean: number }, alpha = 0.05): Interval | undefined {
  const c = control.mean;
  const t = treatment.mean;
  if (!(c !== 0) || !Number.isFinite(c)) return undefined;
  const variance = treatment.varianceOfMean / (c * c) + (t * t * control.varianceOfMean) / (c * c * c * c);
  const estimate = t / c - 1;
  const half = normalQuantile(1 - alpha / 2) * Math.sqrt(variance);
  return { estimate, low: estimate - half, high: estimate + half };
}
