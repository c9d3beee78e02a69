import type { Contribution } from './logistic.js';

/** A regression tree node: a split (x[feature] <= threshold goes left) or a leaf; every node keeps its own value. */
export type TreeNode = { value: number; feature: number; threshold: number; left: TreeNode; right: TreeNode } | { value: number };

export interface BoostedTrees {
  kind: 'boosted_trees';
  features: string[];
  /** Log-odds before any tree (of the training base rate). */
  base: number;
  learningRate: number;
  trees: TreeNode[];
}

export interface BoostingOptions {
  trees?: number;
  depth?: number;
  learningRate?: number;
  /** L2 penalty on leaf values. */
  lambda?: number;
  minLeaf?: number;
  /** Candidate thresholds per feature (quantiles of the training values). */
  bins?: number;
}

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/**
 * Gradient-boosted regression trees for the logistic loss (Newton leaves: -ΣG / (ΣH + λ), as in XGBoost), grown
 * depth-first on histograms of quantile bins of each feature.
 */
export function fitBoostedTrees(rows: readonly ArrayLike<number>[], labels: ArrayLike<number>, features: string[], options: BoostingOptions = {}): BoostedTrees {
  const nTrees = options.trees ?? 100;
  const depth = options.depth ?? 3;
  const lr = options.learningRate ?? 0.1;
  const lambda = options.lambda ?? 1;
  const minLeaf = options.minLeaf ?? 20;
  const maxBins = options.bins ?? 32;
  const n = rows.length;
  const k = features.length;

  // Thresholds per feature and each row's bin (bin b: thresholds[b-1] < x <= thresholds[b]).
  const thresholds: number[][] = [];
  const binOf: Uint8Array[] = [];
  for (let j = 0; j < k; j++) {
    const values = Float64Array.from(rows, (r) => r[j]).sort();
    const cuts = new Set<number>();
    for (let b = 1; b < maxBins; b++) cuts.add(values[Math.min(n - 1, Math.floor((b * n) / maxBins))]);
    const t = [...cuts].sort((x, y) => x - y);
    thresholds.push(t);
    const bins = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const x = rows[i][j];
      let lo = 0;
      let hi = t.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (x <= t[mid]) hi = mid;
        else lo = mid + 1;
      }
      bins[i] = lo;
    }
    binOf.push(bins);
  }

  let pos = 0;
  for (let i = 0; i < n; i++) pos += labels[i];
  const rate = Math.min(Math.max(pos / n, 1e-6), 1 - 1e-6);
  const base = Math.log(rate / (1 - rate));
  const margin = new Float64Array(n).fill(base);
  const g = new Float64Array(n);
  const h = new Float64Array(n);
  const trees: TreeNode[] = [];

  const grow = (index: Uint32Array, level: number): TreeNode => {
    let G = 0;
    let H = 0;
    for (const i of index) {
      G += g[i];
      H += h[i];
    }
    const value = -G / (H + lambda);
    if (level >= depth || index.length < 2 * minLeaf) return { value };
    let best = { gain: 1e-9, feature: -1, bin: -1 };
    const parent = (G * G) / (H + lambda);
    for (let j = 0; j < k; j++) {
      const nb = thresholds[j].length + 1;
      const hg = new Float64Array(nb);
      const hh = new Float64Array(nb);
      const hc = new Uint32Array(nb);
      const bins = binOf[j];
      for (const i of index) {
        const b = bins[i];
        hg[b] += g[i];
        hh[b] += h[i];
        hc[b]++;
      }
      let gl = 0;
      let hl = 0;
      let cl = 0;
      for (let b = 0; b < nb - 1; b++) {
        gl += hg[b];
        hl += hh[b];
        cl += hc[b];
        if (cl < minLeaf || index.length - cl < minLeaf) continue;
        const gr = G - gl;
        const hr = H - hl;
        const gain = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parent;
        if (gain > best.gain) best = { gain, feature: j, bin: b };
      }
    }
    if (best.feature < 0) return { value };
    const bins = binOf[best.feature];
    const left = index.filter((i) => bins[i] <= best.bin);
    const right = index.filter((i) => bins[i] > best.bin);
    return { value, feature: best.feature, threshold: thresholds[best.feature][best.bin], left: grow(left, level + 1), right: grow(right, level + 1) };
  };

  const all = Uint32Array.from({ length: n }, (_, i) => i);
  for (let t = 0; t < nTrees; t++) {
    for (let i = 0; i < n; i++) {
      const p = sigmoid(margin[i]);
      g[i] = p - labels[i];
      h[i] = Math.max(p * (1 - p), 1e-12);
    }
    const tree = grow(all, 0);
    trees.push(tree);
    for (let i = 0; i < n; i++) margin[i] += lr * leafValue(tree, rows[i]);
  }
  return { kind: 'boosted_trees', features, base, learningRate: lr, trees };
}

function leafValue(node: TreeNode, row: ArrayLike<number>): number {
  let cur = node;
  while ('feature' in cur) cur = row[cur.feature] <= cur.threshold ? cur.left : cur.right;
  return cur.value;
}

export function predictBoostedTrees(m: BoostedTrees, row: ArrayLike<number>): number {
  let z = m.base;
  for (const t of m.trees) z += m.learningRate * leafValue(t, row);
  return sigmoid(z);
}

/**
 * Per-feature contributions to the log-odds along each tree's path (each split credits its feature with the change
 * in node value, Saabas' method), summed over the trees; largest push first.
 */
export function explainBoostedTrees(m: BoostedTrees, row: ArrayLike<number>): Contribution[] {
  const c = new Float64Array(m.features.length);
  for (const t of m.trees) {
    let cur = t;
    while ('feature' in cur) {
      const next = row[cur.feature] <= cur.threshold ? cur.left : cur.right;
      c[cur.feature] += m.learningRate * (next.value - cur.value);
      cur = next;
    }
  }
  return m.features.map((feature, j) => ({ feature, value: row[j], contribution: c[j] })).sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution));
}

/** The log-odds the contributions of explainBoostedTrees start from: the base plus every tree's root value. */
export function boostedTreesBaseline(m: BoostedTrees): number {
  return m.base + m.trees.reduce((s, t) => s + m.learningRate * t.value, 0);
}
