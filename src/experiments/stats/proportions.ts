import { normalQuantile, normalTwoSided } from './distributions.js';
import type { Interval } from './summary.js';

export interface Proportion {
  n: number;
  successes: number;
}

export interface ProportionTest {
  /** Treatment rate minus control rate. */
  difference: Interval;
  /** Unpooled standard error of the difference (what the interval uses). */
  se: number;
  /** z with the pooled standard error (the test of equal rates). */
  z: number;
  pValue: number;
}

/**
 * Two-sided two-proportion z-test: the statistic uses the pooled rate (equal rates under the null), the interval the
 * unpooled (Wald) standard error, as textbooks and R's `prop.test(correct = FALSE)` do.
 */
export function twoProportionTest(control: Proportion, treatment: Proportion, alpha = 0.05): ProportionTest {
  const pc = control.successes / control.n;
  const pt = treatment.successes / treatment.n;
  const diff = pt - pc;
  const se = Math.sqrt((pc * (1 - pc)) / control.n + (pt * (1 - pt)) / treatment.n);
  const pooled = (control.successes + treatment.successes) / (control.n + treatment.n);
  const sePooled = Math.sqrt(pooled * (1 - pooled) * (1 / control.n + 1 / treatment.n));
  const z = sePooled > 0 ? diff / sePooled : 0;
  const q = normalQuantile(1 - alpha / 2);
  return { difference: { estimate: diff, low: diff - q * se, high: diff + q * se }, se, z, pValue: sePooled > 0 ? normalTwoSided(z) : 1 };
}

/**
 * Agresti–Caffo interval for a difference of proportions: the Wald interval after adding one success and one
 * failure to each group (Agresti & Caffo, The American Statistician 2000). Close to its nominal coverage even for
 * small groups or rare events, where the plain Wald interval is too short (used for a decide node's holdout).
 */
export function agrestiCaffo(control: Proportion, treatment: Proportion, alpha = 0.05): Interval {
  const pc = (control.successes + 1) / (control.n + 2);
  const pt = (treatment.successes + 1) / (treatment.n + 2);
  const se = Math.sqrt((pc * (1 - pc)) / (control.n + 2) + (pt * (1 - pt)) / (treatment.n + 2));
  const q = normalQuantile(1 - alpha / 2);
  const estimate = treatment.successes / treatment.n - control.successes / control.n;
  return { estimate, low: pt - pc - q * se, high: pt - pc + q * se };
}
