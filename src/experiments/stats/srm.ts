import { chiSquareSurvival } from './distributions.js';

export interface SrmCheck {
  observed: number[];
  expected: number[];
  chiSquare: number;
  df: number;
  pValue: number;
  /** `mismatch` when p < threshold (default 0.001): the assignment or the logging is broken, results cannot be trusted. */
  status: 'ok' | 'mismatch' | 'no_data';
}

export const SRM_THRESHOLD = 0.001;

/** Sample-ratio mismatch: Pearson's chi-square goodness of fit of the arm counts to the configured weights. */
export function sampleRatioCheck(observed: number[], weights: number[], threshold = SRM_THRESHOLD): SrmCheck {
  const total = observed.reduce((s, v) => s + v, 0);
  const weightSum = weights.reduce((s, v) => s + v, 0);
  const expected = weights.map((w) => (total * w) / weightSum);
  const df = observed.length - 1;
  if (total === 0 || df < 1) return { observed, expected, chiSquare: 0, df: Math.max(df, 0), pValue: 1, status: 'no_data' };
  const chiSquare = observed.reduce((s, o, i) => s + (expected[i] > 0 ? (o - expected[i]) ** 2 / expected[i] : 0), 0);
  const pValue = chiSquareSurvival(chiSquare, df);
  return { observed, expected, chiSquare, df, pValue, status: pValue < threshold ? 'mismatch' : 'ok' };
}
