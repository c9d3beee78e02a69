import type { Interval } from './summary.js';

/**
 * Always-valid inference for a difference of means: the mixture sequential probability ratio test (mSPRT) of Johari,
 * Pekelis and Walsh ("Always valid inference", Operations Research 2022), which is the normal-mixture boundary of
 * Howard, Ramdas, McAuliffe and Sekhon (Annals of Statistics 2021). With Δ̂ the estimated difference, V its variance
 * (σc²/nc + σt²/nt) and a normal mixing distribution N(0, τ²) over the true difference, the likelihood ratio
 *
 *   Λ = sqrt(V / (V + τ²)) · exp(τ² Δ̂² / (2 V (V + τ²)))
 *
 * is a (asymptotic) martingale under "no difference", so by Ville's inequality P(Λ ever reaches 1/α) ≤ α: looking
 * at the results every day, or after every event, keeps the false-positive rate at α. Inverting the test gives a
 * confidence sequence, an interval that holds at every sample size simultaneously:
 *
 *   Δ̂ ± sqrt( V (V + τ²) / τ² · ln((V + τ²) / (V α²)) ).
 *
 * τ² only moves power (where the boundary is tightest), never validity.
 */
export interface SequentialResult extends Interval {
  /** 1/Λ (capped at 1): reject "no difference" when it is at most α, at any look. */
  pValue: number;
}

export function confidenceSequence(estimate: number, variance: number, alpha: number, tau2: number): SequentialResult {
  // No variance (every value equal in both arms): nothing to test; the interval is the point and nothing is significant.
  if (!(variance > 0) || !(tau2 > 0)) return { estimate, low: estimate, high: estimate, pValue: 1 };
  const total = variance + tau2;
  const half = Math.sqrt(((variance * total) / tau2) * Math.log(total / (variance * alpha * alpha)));
  const logLambda = 0.5 * Math.log(variance / total) + (tau2 * estimate * estimate) / (2 * variance * total);
  return { estimate, low: estimate - half, high: estimate + half, pValue: Math.min(1, Math.exp(-logLambda)) };
}

/**
 * The mixing variance τ² tuned for a planned sample size: the variance of the difference at `n` per arm, so the
 * interval is tightest near that size (documented in docs/experiments.md; any positive value is valid).
 */
export function mixingVariance(controlVariance: number, treatmentVariance: number, n: number): number {
  return (controlVariance + treatmentVariance) / Math.max(1, n);
}
