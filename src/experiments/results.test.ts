import { describe, expect, it } from 'vitest';
import { checkExperiment, resolveExperiment, type Metric } from './definition.js';
import type { MetricSums } from './metrics.js';
import { computeResults } from './results.js';
import type { ArmSums } from './stats/summary.js';

const experiment = (over: Record<string, unknown> = {}) =>
  resolveExperiment(checkExperiment({
    key: 'e', arms: [{ key: 'control', weight: 1 }, { key: 'b', weight: 1 }],
    metrics: [{ key: 'buy', type: 'conversion', event: 'Order Completed' }, { key: 'unsub', type: 'conversion', event: 'Unsubscribed', guardrail: true }],
    ...over,
  } as never));
const rate = (n: number, x: number): ArmSums => ({ n, sumY: x, sumY2: x });
const sums = (metric: Metric, arms: Record<string, ArmSums>, crossovers = 0): MetricSums => ({ metric, arms: new Map(Object.entries(arms)), crossovers });

describe('results and the recommendation', () => {
  it('computes the difference, lift and p-value as the textbook formulas do', () => {
    const e = experiment();
    const r = computeResults(e, [sums(e.metrics[0], { control: rate(10_000, 1000), b: rate(10_000, 1150) }), sums(e.metrics[1], { control: rate(10_000, 50), b: rate(10_000, 52) })]);
    const b = r.metrics[0].arms[1];
    // pc = 0.10, pt = 0.115: Wald half-width 1.959964 · sqrt(0.09/1e4 + 0.101775/1e4); pooled z = 0.015 / sqrt(0.1075 · 0.8925 · 2e-4).
    const half = 1.959964 * Math.sqrt(0.09 / 1e4 + 0.101775 / 1e4);
    expect(b.difference!.low).toBeCloseTo(0.015 - half, 6);
    expect(b.difference!.high).toBeCloseTo(0.015 + half, 6);
    expect(b.lift!.estimate).toBeCloseTo(0.15, 12);
    const z = 0.015 / Math.sqrt(0.1075 * 0.8925 * 2e-4);
    expect(b.pValue).toBeLessThan(0.001);
    expect(Math.abs(z)).toBeGreaterThan(3.4);
    // The always-valid interval is wider than the fixed one and contains it.
    expect(b.sequential!.low).toBeLessThan(b.difference!.low);
    expect(b.sequential!.high).toBeGreaterThan(b.difference!.high);
    expect(r.srm.status).toBe('ok');
    expect(r.recommendation).toMatchObject({ decision: 'ship', arm: 'b' });
    expect(b.chanceToBeatControl).toBeGreaterThan(0.99);
  });

  it('refuses a winner when the sample ratio is off, the sample is small, or a guardrail is harmed', () => {
    const e = experiment();
    const srm = computeResults(e, [sums(e.metrics[0], { control: rate(10_000, 1000), b: rate(10_600, 1300) }), sums(e.metrics[1], { control: rate(10_000, 50), b: rate(10_600, 52) })]);
    expect(srm.srm.status).toBe('mismatch');
    expect(srm.recommendation.decision).toBe('invalid');
    expect(srm.recommendation.reasons[0]).toMatch(/sample ratio mismatch/);

    const small = computeResults(experiment({ minimum_sample: 500 }), [sums(e.metrics[0], { control: rate(400, 20), b: rate(400, 80) }), sums(e.metrics[1], { control: rate(400, 1), b: rate(400, 1) })]);
    expect(small.recommendation.decision).toBe('keep_running');
    expect(small.recommendation.reasons[0]).toMatch(/too few exposed profiles: control has 400, b has 400/);

    const harmed = computeResults(e, [sums(e.metrics[0], { control: rate(10_000, 1000), b: rate(10_000, 1150) }), sums(e.metrics[1], { control: rate(10_000, 50), b: rate(10_000, 200) })]);
    expect(harmed.recommendation.decision).toBe('keep_running');
    expect(harmed.recommendation.reasons.join(' ')).toMatch(/b moved guardrail unsub the wrong way/);
  });

  it('adjusts several arms with Holm and widens their intervals to Bonferroni', () => {
    const e = experiment({ arms: [{ key: 'control', weight: 1 }, { key: 'b', weight: 1 }, { key: 'c', weight: 1 }], metrics: [{ key: 'buy', type: 'conversion', event: 'O' }] });
    const r = computeResults(e, [sums(e.metrics[0], { control: rate(5000, 500), b: rate(5000, 560), c: rate(5000, 530) })]);
    const [, b, c] = r.metrics[0].arms;
    const ps = [b.pValue!, c.pValue!].sort((x, y) => x - y);
    const adjusted = [Math.min(1, 2 * ps[0]), Math.max(Math.min(1, 2 * ps[0]), ps[1])];
    expect([b.pValueAdjusted, c.pValueAdjusted].sort((x, y) => x! - y!)).toEqual(adjusted);
    // Bonferroni: z at 1 - 0.05 / 4 = 2.241403 instead of 1.959964.
    const ratio = (b.differenceAdjusted!.high - b.difference!.estimate) / (b.difference!.high - b.difference!.estimate);
    expect(ratio).toBeCloseTo(2.241403 / 1.959964, 5);
  });

  it('reports CUPED for a metric with a pre-exposure covariate', () => {
    const e = experiment({ metrics: [{ key: 'spend', type: 'revenue', event: 'O', cuped: { before: '30d' } }] });
    // Built so that y = x + noise: the pooled θ is near 1 and the adjusted difference has a smaller interval.
    const arm = (n: number, shift: number): ArmSums => {
      let s = { n, sumY: 0, sumY2: 0, sumX: 0, sumX2: 0, sumXY: 0 };
      for (let i = 0; i < n; i++) {
        const x = (i % 10) * 10;
        const y = x + ((i * 7) % 5) + shift;
        s = { n, sumY: s.sumY + y, sumY2: s.sumY2 + y * y, sumX: s.sumX + x, sumX2: s.sumX2 + x * x, sumXY: s.sumXY + x * y };
      }
      return s;
    };
    const r = computeResults(e, [sums(e.metrics[0], { control: arm(1000, 0), b: arm(1000, 1) })]);
    const b = r.metrics[0].arms[1];
    expect(b.cuped!.theta).toBeCloseTo(1, 1);
    expect(b.cuped!.varianceReduction).toBeGreaterThan(0.9);
    expect(b.cuped!.difference.high - b.cuped!.difference.low).toBeLessThan((b.difference!.high - b.difference!.low) / 3);
    expect(b.cuped!.difference.estimate).toBeCloseTo(1, 6);
  });
});
