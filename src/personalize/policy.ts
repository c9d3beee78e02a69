import type { CompiledDecision } from './definition.js';
import { linUcb, thompson, type ArmPosterior } from './linear-bandit.js';

/** The bandit's view of one offer: its posterior (undefined: never served, the prior). */
export type PosteriorOf = (offer: string) => ArmPosterior;

export interface Choice {
  offer: string | undefined;
  /** Per eligible offer: what ranked it. */
  scores: Record<string, Record<string, number>>;
}

/**
 * Ranks the eligible offers (in definition order) by the decision's policy. Ties keep definition order, so a
 * rules decision and an untrained bandit are deterministic up to the bandit's own sampling.
 */
export function choose(decision: CompiledDecision, eligible: string[], input: { computed: Record<string, unknown>; x?: number[]; posterior?: PosteriorOf; random: () => number }): Choice {
  const scores: Choice['scores'] = {};
  if (eligible.length === 0) return { offer: undefined, scores };
  const policy = decision.body.policy;
  let best: string | undefined;
  let bestScore = -Infinity;
  const consider = (offer: string, score: number) => {
    if (best === undefined || score > bestScore) {
      best = offer;
      bestScore = score;
    }
  };
  if (policy.type === 'rules') {
    eligible.forEach((offer, rank) => (scores[offer] = { rank }));
    return { offer: eligible[0], scores };
  }
  if (policy.type === 'propensity') {
    const byKey = new Map(decision.offers.map((o) => [o.key, o]));
    for (const offer of eligible) {
      const v = input.computed[byKey.get(offer)?.score ?? ''];
      // No value (the model has not scored this profile yet) ranks below any score.
      const score = typeof v === 'number' && Number.isFinite(v) ? v : -Infinity;
      scores[offer] = Number.isFinite(score) ? { score } : {};
      consider(offer, score);
    }
    return { offer: best, scores };
  }
  const x = input.x!;
  for (const offer of eligible) {
    const p = input.posterior!(offer);
    if (policy.algorithm === 'linucb') {
      const s = linUcb(p, x, policy.alpha ?? 1);
      scores[offer] = s;
      consider(offer, s.score);
    } else {
      const s = thompson(p, x, policy.v ?? 0.5, input.random);
      scores[offer] = s;
      consider(offer, s.score);
    }
  }
  return { offer: best, scores };
}
