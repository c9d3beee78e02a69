import { describe, expect, it } from 'vitest';
import { Rng } from '../demo/rng.js';
import { gaussian, linUcb, newArm, observe, posterior, reward, thompson } from './linear-bandit.js';

// Worked by hand: λ = 1, impressions x1 = [1, 0] (clicked), x2 = x3 = [1, 1] (one clicked).
// A = I + x1x1ᵀ + 2 x2x2ᵀ = [[4, 2], [2, 3]], b = [2, 1], A⁻¹ = [[3, -2], [-2, 4]] / 8, θ̂ = A⁻¹b = [0.5, 0].
function worked() {
  const arm = newArm(2, 1);
  for (const [x, r] of [[[1, 0], 1], [[1, 1], 0], [[1, 1], 1]] as const) {
    observe(arm, [...x]);
    if (r) reward(arm, [...x], r);
  }
  return arm;
}

describe('linear bandit arms', () => {
  it('accumulate the ridge regression A and b', () => {
    const arm = worked();
    expect(arm.a).toEqual([[4, 2], [2, 3]]);
    expect(arm.b).toEqual([2, 1]);
    expect(arm.n).toBe(3);
    expect(arm.rewards).toBe(2);
    const p = posterior(arm);
    expect(p.theta[0]).toBeCloseTo(0.5, 12);
    expect(p.theta[1]).toBeCloseTo(0, 12);
  });

  it('LinUCB scores θ̂·x + α √(xᵀA⁻¹x)', () => {
    // xᵀA⁻¹x at [1, 1] = (3 - 2 - 2 + 4) / 8 = 0.375.
    const s = linUcb(posterior(worked()), [1, 1], 2);
    expect(s.mean).toBeCloseTo(0.5, 12);
    expect(s.width).toBeCloseTo(2 * Math.sqrt(0.375), 12);
    expect(s.score).toBeCloseTo(0.5 + 2 * Math.sqrt(0.375), 12);
    // An untrained arm: mean 0, width α‖x‖ (A = I).
    expect(linUcb(posterior(newArm(3)), [1, 2, 2], 1)).toEqual({ score: 3, mean: 0, width: 3 });
  });

  it('Thompson draws θ̃·x from N(θ̂·x, v² xᵀA⁻¹x)', () => {
    const rng = new Rng(11, 0, 0);
    const p = posterior(worked());
    const n = 20000;
    const draws = Array.from({ length: n }, () => thompson(p, [1, 1], 1, () => rng.next()).score);
    const mean = draws.reduce((s, d) => s + d, 0) / n;
    const variance = draws.reduce((s, d) => s + (d - mean) ** 2, 0) / (n - 1);
    expect(mean).toBeCloseTo(0.5, 1);
    expect(Math.abs(variance - 0.375)).toBeLessThan(0.02);
    // v scales the spread: v = 0.5 gives a quarter of the variance.
    const half = Array.from({ length: n }, () => thompson(p, [1, 1], 0.5, () => rng.next()).score);
    const hm = half.reduce((s, d) => s + d, 0) / n;
    expect(Math.abs(half.reduce((s, d) => s + (d - hm) ** 2, 0) / (n - 1) - 0.375 / 4)).toBeLessThan(0.006);
  });

  it('draws standard normals', () => {
    const rng = new Rng(3, 0, 0);
    const z = Array.from({ length: 20000 }, () => gaussian(() => rng.next()));
    const m = z.reduce((s, v) => s + v, 0) / z.length;
    expect(Math.abs(m)).toBeLessThan(0.03);
    // P(|Z| < 1.96) = 0.95.
    expect(Math.abs(z.filter((v) => Math.abs(v) < 1.959964).length / z.length - 0.95)).toBeLessThan(0.006);
  });
});
