/**
 * Per-arm sufficient statistics, as the warehouse query returns them: enough for every test here without the
 * per-profile rows. `y` is the metric (0/1 for a conversion), `x` the pre-exposure covariate for CUPED.
 */
export interface ArmSums {
  n: number;
  sumY: number;
  sumY2: number;
  sumX?: number;
  sumX2?: number;
  sumXY?: number;
}

/** A sample mean with its sample variance (n - 1 denominator). */
export interface MeanSummary {
  n: number;
  mean: number;
  variance: number;
}

export function summarise(s: ArmSums): MeanSummary {
  const mean = s.n > 0 ? s.sumY / s.n : 0;
  const variance = s.n > 1 ? Math.max(0, (s.sumY2 - s.n * mean * mean) / (s.n - 1)) : 0;
  return { n: s.n, mean, variance };
}

/** Variance of the sample mean, s² / n. */
export const varianceOfMean = (m: MeanSummary) => (m.n > 0 ? m.variance / m.n : Infinity);

/** An estimate with a two-sided interval. */
export interface Interval {
  estimate: number;
  low: number;
  high: number;
}
