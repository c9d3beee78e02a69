/** One purchase: when (ms since the epoch) and its value. */
export interface Purchase {
  at: number;
  value: number;
}

/** A customer's summary for BG/NBD and Gamma-Gamma, in a time unit, as of the end of a calibration period. */
export interface PurchaseSummary {
  /** Repeat purchases in the calibration period (purchase days after the first). */
  frequency: number;
  /** Time from the first purchase to the last one. */
  recency: number;
  /** Time from the first purchase to the end of the calibration period. */
  T: number;
  /** Mean value of the repeat purchases (0 when there is none). */
  monetary: number;
  /** Purchase days after the end of the calibration period, up to the holdout end (for calibration-versus-holdout checks). */
  holdout: number;
}

const DAY_MS = 86_400_000;

/**
 * The RFM summary of one customer's purchases, as the published CDNOW analyses build it: purchases on the same
 * (UTC) day are one transaction with the day's total value; the first day is the birth, not a repeat; only days up
 * to and including the calibration end count.
 */
export function summarisePurchases(purchases: readonly Purchase[], calibrationEnd: number, unitMs: number, holdoutEnd = calibrationEnd): PurchaseSummary | undefined {
  const days = new Map<number, number>();
  for (const p of purchases) {
    const day = Math.floor(p.at / DAY_MS) * DAY_MS;
    days.set(day, (days.get(day) ?? 0) + (Number.isFinite(p.value) ? p.value : 0));
  }
  const sorted = [...days.entries()].sort((x, y) => x[0] - y[0]);
  const calibration = sorted.filter(([d]) => d <= calibrationEnd);
  if (calibration.length === 0) return undefined;
  const first = calibration[0][0];
  const last = calibration[calibration.length - 1][0];
  const repeats = calibration.slice(1);
  return {
    frequency: repeats.length,
    recency: (last - first) / unitMs,
    T: (calibrationEnd - first) / unitMs,
    monetary: repeats.length ? repeats.reduce((s, [, v]) => s + v, 0) / repeats.length : 0,
    holdout: sorted.filter(([d]) => d > calibrationEnd && d <= holdoutEnd).length,
  };
}
