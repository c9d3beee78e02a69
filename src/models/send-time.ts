import { lnGamma } from './special.js';

export const HOURS_OF_WEEK = 168;
const HOUR_MS = 3_600_000;
const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/** Hour of the week, 0 = Monday 00:00-01:00 UTC (shifted by `offsetMinutes` for a local week). */
export function hourOfWeek(at: number, offsetMinutes = 0): number {
  const hours = Math.floor((at + offsetMinutes * 60_000) / HOUR_MS);
  // 1970-01-01 was a Thursday: hour 0 of the epoch is hour 72 of its week.
  return (((hours + 72) % HOURS_OF_WEEK) + HOURS_OF_WEEK) % HOURS_OF_WEEK;
}

export const describeHour = (h: number) => ({ day: DAYS[Math.floor(h / 24)], hour: h % 24 });

/** One profile's engagements by hour of the week, sparse. */
export type HourCounts = Map<number, number>;

/**
 * The population prior: the share of all engagements in each hour of the week (π, with half an engagement added
 * to every hour so that none is impossible) and its strength κ, estimated by maximising the Dirichlet-multinomial
 * likelihood of the profiles' counts. A small κ says profiles differ a lot and their own data dominate quickly; a
 * large κ says they resemble the population and need much data to move away from it.
 */
export interface SendTimePrior {
  shares: number[];
  strength: number;
  profiles: number;
  engagements: number;
}

export function fitSendTimePrior(profiles: readonly HourCounts[]): SendTimePrior {
  const totals = new Array<number>(HOURS_OF_WEEK).fill(0.5);
  let engagements = 0;
  for (const p of profiles) for (const [h, n] of p) {
    totals[h] += n;
    engagements += n;
  }
  const sum = totals.reduce((s, v) => s + v, 0);
  const shares = totals.map((v) => v / sum);
  const withData = profiles.filter((p) => p.size > 0);
  // Dirichlet-multinomial log-likelihood in κ (π fixed), over profiles; only the hours a profile used contribute.
  const ll = (kappa: number) => {
    let s = 0;
    for (const p of withData) {
      let n = 0;
      for (const [h, c] of p) {
        n += c;
        s += lnGamma(c + kappa * shares[h]) - lnGamma(kappa * shares[h]);
      }
      s += lnGamma(kappa) - lnGamma(n + kappa);
    }
    return s;
  };
  // Golden-section search on log κ over [1e-2, 1e5]; the likelihood is unimodal in κ for fixed π.
  let lo = Math.log(1e-2);
  let hi = Math.log(1e5);
  const phi = (Math.sqrt(5) - 1) / 2;
  let x1 = hi - phi * (hi - lo);
  let x2 = lo + phi * (hi - lo);
  let f1 = ll(Math.exp(x1));
  let f2 = ll(Math.exp(x2));
  for (let i = 0; i < 80; i++) {
    if (f1 > f2) {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - phi * (hi - lo);
      f1 = ll(Math.exp(x1));
    } else {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + phi * (hi - lo);
      f2 = ll(Math.exp(x2));
    }
  }
  return { shares, strength: withData.length ? Math.exp((lo + hi) / 2) : 1, profiles: withData.length, engagements };
}

/** The posterior mean share of each hour for one profile: (n_h + κ π_h) / (N + κ). */
export function posteriorShares(prior: SendTimePrior, counts: HourCounts): number[] {
  let n = 0;
  for (const c of counts.values()) n += c;
  return prior.shares.map((s, h) => ((counts.get(h) ?? 0) + prior.strength * s) / (n + prior.strength));
}

export interface SendTime {
  hour_of_week: number;
  day: string;
  hour: number;
  /** Posterior share of engagements in that hour. */
  share: number;
  /** The profile's own engagements counted. */
  engagements: number;
  /** Weight of the profile's own data in the posterior, N / (N + κ). */
  own_weight: number;
}

export function bestSendTime(prior: SendTimePrior, counts: HourCounts): SendTime {
  const post = posteriorShares(prior, counts);
  let best = 0;
  for (let h = 1; h < HOURS_OF_WEEK; h++) if (post[h] > post[best]) best = h;
  let n = 0;
  for (const c of counts.values()) n += c;
  return { hour_of_week: best, ...describeHour(best), share: post[best], engagements: n, own_weight: n / (n + prior.strength) };
}

/**
 * "At the best time within a window": the start of the hour in [from, from + windowMs) whose hour of the week has
 * the highest posterior share for this profile (the first such hour on ties; `from` itself when the window is
 * shorter than an hour).
 */
export function bestTimeWithin(prior: SendTimePrior, counts: HourCounts, from: number, windowMs: number, offsetMinutes = 0): number {
  const post = posteriorShares(prior, counts);
  let bestAt = from;
  let bestShare = -1;
  const firstHour = Math.ceil(from / HOUR_MS) * HOUR_MS;
  for (let at = firstHour; at < from + windowMs; at += HOUR_MS) {
    const s = post[hourOfWeek(at, offsetMinutes)];
    if (s > bestShare) {
      bestShare = s;
      bestAt = at;
    }
  }
  return bestAt;
}
