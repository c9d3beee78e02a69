import { describe, expect, it } from 'vitest';
import { explainLogistic, fitLogistic, predictLogistic } from './logistic.js';

describe('logistic regression (IRLS)', () => {
  // A 2x2 table: x = 0: 30 of 100 positive; x = 1: 60 of 80 positive.
  const rows: number[][] = [];
  const labels: number[] = [];
  const add = (x: number, y: number, n: number) => {
    for (let i = 0; i < n; i++) {
      rows.push([x]);
      labels.push(y);
    }
  };
  add(0, 1, 30);
  add(0, 0, 70);
  add(1, 1, 60);
  add(1, 0, 20);

  it('without a penalty, reproduces the closed-form maximum likelihood of a 2x2 table', () => {
    const m = fitLogistic(rows, labels, ['x'], { l2: 0 });
    expect(predictLogistic(m, [0])).toBeCloseTo(0.3, 8);
    expect(predictLogistic(m, [1])).toBeCloseTo(0.75, 8);
    // The slope on the raw scale is the log odds ratio; its standard error is Woolf's sqrt(1/a + 1/b + 1/c + 1/d).
    const scale = m.standardiser.scale[0];
    expect(m.coefficients[1] / scale).toBeCloseTo(Math.log((60 / 20) / (30 / 70)), 8);
    expect(m.standardErrors[1]! / scale).toBeCloseTo(Math.sqrt(1 / 30 + 1 / 70 + 1 / 60 + 1 / 20), 6);
  });

  it('a penalty shrinks the coefficient toward zero', () => {
    const free = fitLogistic(rows, labels, ['x'], { l2: 0 });
    const shrunk = fitLogistic(rows, labels, ['x'], { l2: 50 });
    expect(Math.abs(shrunk.coefficients[1])).toBeLessThan(Math.abs(free.coefficients[1]));
    expect(shrunk.coefficients[1]).toBeGreaterThan(0);
  });

  it('explains a score by coefficient x standardised value, summing to the log-odds against the intercept', () => {
    const data = Array.from({ length: 400 }, (_, i) => [Math.sin(i) * 3, Math.cos(i * 0.7) * 2, (i % 7) - 3]);
    const y = data.map(([a, b]) => (a - 0.5 * b + 0.3 > 0 ? 1 : 0)).map((v, i) => (i % 13 === 0 ? 1 - v : v));
    const m = fitLogistic(data, y, ['a', 'b', 'noise'], { l2: 1 });
    const row = data[5];
    const parts = explainLogistic(m, row);
    const z = m.coefficients[0] + parts.reduce((s, p) => s + p.contribution, 0);
    expect(1 / (1 + Math.exp(-z))).toBeCloseTo(predictLogistic(m, row), 12);
    expect(m.coefficients[1]).toBeGreaterThan(0);
    expect(m.coefficients[2]).toBeLessThan(0);
  });
});
