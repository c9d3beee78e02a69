import { inverseSpd, type Matrix } from './linalg.js';

/** Minimises f over R^n by Nelder-Mead (the standard reflection / expansion / contraction / shrink rules). */
export function nelderMead(f: (x: number[]) => number, start: number[], options: { step?: number; tolerance?: number; maxIterations?: number } = {}): { x: number[]; value: number; iterations: number } {
  const n = start.length;
  const step = options.step ?? 0.5;
  const tol = options.tolerance ?? 1e-12;
  const maxIt = options.maxIterations ?? 20_000;
  const safe = (x: number[]) => {
    const v = f(x);
    return Number.isFinite(v) ? v : Infinity;
  };
  let simplex: { x: number[]; v: number }[] = [{ x: start.slice(), v: safe(start) }];
  for (let i = 0; i < n; i++) {
    const x = start.slice();
    x[i] += step;
    simplex.push({ x, v: safe(x) });
  }
  let it = 0;
  for (; it < maxIt; it++) {
    simplex.sort((p, q) => p.v - q.v);
    const best = simplex[0];
    const worst = simplex[n];
    if (Math.abs(worst.v - best.v) <= tol * (Math.abs(best.v) + tol) && spread(simplex) < 1e-10) break;
    const centroid = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) centroid[j] += simplex[i].x[j] / n;
    const along = (t: number) => centroid.map((c, j) => c + t * (worst.x[j] - c));
    const r = along(-1);
    const vr = safe(r);
    if (vr < best.v) {
      const e = along(-2);
      const ve = safe(e);
      simplex[n] = ve < vr ? { x: e, v: ve } : { x: r, v: vr };
    } else if (vr < simplex[n - 1].v) {
      simplex[n] = { x: r, v: vr };
    } else {
      const c = vr < worst.v ? along(-0.5) : along(0.5);
      const vc = safe(c);
      if (vc < Math.min(vr, worst.v)) simplex[n] = { x: c, v: vc };
      else {
        simplex = simplex.map((p, i) => {
          if (i === 0) return p;
          const x = p.x.map((xj, j) => best.x[j] + 0.5 * (xj - best.x[j]));
          return { x, v: safe(x) };
        });
      }
    }
  }
  simplex.sort((p, q) => p.v - q.v);
  return { x: simplex[0].x, value: simplex[0].v, iterations: it };
}

function spread(simplex: { x: number[] }[]): number {
  let d = 0;
  for (const p of simplex) for (let j = 0; j < p.x.length; j++) d = Math.max(d, Math.abs(p.x[j] - simplex[0].x[j]));
  return d;
}

/** Central-difference Hessian of f at x (step relative to each coordinate's size). */
export function numericalHessian(f: (x: number[]) => number, x: number[]): Matrix {
  const n = x.length;
  const h = x.map((v) => 1e-4 * Math.max(Math.abs(v), 1e-2));
  const at = (d: [number, number][]) => {
    const y = x.slice();
    for (const [i, s] of d) y[i] += s * h[i];
    return f(y);
  };
  const f0 = f(x);
  const H: Matrix = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    H[i][i] = (at([[i, 1]]) - 2 * f0 + at([[i, -1]])) / (h[i] * h[i]);
    for (let j = 0; j < i; j++) {
      const v = (at([[i, 1], [j, 1]]) - at([[i, 1], [j, -1]]) - at([[i, -1], [j, 1]]) + at([[i, -1], [j, -1]])) / (4 * h[i] * h[j]);
      H[i][j] = v;
      H[j][i] = v;
    }
  }
  return H;
}

/**
 * Maximum-likelihood fit of positive parameters: Nelder-Mead on their logarithms from `start`, restarted from its
 * own answer until it stops improving (a simplex can stall on a ridge), then standard errors from the inverse of
 * the numerical Hessian of the negative log-likelihood in the original parameters (the observed information).
 */
export function fitPositive(logLikelihood: (params: number[]) => number, start: number[]): { params: number[]; logLikelihood: number; standardErrors: (number | null)[]; iterations: number } {
  const negative = (logs: number[]) => -logLikelihood(logs.map(Math.exp));
  let best = nelderMead(negative, start.map(Math.log));
  let iterations = best.iterations;
  for (let round = 0; round < 10; round++) {
    const again = nelderMead(negative, best.x, { step: 0.1 });
    iterations += again.iterations;
    const improved = best.value - again.value;
    best = again.value <= best.value ? again : best;
    if (improved < 1e-10) break;
  }
  const params = best.x.map(Math.exp);
  const cov = inverseSpd(numericalHessian((p) => (p.every((v) => v > 0) ? -logLikelihood(p) : Infinity), params));
  const standardErrors = params.map((_, i) => (cov && cov[i][i] > 0 ? Math.sqrt(cov[i][i]) : null));
  return { params, logLikelihood: -best.value, standardErrors, iterations };
}
