import { cholesky, choleskySolve, type Matrix } from '../models/linalg.js';

/**
 * One offer's ridge regression of reward on features: A = λI + Σ x xᵀ over its impressions, b = Σ r x over its
 * rewards. Every impression adds to A when it is served and its reward (if any) to b when it arrives, which is the
 * same estimate as fitting once on (x, r) pairs with r = 0 for impressions that were never rewarded.
 */
export interface ArmModel {
  a: Matrix;
  b: number[];
  /** Impressions and reward total so far. */
  n: number;
  rewards: number;
}

export const newArm = (d: number, lambda = 1): ArmModel => ({
  a: Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? lambda : 0))),
  b: new Array<number>(d).fill(0),
  n: 0,
  rewards: 0,
});

export function observe(arm: ArmModel, x: number[]): void {
  for (let i = 0; i < x.length; i++) {
    if (x[i] === 0) continue;
    for (let j = 0; j < x.length; j++) arm.a[i][j] += x[i] * x[j];
  }
  arm.n++;
}

export function reward(arm: ArmModel, x: number[], r: number): void {
  for (let i = 0; i < x.length; i++) arm.b[i] += r * x[i];
  arm.rewards += r;
}

/** θ̂ = A⁻¹b, the factor L of A (A = L Lᵀ), computed once per change of the arm (the caller caches). */
export interface ArmPosterior {
  theta: number[];
  l: Matrix;
}

export function posterior(arm: ArmModel): ArmPosterior {
  const l = cholesky(arm.a);
  // A is λI plus a sum of outer products, so positive definite; a failure would be a bug.
  if (!l) throw new Error('bandit model matrix is not positive definite');
  return { theta: choleskySolve(l, arm.b), l };
}

const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);

/** Solves L y = x (forward substitution); ‖y‖² = xᵀA⁻¹x. */
function forward(l: Matrix, x: number[]): number[] {
  const y = new Array<number>(x.length);
  for (let i = 0; i < x.length; i++) {
    let s = x[i];
    for (let k = 0; k < i; k++) s -= l[i][k] * y[k];
    y[i] = s / l[i][i];
  }
  return y;
}

/** Solves Lᵀ y = z (back substitution): y ~ N(0, A⁻¹) when z ~ N(0, I). */
function backward(l: Matrix, z: number[]): number[] {
  const n = z.length;
  const y = new Array<number>(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = z[i];
    for (let k = i + 1; k < n; k++) s -= l[k][i] * y[k];
    y[i] = s / l[i][i];
  }
  return y;
}

/** LinUCB (Li, Chu, Langford, Schapire 2010, algorithm 1): θ̂·x + α √(xᵀA⁻¹x). */
export function linUcb(p: ArmPosterior, x: number[], alpha: number): { score: number; mean: number; width: number } {
  const mean = dot(p.theta, x);
  const y = forward(p.l, x);
  const width = alpha * Math.sqrt(dot(y, y));
  return { score: mean + width, mean, width };
}

/** Linear Thompson sampling (Agrawal & Goyal 2013): θ̃ ~ N(θ̂, v² A⁻¹), score θ̃·x. */
export function thompson(p: ArmPosterior, x: number[], v: number, random: () => number): { score: number; mean: number } {
  const z = p.theta.map(() => gaussian(random));
  const noise = backward(p.l, z);
  const sample = p.theta.map((t, i) => t + v * noise[i]);
  return { score: dot(sample, x), mean: dot(p.theta, x) };
}

/** A standard normal draw (Box–Muller). */
export function gaussian(random: () => number): number {
  let u = random();
  while (u <= 0) u = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}
