import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bgnbdTotalLogLikelihood, conditionalExpectedPurchases, expectedPurchasesFromStart, fitBgNbd, probabilityAlive, type FrequencyRecency } from './bgnbd.js';
import { DATASETS, readCdnowSample } from './cdnow.test-support.js';
import { summarisePurchases } from './purchase-summary.js';

const WEEK = 7 * 86_400_000;
const CALIBRATION_END = Date.UTC(1997, 8, 30);

function readSummary(): (FrequencyRecency & { id: number })[] {
  const [, ...rows] = readFileSync(`${DATASETS}cdnow_customers_summary.csv`, 'utf8').trim().split('\n');
  return rows.map((r) => {
    const [id, frequency, recency, T] = r.split(',').map(Number);
    return { id, frequency, recency, T };
  });
}

// Fader, Hardie & Lee (2005), Marketing Science 24(2), CDNOW 1/10 sample, 39-week calibration, weeks.
const PUBLISHED = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426, logLikelihood: -9582.4 };

describe('BG/NBD on CDNOW', () => {
  const customers = readSummary();
  const fit = fitBgNbd(customers);

  it('matches the published maximum-likelihood estimates within 1% and the log-likelihood within 0.1', () => {
    expect(customers).toHaveLength(2357);
    for (const k of ['r', 'alpha', 'a', 'b'] as const) expect(Math.abs(fit.params[k] / PUBLISHED[k] - 1)).toBeLessThan(0.01);
    expect(Math.abs(fit.logLikelihood - PUBLISHED.logLikelihood)).toBeLessThan(0.1);
    // The published log-likelihood evaluated at the published (rounded) parameters, independently of the optimiser.
    expect(Math.abs(bgnbdTotalLogLikelihood(PUBLISHED, customers) - PUBLISHED.logLikelihood)).toBeLessThan(0.5);
    // Standard errors as the lifetimes library's documentation (Quickstart, BetaGeoFitter on this file) prints them.
    const se = { r: 0.012557, alpha: 0.378221, a: 0.185719, b: 0.705345 };
    for (const k of ['r', 'alpha', 'a', 'b'] as const) expect(Math.abs(fit.standardErrors[k]! / se[k] - 1)).toBeLessThan(0.01);
  });

  it('gives the paper\'s aggregate forecast and the published per-customer figures', () => {
    // Figure 2 of the paper: over the calibration period the model's cumulative repeat purchases track the observed
    // ones: sum over customers of E[X(T_i)] is close to the observed total of repeat purchases in the data.
    const observed = customers.reduce((s, c) => s + c.frequency, 0);
    const expected = customers.reduce((s, c) => s + expectedPurchasesFromStart(fit.params, c.T), 0);
    expect(Math.abs(expected / observed - 1)).toBeLessThan(0.02);
    // Fader, Hardie & Lee's worked example (also in Hardie's note "Implementing the BG/NBD model in Excel"): a
    // customer with x = 2, t_x = 30.43, T = 38.86 is expected to make 1.226 purchases in the next 39 weeks.
    const c = { frequency: 2, recency: 30.43, T: 38.86 };
    expect(conditionalExpectedPurchases(PUBLISHED, c, 39)).toBeCloseTo(1.226, 3);
    const alive = probabilityAlive(PUBLISHED, c);
    expect(alive).toBeGreaterThan(0);
    expect(alive).toBeLessThan(1);
    expect(probabilityAlive(PUBLISHED, { frequency: 0, recency: 0, T: 38.86 })).toBe(1);
  });

  it('builds the same summary from the raw transactions as the published summary file', () => {
    const sample = readCdnowSample();
    const ids = [...sample.keys()].sort((x, y) => Number(x) - Number(y));
    expect(ids).toHaveLength(2357);
    const built = ids.map((id) => summarisePurchases(sample.get(id)!, CALIBRATION_END, WEEK)!);
    const published = readSummary();
    let mismatches = 0;
    built.forEach((b, i) => {
      const p = published[i];
      if (b.frequency !== p.frequency || Math.abs(b.recency - p.recency) > 0.006 || Math.abs(b.T - p.T) > 0.006) mismatches++;
    });
    expect(mismatches).toBe(0);
  });
});
