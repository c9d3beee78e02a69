import { describe, expect, it } from 'vitest';
import { inverseSpd } from './linalg.js';
import { fitPositive, nelderMead, numericalHessian } from './optimize.js';

describe('optimiser', () => {
  it('Nelder-Mead finds the minimum of the Rosenbrock function at (1, 1)', () => {
    const rosenbrock = ([x, y]: number[]) => (1 - x) ** 2 + 100 * (y - x * x) ** 2;
    const { x } = nelderMead(rosenbrock, [-1.2, 1]);
    expect(x[0]).toBeCloseTo(1, 5);
    expect(x[1]).toBeCloseTo(1, 5);
  });

  it('the numerical Hessian of a quadratic is its matrix, and the inverse inverts it', () => {
    const A = [[4, 1], [1, 3]];
    const f = ([x, y]: number[]) => 0.5 * (A[0][0] * x * x + 2 * A[0][1] * x * y + A[1][1] * y * y);
    const H = numericalHessian(f, [0.3, -0.7]);
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) expect(H[i][j]).toBeCloseTo(A[i][j], 5);
    const inv = inverseSpd(A)!;
    // 1 / det * [[3, -1], [-1, 4]], det = 11.
    expect(inv[0][0]).toBeCloseTo(3 / 11, 12);
    expect(inv[0][1]).toBeCloseTo(-1 / 11, 12);
    expect(inverseSpd([[1, 2], [2, 1]])).toBeUndefined();
  });

  it('fits a Poisson rate with the textbook standard error sqrt(lambda / n)', () => {
    const counts = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3];
    const n = counts.length;
    const sum = counts.reduce((s, c) => s + c, 0);
    const fit = fitPositive(([l]) => sum * Math.log(l) - n * l, [1]);
    expect(fit.params[0]).toBeCloseTo(sum / n, 6);
    expect(fit.standardErrors[0]!).toBeCloseTo(Math.sqrt(sum / n / n), 4);
  });
});
