import { describe, expect, it } from 'vitest';
import { boostedTreesBaseline, explainBoostedTrees, fitBoostedTrees, predictBoostedTrees } from './gbt.js';
import { fitLogistic, predictLogistic } from './logistic.js';
import { auc } from './metrics.js';

// A small deterministic generator so that the data are the same on every run.
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('gradient-boosted trees', () => {
  it('learn an interaction (XOR) that a linear model cannot, on held-out rows', () => {
    const r = rng(7);
    const make = (n: number) => {
      const rows = Array.from({ length: n }, () => [r() * 2 - 1, r() * 2 - 1]);
      const y = rows.map(([a, b]) => ((a > 0) !== (b > 0) ? (r() < 0.9 ? 1 : 0) : r() < 0.1 ? 1 : 0));
      return { rows, y };
    };
    const train = make(2000);
    const test = make(1000);
    const trees = fitBoostedTrees(train.rows, train.y, ['a', 'b'], { trees: 50 });
    const linear = fitLogistic(train.rows, train.y, ['a', 'b']);
    const treeAuc = auc(test.rows.map((x) => predictBoostedTrees(trees, x)), test.y);
    const linearAuc = auc(test.rows.map((x) => predictLogistic(linear, x)), test.y);
    // The Bayes-optimal AUC here is 0.9 (labels flip with probability 0.1 inside each quadrant pair).
    expect(treeAuc).toBeGreaterThan(0.85);
    expect(linearAuc).toBeLessThan(0.6);
    // Contributions add up to the margin above the baseline (base log-odds plus the trees' root values).
    const x = test.rows[0];
    const z = boostedTreesBaseline(trees) + explainBoostedTrees(trees, x).reduce((s, c) => s + c.contribution, 0);
    expect(1 / (1 + Math.exp(-z))).toBeCloseTo(predictBoostedTrees(trees, x), 10);
  });
});
