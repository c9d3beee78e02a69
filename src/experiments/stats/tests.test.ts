import { describe, expect, it } from 'vitest';
import { betaChanceToBeat, posteriorChances } from './bayes.js';
import { cuped } from './cuped.js';
import { relativeLift } from './lift.js';
import { holmAdjust } from './multiple.js';
import { agrestiCaffo, twoProportionTest } from './proportions.js';
import { Random } from './random.js';
import { sampleRatioCheck } from './srm.js';
import { summarise } from './summary.js';
import { welchTest } from './welch.js';

const summary = (xs: number[]) => summarise({ n: xs.length, sumY: xs.reduce((s, v) => s + v, 0), sumY2: xs.reduce((s, v) => s + v * v, 0) });

describe('Welch t-test', () => {
  it("reproduces R's t.test(extra ~ group, data = sleep)", () => {
    // R: t = -1.8608, df = 17.776, p-value = 0.07939, 95% CI -3.3654832 0.2054832, means 0.75 and 2.33.
    const group1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
    const group2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];
    const r = welchTest(summary(group2), summary(group1));
    expect(r.t).toBeCloseTo(-1.8608, 4);
    expect(r.df).toBeCloseTo(17.776, 3);
    expect(r.pValue).toBeCloseTo(0.07939, 5);
    expect(r.difference.estimate).toBeCloseTo(0.75 - 2.33, 12);
    expect(r.difference.low).toBeCloseTo(-3.3654832, 6);
    expect(r.difference.high).toBeCloseTo(0.2054832, 6);
  });
});

describe('two-proportion z-test', () => {
  it('equals the 2x2 chi-square of prop.test(c(15, 25), c(50, 50), correct = FALSE)', () => {
    // X-squared = 4.1667 (= z²), p-value = 0.04123; Wald interval 0.2 ± 1.959964 · sqrt(0.3·0.7/50 + 0.5·0.5/50).
    const r = twoProportionTest({ n: 50, successes: 15 }, { n: 50, successes: 25 });
    expect(r.z ** 2).toBeCloseTo(4.166667, 5);
    expect(r.pValue).toBeCloseTo(0.04123, 5);
    const half = 1.959964 * Math.sqrt((0.3 * 0.7) / 50 + (0.5 * 0.5) / 50);
    expect(r.difference.low).toBeCloseTo(0.2 - half, 5);
    expect(r.difference.high).toBeCloseTo(0.2 + half, 5);
  });
});

describe('Agresti–Caffo interval', () => {
  it('is the Wald interval after one added success and failure per group (hand computation)', () => {
    // 0/10 against 0/10: both become 1/12; se = sqrt(2 · (1/12)(11/12) / 12) = 0.112834.
    const r = agrestiCaffo({ n: 10, successes: 0 }, { n: 10, successes: 0 });
    expect(r.estimate).toBe(0);
    expect(r.high).toBeCloseTo(1.959964 * 0.1128341, 5);
    expect(r.low).toBeCloseTo(-1.959964 * 0.1128341, 5);
  });
});

describe('relative lift (delta method)', () => {
  it('matches the hand computation', () => {
    // pc = 0.10, pt = 0.12, n = 1000 each: Var = 1.056e-4/0.01 + 0.0144 · 9e-5/1e-4 = 0.02352.
    const l = relativeLift({ mean: 0.1, varianceOfMean: 0.09 / 1000 }, { mean: 0.12, varianceOfMean: 0.1056 / 1000 })!;
    expect(l.estimate).toBeCloseTo(0.2, 12);
    expect(l.high - l.estimate).toBeCloseTo(1.959964 * Math.sqrt(0.02352), 5);
  });

  it('covers the true lift about 95% of the time (seeded simulation)', () => {
    const rng = new Random('lift');
    let covered = 0;
    const runs = 1000;
    for (let r = 0; r < runs; r++) {
      let c = 0;
      let t = 0;
      for (let i = 0; i < 2000; i++) (c += rng.bernoulli(0.1)), (t += rng.bernoulli(0.12));
      const pc = c / 2000;
      const pt = t / 2000;
      const l = relativeLift({ mean: pc, varianceOfMean: (pc * (1 - pc)) / 2000 }, { mean: pt, varianceOfMean: (pt * (1 - pt)) / 2000 })!;
      if (l.low <= 0.2 && 0.2 <= l.high) covered++;
    }
    expect(covered / runs).toBeGreaterThan(0.93);
    expect(covered / runs).toBeLessThan(0.97);
  });
});

describe('Bayesian chance to beat control', () => {
  it('is 2/3 for Beta(2, 1) against Beta(1, 1) (∫ 2x · x dx)', () => {
    expect(betaChanceToBeat(1, 1, 2, 1)).toBeCloseTo(2 / 3, 12);
    expect(betaChanceToBeat(3, 7, 3, 7)).toBeCloseTo(0.5, 12);
  });

  it('Monte Carlo agrees with the closed form, and the expected loss with its definition', () => {
    const post = [{ kind: 'beta' as const, a: 1 + 100, b: 1 + 900 }, { kind: 'beta' as const, a: 1 + 120, b: 1 + 880 }];
    const [c, t] = posteriorChances(post, 0, 40_000, 'check');
    expect(t.chanceToBeatControl).toBeCloseTo(betaChanceToBeat(101, 901, 121, 881), 2);
    expect(c.chanceToBeatControl).toBe(0.5);
    expect(t.chanceToBeBest + c.chanceToBeBest).toBeCloseTo(1, 12);
    // E[max(θc - θt, 0)] for the treatment: positive and far below the difference of means (0.02).
    expect(t.expectedLoss).toBeGreaterThan(0);
    expect(t.expectedLoss).toBeLessThan(c.expectedLoss);
    expect(c.expectedLoss - t.expectedLoss).toBeCloseTo(121 / 1002 - 101 / 1002, 2);
  });
});

describe('sample-ratio mismatch', () => {
  it('chi-square against the weights, warning below p = 0.001', () => {
    expect(sampleRatioCheck([5000, 5000], [1, 1])).toMatchObject({ chiSquare: 0, pValue: 1, status: 'ok' });
    const mild = sampleRatioCheck([5100, 4900], [1, 1]); // chi² = 4, p = 2(1 - Φ(2)) = 0.0455003
    expect(mild.chiSquare).toBeCloseTo(4, 12);
    expect(mild.pValue).toBeCloseTo(0.0455003, 6);
    expect(mild.status).toBe('ok');
    const bad = sampleRatioCheck([5300, 4700], [1, 1]); // chi² = 36
    expect(bad.status).toBe('mismatch');
    expect(sampleRatioCheck([900, 2100], [30, 70]).status).toBe('ok');
  });
});

describe('Holm adjustment', () => {
  it('matches p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm")', () => {
    // Sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, max(0.04·1, 0.06) = 0.06.
    const adj = holmAdjust([0.01, 0.04, 0.03, 0.005]);
    [0.03, 0.06, 0.06, 0.02].forEach((v, i) => expect(adj[i]).toBeCloseTo(v, 12));
  });
});

describe('CUPED', () => {
  it('removes the share ρ² of the variance explained by the covariate and keeps the difference unbiased', () => {
    // Y = X + ε, X ~ N(0, 1), ε ~ N(0, 1): ρ² = 1/2, θ = 1; treatment adds 0.1.
    const rng = new Random('cuped');
    const arms = [0, 0.1].map((effect) => {
      const s = { n: 0, sumY: 0, sumY2: 0, sumX: 0, sumX2: 0, sumXY: 0 };
      for (let i = 0; i < 20_000; i++) {
        const x = rng.normal();
        const y = x + rng.normal() + effect;
        s.n++, (s.sumY += y), (s.sumY2 += y * y), (s.sumX += x), (s.sumX2 += x * x), (s.sumXY += x * y);
      }
      return s;
    });
    const r = cuped(arms)!;
    expect(r.theta).toBeCloseTo(1, 1);
    expect(r.varianceReduction).toBeGreaterThan(0.47);
    expect(r.varianceReduction).toBeLessThan(0.53);
    const raw = arms.map(summarise);
    // The adjusted difference is closer to the truth on average; here: within 3 adjusted standard errors.
    const se = Math.sqrt(r.arms[0].variance / r.arms[0].n + r.arms[1].variance / r.arms[1].n);
    expect(Math.abs(r.arms[1].mean - r.arms[0].mean - 0.1)).toBeLessThan(3 * se);
    expect(r.arms[0].variance).toBeLessThan(raw[0].variance * 0.6);
  });
});
