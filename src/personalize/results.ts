import { twoProportionTest } from '../experiments/stats/proportions.js';
import type { Interval } from '../experiments/stats/summary.js';
import type { GroupTotals } from '../storage/sqlite/personalize-store.js';

export interface GroupResult {
  decisions: number;
  rewarded: number;
  /** Share of decisions that were rewarded. */
  rate: number;
  /** Mean reward value per decision. */
  meanReward: number;
  offers: Record<string, { decisions: number; rewarded: number; rate: number }>;
}

export interface DecisionResults {
  policy: GroupResult;
  holdout: GroupResult;
  /**
   * Policy rate minus holdout rate with its 95% interval and the two-sided p-value of equal rates (two-proportion
   * z-test); absent until both groups have decisions.
   */
  lift?: Interval & { pValue: number };
}

function group(rows: GroupTotals[]): GroupResult {
  const out: GroupResult = { decisions: 0, rewarded: 0, rate: 0, meanReward: 0, offers: {} };
  let sum = 0;
  for (const r of rows) {
    out.decisions += r.n;
    out.rewarded += r.rewarded;
    sum += r.rewardSum;
    out.offers[r.offer ?? '(none)'] = { decisions: r.n, rewarded: r.rewarded, rate: r.n ? r.rewarded / r.n : 0 };
  }
  out.rate = out.decisions ? out.rewarded / out.decisions : 0;
  out.meanReward = out.decisions ? sum / out.decisions : 0;
  return out;
}

/** What the holdout measures: every decision counts (also those with no eligible offer), each group by its rewards. */
export function decisionResults(totals: GroupTotals[]): DecisionResults {
  const policy = group(totals.filter((t) => t.group === 'policy'));
  const holdout = group(totals.filter((t) => t.group === 'holdout'));
  if (policy.decisions === 0 || holdout.decisions === 0) return { policy, holdout };
  const test = twoProportionTest({ n: holdout.decisions, successes: holdout.rewarded }, { n: policy.decisions, successes: policy.rewarded });
  return { policy, holdout, lift: { ...test.difference, pValue: test.pValue } };
}
