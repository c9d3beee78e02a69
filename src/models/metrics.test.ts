import { describe, expect, it } from 'vitest';
import { auc, calibration, liftByDecile, logLoss } from './metrics.js';

describe('classifier metrics', () => {
  it('AUC equals the share of (positive, negative) pairs ordered correctly, ties half', () => {
    const scores = [0.1, 0.4, 0.35, 0.8, 0.4, 0.2, 0.9, 0.4];
    const labels = [0, 0, 1, 1, 1, 0, 1, 0];
    let pairs = 0;
    let right = 0;
    for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) if (labels[i] === 1 && labels[j] === 0) {
      pairs++;
      right += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
    expect(auc(scores, labels)).toBeCloseTo(right / pairs, 12);
    // The textbook example: 3 positives and 2 negatives, a perfect and a reversed ranking.
    expect(auc([1, 2, 3, 4, 5], [0, 0, 1, 1, 1])).toBe(1);
    expect(auc([5, 4, 3, 2, 1], [0, 0, 1, 1, 1])).toBe(0);
  });

  it('log-loss of a constant 0.5 is ln 2', () => {
    expect(logLoss([0.5, 0.5, 0.5], [1, 0, 1])).toBeCloseTo(Math.LN2, 12);
    expect(logLoss([0.9, 0.2], [1, 0])).toBeCloseTo(-(Math.log(0.9) + Math.log(0.8)) / 2, 12);
  });

  it('lift by decile puts the highest scores first; calibration orders bins by prediction', () => {
    const scores = Array.from({ length: 100 }, (_, i) => i / 100);
    const labels = scores.map((s) => (s >= 0.9 ? 1 : 0));
    const lift = liftByDecile(scores, labels);
    expect(lift).toHaveLength(10);
    expect(lift[0].observedRate).toBe(1);
    expect(lift[0].lift).toBeCloseTo(10, 12);
    expect(lift[9].cumulativeLift).toBeCloseTo(1, 12);
    const cal = calibration(scores, labels);
    expect(cal[0].meanPredicted).toBeCloseTo(0.045, 12);
    expect(cal[9].observedRate).toBe(1);
  });
});
