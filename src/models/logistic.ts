import { cholesky, choleskySolve, inverseSpd, zeros } from './linalg.js';

/** Per-feature centring and scaling learnt on training rows (a constant feature keeps scale 1). */
export interface Standardiser {
  mean: number[];
  scale: number[];
}

export function standardiser(rows: readonly ArrayLike<number>[], features: number): Standardiser {
  const mean = new Array<number>(features).fill(0);
  const scale = new Array<number>(features).fill(0);
  for (const r of rows) for (let j = 0; j < features; j++) mean[j] += r[j] / rows.length;
  for (const r of rows) for (let j = 0; j < features; j++) scale[j] += (r[j] - mean[j]) ** 2 / Math.max(rows.length - 1, 1);
  return { mean, scale: scale.map((v) => (v > 1e-24 ? Math.sqrt(v) : 1)) };
}

export interface LogisticModel {
  kind: 'logistic';
  features: string[];
  standardiser: Standardiser;
  /** Intercept, then one coefficient per standardised feature. */
  coefficients: number[];
  /** Standard errors of the coefficients (inverse of the penalised Hessian), null if it is singular. */
  standardErrors: (number | null)[];
  /** L2 penalty λ on the standardised coefficients (not on the intercept). */
  l2: number;
  iterations: number;
  logLikelihood: number;
}

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/**
 * L2-regularised logistic regression by Newton's method (IRLS) on standardised features: maximises
 * Σ [y log p + (1-y) log(1-p)] - λ/2 Σ β_j² (intercept unpenalised), stopping when the step is below 1e-8.
 */
export function fitLogistic(rows: readonly ArrayLike<number>[], labels: ArrayLike<number>, features: string[], options: { l2?: number; maxIterations?: number } = {}): LogisticModel {
  const l2 = options.l2 ?? 1;
  const k = features.length;
  const st = standardiser(rows, k);
  const n = rows.length;
  const d = k + 1;
  const X = rows.map((r) => {
    const x = new Float64Array(d);
    x[0] = 1;
    for (let j = 0; j < k; j++) x[j + 1] = (r[j] - st.mean[j]) / st.scale[j];
    return x;
  });
  let beta = new Array<number>(d).fill(0);
  let pos = 0;
  for (let i = 0; i < n; i++) pos += labels[i];
  const rate = Math.min(Math.max(pos / n, 1e-6), 1 - 1e-6);
  beta[0] = Math.log(rate / (1 - rate));
  let iterations = 0;
  let H = zeros(d);
  const penalisedLl = (b: number[]) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      let z = 0;
      for (let j = 0; j < d; j++) z += X[i][j] * b[j];
      // log p = -log(1 + e^-z), log(1-p) = -log(1 + e^z), stably.
      s += labels[i] === 1 ? -softplus(-z) : -softplus(z);
    }
    for (let j = 1; j < d; j++) s -= (l2 / 2) * b[j] * b[j];
    return s;
  };
  let current = penalisedLl(beta);
  for (; iterations < (options.maxIterations ?? 100); iterations++) {
    const g = new Array<number>(d).fill(0);
    H = zeros(d);
    for (let i = 0; i < n; i++) {
      const x = X[i];
      let z = 0;
      for (let j = 0; j < d; j++) z += x[j] * beta[j];
      const p = sigmoid(z);
      const w = Math.max(p * (1 - p), 1e-12);
      const r = labels[i] - p;
      for (let j = 0; j < d; j++) {
        g[j] += x[j] * r;
        const wx = w * x[j];
        for (let m = 0; m <= j; m++) H[j][m] += wx * x[m];
      }
    }
    for (let j = 0; j < d; j++) for (let m = 0; m < j; m++) H[m][j] = H[j][m];
    for (let j = 1; j < d; j++) {
      g[j] -= l2 * beta[j];
      H[j][j] += l2;
    }
    const L = cholesky(H);
    if (!L) throw new RangeError('logistic regression: the Hessian is singular; add regularisation (l2 > 0)');
    const step = choleskySolve(L, g);
    // Step halving keeps every Newton step an ascent step (it always is near the optimum).
    let t = 1;
    let next = beta.map((b, j) => b + step[j]);
    let value = penalisedLl(next);
    while (value < current - 1e-12 && t > 1e-6) {
      t /= 2;
      next = beta.map((b, j) => b + t * step[j]);
      value = penalisedLl(next);
    }
    beta = next;
    const moved = Math.max(...step.map((s) => Math.abs(s * t)));
    current = value;
    if (moved < 1e-8) {
      iterations++;
      break;
    }
  }
  const cov = inverseSpd(H);
  return {
    kind: 'logistic',
    features,
    standardiser: st,
    coefficients: beta,
    standardErrors: beta.map((_, j) => (cov && cov[j][j] > 0 ? Math.sqrt(cov[j][j]) : null)),
    l2,
    iterations,
    logLikelihood: current,
  };
}

function softplus(z: number): number {
  return z > 30 ? z : z < -30 ? Math.exp(z) : Math.log1p(Math.exp(z));
}

export function predictLogistic(m: LogisticModel, row: ArrayLike<number>): number {
  let z = m.coefficients[0];
  for (let j = 0; j < m.features.length; j++) z += m.coefficients[j + 1] * ((row[j] - m.standardiser.mean[j]) / m.standardiser.scale[j]);
  return sigmoid(z);
}

export interface Contribution {
  feature: string;
  value: number;
  /** Coefficient × standardised value: its push on the log-odds against an average profile. */
  contribution: number;
}

/** The features that push this row's score up and down, largest push first. */
export function explainLogistic(m: LogisticModel, row: ArrayLike<number>): Contribution[] {
  return m.features
    .map((feature, j) => ({ feature, value: row[j], contribution: m.coefficients[j + 1] * ((row[j] - m.standardiser.mean[j]) / m.standardiser.scale[j]) }))
    .sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution));
}
