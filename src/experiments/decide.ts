import { Random } from './stats/random.js';

/** The arm key a decide node's holdout is logged under. */
export const HOLDOUT_ARM = '$holdout';

export interface ArmPosterior {
  arm: string;
  eligible: boolean;
  /** Rewards and closed windows without a reward, and decisions still inside their window (not counted yet). */
  successes: number;
  failures: number;
  pending: number;
  /** Beta(alpha, beta) = Beta(1 + successes, 1 + failures). */
  alpha: number;
  beta: number;
  mean: number;
  /** This decision's draw from the posterior (eligible arms). */
  draw?: number;
}

export interface Choice {
  arm: string;
  /** The exploration floor chose uniformly, not the draws. */
  explored: boolean;
  posteriors: ArmPosterior[];
}

/**
 * Thompson sampling with an exploration floor: with probability `exploration` an eligible arm is drawn uniformly,
 * otherwise one draw per eligible arm from Beta(1 + successes, 1 + failures) and the largest wins. So every eligible
 * arm keeps at least exploration / (eligible arms) probability of being chosen, however bad it looks.
 */
export function thompsonChoice(arms: string[], counts: Map<string, { successes: number; failures: number; pending: number }>, eligible: string[], exploration: number, rng: Random): Choice {
  const can = new Set(eligible);
  const posteriors: ArmPosterior[] = arms.map((arm) => {
    const c = counts.get(arm) ?? { successes: 0, failures: 0, pending: 0 };
    const alpha = 1 + c.successes;
    const beta = 1 + c.failures;
    return { arm, eligible: can.has(arm), successes: c.successes, failures: c.failures, pending: c.pending, alpha, beta, mean: alpha / (alpha + beta) };
  });
  const open = posteriors.filter((p) => p.eligible);
  const explore = rng.next() < exploration;
  let best = open[0];
  for (const p of open) {
    p.draw = rng.beta(p.alpha, p.beta);
    if (p.draw > best.draw!) best = p;
  }
  if (explore) best = open[Math.min(open.length - 1, Math.floor(rng.next() * open.length))];
  return { arm: best.arm, explored: explore, posteriors };
}
