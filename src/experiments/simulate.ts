import { HOLDOUT_ARM, thompsonChoice } from './decide.js';
import { agrestiCaffo, twoProportionTest } from './stats/proportions.js';
import { Random } from './stats/random.js';
import { confidenceSequence, mixingVariance } from './stats/sequential.js';

export interface PeekingOptions {
  experiments: number;
  days: number;
  /** New profiles per arm per day. */
  perArmPerDay: number;
  rate: number;
  alpha: number;
  plannedSample: number;
  seed: string;
}

export interface PeekingResult {
  /** Share of A/A experiments the fixed-horizon z-test called significant at some daily look. */
  fixedAnyLook: number;
  /** The same test looked at once, on the last day (its nominal rate). */
  fixedLastLook: number;
  /** Share the always-valid confidence sequence called significant at some daily look. */
  sequentialAnyLook: number;
}

/**
 * A/A experiments (both arms convert at `rate`) looked at every day: how often each method wrongly declares a
 * difference. The methods are the ones the results route uses (two-proportion z-test, mixture-SPRT sequence).
 */
export function peekingSimulation(o: PeekingOptions): PeekingResult {
  const rng = new Random(o.seed);
  let fixedAny = 0;
  let fixedLast = 0;
  let seqAny = 0;
  for (let e = 0; e < o.experiments; e++) {
    let xa = 0;
    let xb = 0;
    let n = 0;
    let fixedHit = false;
    let seqHit = false;
    for (let d = 1; d <= o.days; d++) {
      for (let i = 0; i < o.perArmPerDay; i++) (xa += rng.bernoulli(o.rate)), (xb += rng.bernoulli(o.rate));
      n += o.perArmPerDay;
      const test = twoProportionTest({ n, successes: xa }, { n, successes: xb }, o.alpha);
      if (test.pValue < o.alpha) fixedHit = true;
      if (d === o.days && test.pValue < o.alpha) fixedLast++;
      const pa = xa / n;
      const pb = xb / n;
      const cs = confidenceSequence(pb - pa, (pa * (1 - pa)) / n + (pb * (1 - pb)) / n, o.alpha, mixingVariance(pa * (1 - pa), pb * (1 - pb), o.plannedSample));
      if (cs.pValue <= o.alpha) seqHit = true;
    }
    if (fixedHit) fixedAny++;
    if (seqHit) seqAny++;
  }
  return { fixedAnyLook: fixedAny / o.experiments, fixedLastLook: fixedLast / o.experiments, sequentialAnyLook: seqAny / o.experiments };
}

export interface BanditOptions {
  /** True reward rate per arm. */
  rates: number[];
  /** Reward rate of the holdout (no arm). */
  holdoutRate: number;
  holdoutPercent: number;
  exploration: number;
  decisions: number;
  /** Decisions between one and the reward it may cause (rewards arrive late, as real ones do). */
  delay: number;
  seed: string;
}

export interface BanditRun {
  /** Σ (best rate - rate of the chosen arm) over the treated decisions: expected regret against the best fixed arm. */
  regret: number;
  /** The same for choosing uniformly at random (its expectation). */
  uniformRegret: number;
  treated: number;
  /** Share of treated decisions that went to the best arm. */
  bestShare: number;
  /** Estimated lift of deciding over holding out (treated rate - holdout rate) with its 95% Agresti–Caffo interval. */
  lift: { estimate: number; low: number; high: number };
  /** The lift it estimates: mean true rate of the arms chosen minus the holdout rate. */
  trueLift: number;
}

/**
 * Thompson sampling with the decide node's algorithm (decide.ts) on Bernoulli arms with delayed rewards: each
 * decision only sees rewards that have arrived, as in production. The holdout is drawn per decision.
 */
export function banditSimulation(o: BanditOptions): BanditRun {
  const rng = new Random(o.seed);
  const arms = o.rates.map((_, i) => `arm${i}`);
  const counts = new Map<string, { successes: number; failures: number; pending: number }>([...arms, HOLDOUT_ARM].map((a) => [a, { successes: 0, failures: 0, pending: 0 }]));
  const best = Math.max(...o.rates);
  const meanRate = o.rates.reduce((s, r) => s + r, 0) / o.rates.length;
  const queue: { at: number; arm: string; reward: number }[] = [];
  let regret = 0;
  let treated = 0;
  let bestChosen = 0;
  let trueSum = 0;
  const outcome = { treated: { n: 0, x: 0 }, holdout: { n: 0, x: 0 } };
  for (let t = 0; t < o.decisions; t++) {
    while (queue.length && queue[0].at <= t) {
      const r = queue.shift()!;
      const c = counts.get(r.arm)!;
      c.pending--;
      if (r.reward) c.successes++;
      else c.failures++;
    }
    let arm: string;
    let rate: number;
    if (rng.next() < o.holdoutPercent / 100) {
      arm = HOLDOUT_ARM;
      rate = o.holdoutRate;
    } else {
      arm = thompsonChoice(arms, counts, arms, o.exploration, rng).arm;
      const i = arms.indexOf(arm);
      rate = o.rates[i];
      regret += best - rate;
      treated++;
      trueSum += rate;
      if (rate === best) bestChosen++;
    }
    const reward = rng.bernoulli(rate);
    counts.get(arm)!.pending++;
    queue.push({ at: t + o.delay, arm, reward });
    const side = arm === HOLDOUT_ARM ? outcome.holdout : outcome.treated;
    side.n++;
    side.x += reward;
  }
  const lift = agrestiCaffo({ n: outcome.holdout.n, successes: outcome.holdout.x }, { n: outcome.treated.n, successes: outcome.treated.x });
  return {
    regret, uniformRegret: treated * (best - meanRate), treated, bestShare: bestChosen / Math.max(1, treated),
    lift, trueLift: trueSum / Math.max(1, treated) - o.holdoutRate,
  };
}
