/**
 * The data-driven model: a first-order Markov chain over touchpoint states, with the removal effect
 * (Anderl et al. 2016, "Mapping the customer journey"). Each journey is start -> s1 -> ... -> sn -> conversion (or
 * null, for journeys that did not convert). A state's removal effect is the share of conversion probability lost
 * when every transition into it goes to null instead; credit is split in proportion to removal effects.
 */

export const START = '(start)';
export const CONVERSION = '(conversion)';
export const NULL_STATE = '(null)';

/** Counted transitions between states (START, CONVERSION and NULL_STATE are the special states). */
export interface Transition {
  from: string;
  to: string;
  count: number;
}

export interface MarkovResult {
  /** Probability of reaching conversion from start, with every state. */
  conversionProbability: number;
  /** Per state: 1 - P(conversion without the state) / P(conversion). */
  removalEffects: Map<string, number>;
  /** Per state: its removal effect over the sum of all (0 when the sum is 0). */
  shares: Map<string, number>;
}

/**
 * Solves A x = b in place by Gaussian elimination with partial pivoting (A is n x n, small: one row per state).
 * Returns x; a singular system (a state that cannot reach an absorbing state, which journeys never produce) gives 0s.
 */
export function solveLinear(a: number[][], b: number[]): number[] {
  const n = b.length;
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) pivot = r;
    if (Math.abs(a[pivot][col]) < 1e-15) continue;
    [a[col], a[pivot]] = [a[pivot], a[col]];
    [b[col], b[pivot]] = [b[pivot], b[col]];
    for (let r = col + 1; r < n; r++) {
      const f = a[r][col] / a[col][col];
      if (f === 0) continue;
      for (let c = col; c < n; c++) a[r][c] -= f * a[col][c];
      b[r] -= f * b[col];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    if (Math.abs(a[r][r]) < 1e-15) continue;
    let s = b[r];
    for (let c = r + 1; c < n; c++) s -= a[r][c] * x[c];
    x[r] = s / a[r][r];
  }
  return x;
}

/**
 * P(reach conversion from start) for a chain of transition counts, with `removed` states sending everything to
 * null. Absorption probabilities p satisfy p(s) = sum_t P(s, t) p(t), p(conversion) = 1, p(null) = 0.
 */
export function conversionProbability(transitions: Transition[], removed: ReadonlySet<string> = new Set()): number {
  const states = [...new Set(transitions.flatMap((t) => [t.from, t.to]))].filter((s) => s !== START && s !== CONVERSION && s !== NULL_STATE && !removed.has(s));
  const index = new Map(states.map((s, i) => [s, i]));
  const out = new Map<string, number>();
  for (const t of transitions) out.set(t.from, (out.get(t.from) ?? 0) + t.count);
  const n = states.length;
  // (I - Q) p = r, Q among the transient states kept, r the one-step probability of converting.
  const a = states.map((_, i) => states.map((__, j) => (i === j ? 1 : 0)));
  const b = new Array<number>(n).fill(0);
  for (const t of transitions) {
    const i = index.get(t.from);
    if (i === undefined) continue;
    const p = t.count / out.get(t.from)!;
    if (t.to === CONVERSION) b[i] += p;
    else {
      const j = index.get(t.to);
      if (j !== undefined) a[i][j] -= p; // a removed state or null: absorbed with probability 0 of converting
    }
  }
  const x = solveLinear(a, b);
  let total = 0;
  const fromStart = out.get(START) ?? 0;
  for (const t of transitions) {
    if (t.from !== START || fromStart === 0) continue;
    const p = t.count / fromStart;
    if (t.to === CONVERSION) total += p;
    else {
      const j = index.get(t.to);
      if (j !== undefined) total += p * x[j];
    }
  }
  return total;
}

export function removalEffects(transitions: Transition[]): MarkovResult {
  const total = conversionProbability(transitions);
  const states = [...new Set(transitions.flatMap((t) => [t.from, t.to]))].filter((s) => s !== START && s !== CONVERSION && s !== NULL_STATE).sort();
  const removalEffects = new Map<string, number>();
  for (const s of states) removalEffects.set(s, total === 0 ? 0 : 1 - conversionProbability(transitions, new Set([s])) / total);
  const sum = [...removalEffects.values()].reduce((x, y) => x + y, 0);
  const shares = new Map(states.map((s) => [s, sum === 0 ? 0 : removalEffects.get(s)! / sum]));
  return { conversionProbability: total, removalEffects, shares };
}

/** Transitions of explicit journeys (lists of states, and whether each converted): for tests and small inputs. */
export function transitionsOf(journeys: { path: string[]; converted: boolean }[]): Transition[] {
  const counts = new Map<string, Transition>();
  const add = (from: string, to: string) => {
    const k = `${from}\u0000${to}`;
    const t = counts.get(k) ?? { from, to, count: 0 };
    t.count++;
    counts.set(k, t);
  };
  for (const j of journeys) {
    if (j.path.length === 0) continue;
    add(START, j.path[0]);
    for (let i = 1; i < j.path.length; i++) add(j.path[i - 1], j.path[i]);
    add(j.path[j.path.length - 1], j.converted ? CONVERSION : NULL_STATE);
  }
  return [...counts.values()];
}
