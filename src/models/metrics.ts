/** Measures of a probabilistic classifier on held-out data. */

/** Area under the ROC curve: the probability that a random positive scores above a random negative (ties count half). */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => scores[i] - scores[j]);
  // Mann-Whitney U from mid-ranks.
  let rankSumPositive = 0;
  let positives = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const midRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (labels[order[k]] === 1) {
      rankSumPositive += midRank;
      positives++;
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return NaN;
  return (rankSumPositive - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Mean negative log-likelihood (natural log), probabilities clipped to [1e-15, 1 - 1e-15]. */
export function logLoss(probabilities: ArrayLike<number>, labels: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < probabilities.length; i++) {
    const p = Math.min(Math.max(probabilities[i], 1e-15), 1 - 1e-15);
    s -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return s / probabilities.length;
}

export interface Bin {
  /** 1-based bin (decile 1 = highest scores for lift, lowest predicted for calibration). */
  bin: number;
  count: number;
  meanPredicted: number;
  observedRate: number;
}

/** Equal-count bins by score, highest first: the rate observed in each and its ratio to the overall rate (lift). */
export function liftByDecile(scores: ArrayLike<number>, labels: ArrayLike<number>, bins = 10): (Bin & { lift: number; cumulativeLift: number })[] {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => scores[j] - scores[i]);
  let total = 0;
  for (let i = 0; i < n; i++) total += labels[i];
  const base = total / n;
  const out: (Bin & { lift: number; cumulativeLift: number })[] = [];
  let cumPos = 0;
  let cumCount = 0;
  for (let b = 0; b < bins; b++) {
    const from = Math.floor((b * n) / bins);
    const to = Math.floor(((b + 1) * n) / bins);
    if (to <= from) continue;
    let pos = 0;
    let pred = 0;
    for (let k = from; k < to; k++) {
      pos += labels[order[k]];
      pred += scores[order[k]];
    }
    cumPos += pos;
    cumCount += to - from;
    const rate = pos / (to - from);
    out.push({ bin: b + 1, count: to - from, meanPredicted: pred / (to - from), observedRate: rate, lift: base > 0 ? rate / base : NaN, cumulativeLift: base > 0 ? cumPos / cumCount / base : NaN });
  }
  return out;
}

/** Calibration: equal-count bins by predicted probability, lowest first, with the mean prediction and observed rate. */
export function calibration(probabilities: ArrayLike<number>, labels: ArrayLike<number>, bins = 10): Bin[] {
  return liftByDecile(probabilities, labels, bins)
    .reverse()
    .map(({ count, meanPredicted, observedRate }, i) => ({ bin: i + 1, count, meanPredicted, observedRate }));
}

export interface ClassifierMetrics {
  auc: number;
  logLoss: number;
  /** Share of positives in the data measured. */
  baseRate: number;
  rows: number;
  calibration: Bin[];
  lift: (Bin & { lift: number; cumulativeLift: number })[];
}

export function classifierMetrics(probabilities: ArrayLike<number>, labels: ArrayLike<number>): ClassifierMetrics {
  let pos = 0;
  for (let i = 0; i < labels.length; i++) pos += labels[i];
  return {
    auc: auc(probabilities, labels),
    logLoss: logLoss(probabilities, labels),
    baseRate: labels.length ? pos / labels.length : NaN,
    rows: labels.length,
    calibration: calibration(probabilities, labels),
    lift: liftByDecile(probabilities, labels),
  };
}
