import { WEEK } from '../series.js';

/** Median of a list (undefined when empty). */
export function median(values: number[]): number | undefined {
  if (!values.length) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Median absolute deviation from the median. */
export function mad(values: number[], centre = median(values)): number | undefined {
  if (centre === undefined) return undefined;
  return median(values.map((v) => Math.abs(v - centre)));
}

export interface SeasonalOptions {
  /** Robust z beyond which a window is anomalous (default 4). */
  sensitivity: number;
  /** Weeks of history compared with (default 4). */
  weeks: number;
  /** Weeks that must have data before a verdict is given (default 2). */
  minHistoryWeeks: number;
  direction: 'up' | 'down' | 'both';
  /** Relative change from the baseline also required (default 0.3: 30%), so large steady volumes do not alert on small moves. */
  minChange: number;
}

export const SEASONAL_DEFAULTS: SeasonalOptions = { sensitivity: 4, weeks: 4, minHistoryWeeks: 2, direction: 'both', minChange: 0.3 };

export interface SeasonalVerdict {
  status: 'ok' | 'anomaly' | 'learning';
  value: number;
  /** The median of the comparable windows. */
  baseline?: number;
  /** Robust z: (value - baseline) / (1.4826 MAD), the scale floored (see below). */
  score?: number;
  /** (value - baseline) / baseline. */
  change?: number;
  history: number;
}

/**
 * Hour-of-week seasonality: the window ending at `end` is compared with the same window of the week in each of the
 * previous `weeks` weeks, and with its neighbours one window before and after (so that a single odd week, or an
 * hour shifted by a holiday, weighs less): up to 3 x weeks comparable values, whose median is the baseline and whose
 * MAD the spread. The scale is floored at the Poisson spread of the baseline (sqrt) and at 1, so a series that was
 * perfectly regular does not alert on a difference of one event. `sum(from, to)` gives the value of a window, or
 * undefined where there is no data (a week before the series began).
 */
export function seasonalScore(sum: (from: number, to: number) => number | undefined, end: number, window: number, o: SeasonalOptions): SeasonalVerdict {
  const value = sum(end - window, end) ?? 0;
  const history: number[] = [];
  let weeksWithData = 0;
  for (let k = 1; k <= o.weeks; k++) {
    let any = false;
    for (const j of [-1, 0, 1]) {
      const e = end - k * WEEK + j * window;
      const v = sum(e - window, e);
      if (v === undefined) continue;
      history.push(v);
      any = true;
    }
    if (any) weeksWithData++;
  }
  if (weeksWithData < o.minHistoryWeeks) return { status: 'learning', value, history: weeksWithData };
  const baseline = median(history) as number;
  const spread = Math.max(1.4826 * (mad(history, baseline) as number), Math.sqrt(Math.max(baseline, 0)), 1);
  const score = (value - baseline) / spread;
  const change = baseline > 0 ? (value - baseline) / baseline : value > 0 ? Infinity : 0;
  const beyond = o.direction === 'up' ? score >= o.sensitivity : o.direction === 'down' ? score <= -o.sensitivity : Math.abs(score) >= o.sensitivity;
  const moved = Math.abs(change) >= o.minChange;
  return { status: beyond && moved ? 'anomaly' : 'ok', value, baseline, score, change, history: weeksWithData };
}
