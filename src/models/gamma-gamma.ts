import { fitPositive } from './optimize.js';
import { lnGamma } from './special.js';

/**
 * Gamma-Gamma model of spend (Fader & Hardie, "The Gamma-Gamma Model of Monetary Value", 2013): each transaction's
 * value is Gamma(p, ν) around a customer's mean, with ν ~ Gamma(q, γ) across customers. Fitted on customers with at
 * least one repeat transaction, from their number of repeat transactions x and the mean value of those, m̄.
 */
export interface GammaGammaParams {
  p: number;
  q: number;
  gamma: number;
}

export interface Spend {
  frequency: number;
  monetary: number;
}

/** ln f(m̄ | x; p, q, γ): the density of a customer's mean transaction value given x transactions. */
export function gammaGammaLogLikelihood(g: GammaGammaParams, s: Spend): number {
  const { p, q, gamma } = g;
  const x = s.frequency;
  const m = s.monetary;
  return lnGamma(p * x + q) - lnGamma(p * x) - lnGamma(q) + q * Math.log(gamma) + (p * x - 1) * Math.log(m) + p * x * Math.log(x) - (p * x + q) * Math.log(gamma + m * x);
}

export interface GammaGammaFit {
  params: GammaGammaParams;
  standardErrors: { p: number | null; q: number | null; gamma: number | null };
  logLikelihood: number;
  customers: number;
}

/** Maximum likelihood over customers with x > 0 and m̄ > 0 (others carry no information about spend). */
export function fitGammaGamma(all: readonly Spend[]): GammaGammaFit {
  const customers = all.filter((s) => s.frequency > 0 && s.monetary > 0);
  if (customers.length < 2) throw new RangeError('Gamma-Gamma: fewer than two customers with a repeat purchase and a positive value');
  const ll = ([p, q, gamma]: number[]) => {
    let sum = 0;
    for (const s of customers) sum += gammaGammaLogLikelihood({ p, q, gamma }, s);
    return sum;
  };
  const mean = customers.reduce((s, c) => s + c.monetary, 0) / customers.length;
  const fit = fitPositive(ll, [1, 1, mean]);
  const [p, q, gamma] = fit.params;
  const [sp, sq, sg] = fit.standardErrors;
  return { params: { p, q, gamma }, standardErrors: { p: sp, q: sq, gamma: sg }, logLikelihood: fit.logLikelihood, customers: customers.length };
}

/**
 * E[M | x, m̄]: the expected mean transaction value of a customer, a weighted average of the population mean
 * p γ / (q - 1) and the customer's observed mean. With no repeat transaction, the population mean.
 */
export function conditionalExpectedValue(g: GammaGammaParams, s: Spend): number {
  const { p, q, gamma } = g;
  const x = s.frequency > 0 && s.monetary > 0 ? s.frequency : 0;
  return (p * (gamma + x * (x > 0 ? s.monetary : 0))) / (p * x + q - 1);
}
