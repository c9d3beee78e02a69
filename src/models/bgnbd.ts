import { fitPositive } from './optimize.js';
import { hyp2f1, lnGamma, logAddExp } from './special.js';

/**
 * BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): purchases follow a Poisson process
 * with rate λ ~ Gamma(r, α) while alive; after each purchase the customer drops out with probability p ~ Beta(a, b).
 */
export interface BgNbdParams {
  r: number;
  alpha: number;
  a: number;
  b: number;
}

/** One customer's calibration summary: repeat purchases x, time of the last one t_x and age T, in the time unit. */
export interface FrequencyRecency {
  frequency: number;
  recency: number;
  T: number;
}

/** Equation (6) of the paper: one customer's log-likelihood. */
export function bgnbdLogLikelihood(p: BgNbdParams, c: FrequencyRecency): number {
  const { r, alpha, a, b } = p;
  const x = c.frequency;
  const a1 = lnGamma(r + x) - lnGamma(r) + r * Math.log(alpha);
  const a2 = lnGamma(a + b) + lnGamma(b + x) - lnGamma(b) - lnGamma(a + b + x);
  const a3 = -(r + x) * Math.log(alpha + c.T);
  const a4 = x > 0 ? Math.log(a) - Math.log(b + x - 1) - (r + x) * Math.log(alpha + c.recency) : -Infinity;
  return a1 + a2 + logAddExp(a3, a4);
}

/** The sum over customers; `counts` weighs identical summaries (optional). */
export function bgnbdTotalLogLikelihood(p: BgNbdParams, customers: readonly FrequencyRecency[]): number {
  let sum = 0;
  for (const c of customers) sum += bgnbdLogLikelihood(p, c);
  return sum;
}

export interface BgNbdFit {
  params: BgNbdParams;
  standardErrors: { r: number | null; alpha: number | null; a: number | null; b: number | null };
  logLikelihood: number;
  customers: number;
  iterations: number;
}

/** Maximum likelihood over the customers' summaries (identical summaries are grouped so each is evaluated once). */
export function fitBgNbd(customers: readonly FrequencyRecency[]): BgNbdFit {
  if (customers.length === 0) throw new RangeError('BG/NBD: no customers to fit');
  const grouped = new Map<string, { c: FrequencyRecency; n: number }>();
  for (const c of customers) {
    const k = `${c.frequency}|${c.recency}|${c.T}`;
    const g = grouped.get(k);
    if (g) g.n++;
    else grouped.set(k, { c, n: 1 });
  }
  const groups = [...grouped.values()];
  const ll = ([r, alpha, a, b]: number[]) => {
    let s = 0;
    for (const g of groups) s += g.n * bgnbdLogLikelihood({ r, alpha, a, b }, g.c);
    return s;
  };
  const meanT = customers.reduce((s, c) => s + c.T, 0) / customers.length;
  const fit = fitPositive(ll, [1, Math.max(meanT, 1), 1, 1]);
  const [r, alpha, a, b] = fit.params;
  const [se0, se1, se2, se3] = fit.standardErrors;
  return { params: { r, alpha, a, b }, standardErrors: { r: se0, alpha: se1, a: se2, b: se3 }, logLikelihood: fit.logLikelihood, customers: customers.length, iterations: fit.iterations };
}

/** P(alive at T | x, t_x, T): equation (A.3)'s companion in the paper's appendix. */
export function probabilityAlive(p: BgNbdParams, c: FrequencyRecency): number {
  if (c.frequency === 0) return 1;
  const { r, alpha, a, b } = p;
  const x = c.frequency;
  return 1 / (1 + (a / (b + x - 1)) * Math.exp((r + x) * (Math.log(alpha + c.T) - Math.log(alpha + c.recency))));
}

/** E[X(t)] for a customer chosen at random: expected purchases in (0, t] (equation 7). */
export function expectedPurchasesFromStart(p: BgNbdParams, t: number): number {
  const { r, alpha, a, b } = p;
  if (t <= 0) return 0;
  const z = t / (alpha + t);
  return ((a + b - 1) / (a - 1)) * (1 - Math.exp(r * Math.log(alpha / (alpha + t))) * hyp2f1(r, b, a + b - 1, z));
}

/** E[Y(t) | x, t_x, T]: expected purchases in the next t time units for a customer with this history (equation 10). */
export function conditionalExpectedPurchases(p: BgNbdParams, c: FrequencyRecency, t: number): number {
  const { r, alpha, a, b } = p;
  const x = c.frequency;
  if (t <= 0) return 0;
  const z = t / (alpha + c.T + t);
  const head = (a + b + x - 1) / (a - 1);
  const body = 1 - Math.exp((r + x) * Math.log((alpha + c.T) / (alpha + c.T + t))) * hyp2f1(r + x, b + x, a + b + x - 1, z);
  const tail = x > 0 ? 1 + (a / (b + x - 1)) * Math.exp((r + x) * (Math.log(alpha + c.T) - Math.log(alpha + c.recency))) : 1;
  return (head * body) / tail;
}
