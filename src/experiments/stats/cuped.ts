import type { ArmSums, MeanSummary } from './summary.js';

/**
 * CUPED (Deng, Xu, Kohavi and Walker, WSDM 2013): Y' = Y - θ (X - E[X]) with X a pre-exposure covariate and
 * θ = cov(X, Y) / var(X) estimated on all arms pooled. The adjusted arm means stay unbiased for the difference
 * (X is independent of the assignment) and their variance shrinks by the factor 1 - ρ².
 */
export interface CupedResult {
  theta: number;
  arms: MeanSummary[];
  /** 1 - var(adjusted) / var(raw), pooled over arms. */
  varianceReduction: number;
}

export function cuped(arms: ArmSums[]): CupedResult | undefined {
  const n = arms.reduce((s, a) => s + a.n, 0);
  if (n < 3 || arms.some((a) => a.sumX === undefined || a.sumX2 === undefined || a.sumXY === undefined)) return undefined;
  const sx = arms.reduce((s, a) => s + a.sumX!, 0);
  const sy = arms.reduce((s, a) => s + a.sumY, 0);
  const sxx = arms.reduce((s, a) => s + a.sumX2!, 0);
  const sxy = arms.reduce((s, a) => s + a.sumXY!, 0);
  const varX = sxx / n - (sx / n) ** 2;
  if (!(varX > 1e-12)) return undefined;
  const theta = (sxy / n - (sx / n) * (sy / n)) / varX;
  const meanX = sx / n;
  let rawVar = 0;
  let adjVar = 0;
  const out = arms.map((a) => {
    const mx = a.sumX! / a.n;
    const my = a.sumY / a.n;
    const k = a.n > 1 ? a.n / (a.n - 1) : 0;
    const vy = k * (a.sumY2 / a.n - my * my);
    const vx = k * (a.sumX2! / a.n - mx * mx);
    const cxy = k * (a.sumXY! / a.n - mx * my);
    const variance = Math.max(0, vy - 2 * theta * cxy + theta * theta * vx);
    rawVar += vy * a.n;
    adjVar += variance * a.n;
    return { n: a.n, mean: my - theta * (mx - meanX), variance };
  });
  return { theta, arms: out, varianceReduction: rawVar > 0 ? 1 - adjVar / rawVar : 0 };
}
