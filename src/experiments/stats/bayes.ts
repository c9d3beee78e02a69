import { logBeta } from './distributions.js';
import { Random } from './random.js';

/** A posterior per arm: Beta(a, b) for a rate, Normal(mean, sd) for a mean (large-sample approximation). */
export type Posterior = { kind: 'beta'; a: number; b: number } | { kind: 'normal'; mean: number; sd: number };

/** Beta(1 + successes, 1 + failures): a uniform prior updated with the arm's counts. */
export const betaPosterior = (successes: number, n: number): Posterior => ({ kind: 'beta', a: 1 + successes, b: 1 + n - successes });

/**
 * P(θ_t > θ_c) for θ_t ~ Beta(at, bt), θ_c ~ Beta(ac, bc) with integer `at`, in closed form (Evan Miller,
 * "Formulas for Bayesian A/B testing"): Σ_{i<at} B(ac + i, bc + bt) / ((bt + i) B(1 + i, bt) B(ac, bc)).
 */
export function betaChanceToBeat(ac: number, bc: number, at: number, bt: number): number {
  let total = 0;
  const base = logBeta(ac, bc);
  for (let i = 0; i < at; i++) total += Math.exp(logBeta(ac + i, bc + bt) - Math.log(bt + i) - logBeta(1 + i, bt) - base);
  return Math.min(1, Math.max(0, total));
}

export interface ArmChances {
  /** P(arm beats control); 0.5 for the control itself. */
  chanceToBeatControl: number;
  /** P(arm is the best of all arms). */
  chanceToBeBest: number;
  /** E[max over arms θ - θ_arm]: what choosing this arm costs on average, in the metric's unit. */
  expectedLoss: number;
}

/** Monte Carlo over the joint posterior (independent arms), seeded, so a result page reads the same twice. */
export function posteriorChances(posteriors: Posterior[], control: number, draws = 20_000, seed = 'experiments'): ArmChances[] {
  const rng = new Random(seed);
  const k = posteriors.length;
  const beats = new Array<number>(k).fill(0);
  const best = new Array<number>(k).fill(0);
  const loss = new Array<number>(k).fill(0);
  const sample = new Array<number>(k);
  for (let d = 0; d < draws; d++) {
    let max = -Infinity;
    let argmax = 0;
    for (let i = 0; i < k; i++) {
      const p = posteriors[i];
      sample[i] = p.kind === 'beta' ? rng.beta(p.a, p.b) : p.mean + p.sd * rng.normal();
      if (sample[i] > max) (max = sample[i]), (argmax = i);
    }
    best[argmax]++;
    for (let i = 0; i < k; i++) {
      if (sample[i] > sample[control]) beats[i]++;
      loss[i] += max - sample[i];
    }
  }
  return posteriors.map((_, i) => ({ chanceToBeatControl: i === control ? 0.5 : beats[i] / draws, chanceToBeBest: best[i] / draws, expectedLoss: loss[i] / draws }));
}
