import { describe, expect, it } from 'vitest';
import { readCdnowSample } from './cdnow.test-support.js';
import { conditionalExpectedValue, fitGammaGamma, gammaGammaLogLikelihood } from './gamma-gamma.js';
import { summarisePurchases } from './purchase-summary.js';

const WEEK = 7 * 86_400_000;
const CALIBRATION_END = Date.UTC(1997, 8, 30);

// Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value", and the lifetimes library's documentation
// (GammaGammaFitter on the CDNOW summary with monetary value): 946 repeat customers, p = 6.25, q = 3.74, γ = 15.44.
const PUBLISHED = { p: 6.25, q: 3.74, gamma: 15.44, customers: 946 };

describe('Gamma-Gamma on CDNOW', () => {
  const summaries = [...readCdnowSample().values()].map((p) => summarisePurchases(p, CALIBRATION_END, WEEK)!);
  const fit = fitGammaGamma(summaries);

  it('is fitted on the 946 repeat customers and lands on the published estimates', () => {
    expect(fit.customers).toBe(PUBLISHED.customers);
    expect(Math.abs(fit.params.p / PUBLISHED.p - 1)).toBeLessThan(0.01);
    expect(Math.abs(fit.params.q / PUBLISHED.q - 1)).toBeLessThan(0.01);
    expect(Math.abs(fit.params.gamma / PUBLISHED.gamma - 1)).toBeLessThan(0.01);
    for (const k of ['p', 'q', 'gamma'] as const) expect(fit.standardErrors[k]).toBeGreaterThan(0);
  });

  it('shrinks a customer\'s mean toward the population mean p γ / (q - 1)', () => {
    const g = fit.params;
    const population = (g.p * g.gamma) / (g.q - 1);
    expect(conditionalExpectedValue(g, { frequency: 0, monetary: 0 })).toBeCloseTo(population, 10);
    const one = conditionalExpectedValue(g, { frequency: 1, monetary: 100 });
    const many = conditionalExpectedValue(g, { frequency: 20, monetary: 100 });
    expect(one).toBeGreaterThan(population);
    expect(one).toBeLessThan(many);
    expect(many).toBeLessThan(100);
  });

  it('has a density that integrates to one', () => {
    // The density of m̄ given x, integrated numerically (trapezoids on a log grid), is a proper density.
    const g = { p: 6.25, q: 3.74, gamma: 15.44 };
    let sum = 0;
    let prev: [number, number] | undefined;
    for (let u = -8; u <= 12; u += 0.001) {
      const m = Math.exp(u);
      const f = Math.exp(gammaGammaLogLikelihood(g, { frequency: 3, monetary: m })) * m;
      if (prev) sum += ((f + prev[1]) / 2) * (u - prev[0]);
      prev = [u, f];
    }
    expect(sum).toBeCloseTo(1, 4);
  });
});
