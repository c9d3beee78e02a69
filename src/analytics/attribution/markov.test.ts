import { describe, expect, it } from 'vitest';
import { conversionProbability, removalEffects, solveLinear, transitionsOf } from './markov.js';

describe('Markov removal effect', () => {
  it('matches the removal effects computed by hand on three journeys', () => {
    // Journeys: A > B > conversion, A > conversion, B > null.
    // Transitions: start->A 2, start->B 1; A->B 1, A->conv 1; B->conv 1, B->null 1.
    // P(start->A) = 2/3, P(start->B) = 1/3, P(A->B) = P(A->conv) = 1/2, P(B->conv) = P(B->null) = 1/2.
    // p(B) = 1/2; p(A) = 1/2 + 1/2 * p(B) = 3/4; P = 2/3 * 3/4 + 1/3 * 1/2 = 1/2 + 1/6 = 2/3 (2 of 3 converted).
    // Without A: P = 1/3 * 1/2 = 1/6, removal effect 1 - (1/6)/(2/3) = 3/4.
    // Without B: p(A) = 1/2, P = 2/3 * 1/2 = 1/3, removal effect 1 - (1/3)/(2/3) = 1/2.
    // Shares: A = (3/4)/(5/4) = 3/5, B = 2/5.
    const t = transitionsOf([
      { path: ['A', 'B'], converted: true },
      { path: ['A'], converted: true },
      { path: ['B'], converted: false },
    ]);
    const r = removalEffects(t);
    expect(r.conversionProbability).toBeCloseTo(2 / 3, 12);
    expect(r.removalEffects.get('A')).toBeCloseTo(3 / 4, 12);
    expect(r.removalEffects.get('B')).toBeCloseTo(1 / 2, 12);
    expect(r.shares.get('A')).toBeCloseTo(3 / 5, 12);
    expect(r.shares.get('B')).toBeCloseTo(2 / 5, 12);
  });

  it('handles a loop between states (a linear system, not a path enumeration)', () => {
    // Journeys: A > B > A > conversion, B > null.
    // Counts: start->A 1, start->B 1; A->B 1, A->conv 1; B->A 1, B->null 1.
    // p(A) = 1/2 + 1/2 p(B), p(B) = 1/2 p(A)  =>  p(A) = 1/2 + 1/4 p(A)  =>  p(A) = 2/3, p(B) = 1/3.
    // P = 1/2 * 2/3 + 1/2 * 1/3 = 1/2.
    const t = transitionsOf([
      { path: ['A', 'B', 'A'], converted: true },
      { path: ['B'], converted: false },
    ]);
    expect(conversionProbability(t)).toBeCloseTo(1 / 2, 12);
    // Without B: p(A) = 1/2, P = 1/2 * 1/2 = 1/4; without A: P = 0.
    expect(conversionProbability(t, new Set(['B']))).toBeCloseTo(1 / 4, 12);
    expect(conversionProbability(t, new Set(['A']))).toBe(0);
  });

  it('solves a small linear system', () => {
    // 2x + y = 5, x - y = 1  =>  x = 2, y = 1
    expect(solveLinear([[2, 1], [1, -1]], [5, 1]).map((v) => Math.round(v * 1e9) / 1e9)).toEqual([2, 1]);
  });

  it('gives no credit when nothing converted', () => {
    const r = removalEffects(transitionsOf([{ path: ['A'], converted: false }]));
    expect(r.conversionProbability).toBe(0);
    expect(r.shares.get('A')).toBe(0);
  });
});
