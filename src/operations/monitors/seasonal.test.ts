import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/clock.js';
import { Rng } from '../../demo/rng.js';
import { openSqlite } from '../../storage/sqlite/database.js';
import { openSqliteOperationsStore } from '../../storage/sqlite/operations-store.js';
import { DAY, HOUR, SeriesRecorder, WEEK } from '../series.js';
import { evaluateMonitor } from './evaluate.js';
import type { Monitor } from './definition.js';
import { mad, median, SEASONAL_DEFAULTS, seasonalScore } from './seasonal.js';

/** Orders per hour: a daily shape, weekends at 40% of weekdays (the normal weekend dip). */
function expected(t: number): number {
  const d = new Date(t);
  const hour = d.getUTCHours();
  const day = d.getUTCDay();
  const shape = hour < 7 ? 0.15 : hour < 9 ? 0.6 : hour < 18 ? 1 : hour < 22 ? 0.7 : 0.3;
  return 200 * shape * (day === 0 || day === 6 ? 0.4 : 1);
}

function gauss(rng: Rng): number {
  const u = Math.max(rng.next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/** Poisson-like noise with 8% over-dispersion, as real traffic has. */
const noisy = (mean: number, rng: Rng) => Math.max(0, Math.round(mean * (1 + 0.08 * gauss(rng)) + Math.sqrt(mean) * gauss(rng)));

describe('median and MAD', () => {
  it('match hand-computed values', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    // |x - 3| of [1, 2, 3, 4, 100] = [2, 1, 0, 1, 97] whose median is 1.
    expect(mad([1, 2, 3, 4, 100])).toBe(1);
    expect(median([])).toBeUndefined();
  });
});

describe('volume_anomaly monitor with an hour-of-week baseline', () => {
  // Tuesday 3 February 2026; history from four weeks and a day before.
  const tuesday10 = Date.UTC(2026, 1, 3, 10);
  const start = tuesday10 - 4 * WEEK - 3 * DAY;
  const setup = (tuesdayFactor: number) => {
    const clock = new ManualClock(tuesday10 + HOUR);
    const store = openSqliteOperationsStore(openSqlite(':memory:'));
    const recorder = new SeriesRecorder(store, clock, 90 * DAY);
    const rng = new Rng(7, 1, 0);
    for (let t = start; t <= tuesday10; t += HOUR) {
      const n = noisy(expected(t), rng) * (t === tuesday10 ? tuesdayFactor : 1);
      if (n > 0) recorder.add('ws', 'events', { source: 'web', type: 'track', event: 'Order Completed' }, t + 30 * 60_000, Math.round(n));
    }
    return { clock, store, recorder };
  };
  const monitor: Monitor = { key: 'orders', type: 'volume_anomaly', event: 'Order Completed', window: '1h', direction: 'down' };

  it('fires on an 80% drop on Tuesday at 10:00 against four weeks of history', () => {
    const { clock, store, recorder } = setup(0.2);
    const [r] = evaluateMonitor(monitor, { workspaceId: 'ws', now: clock.now(), recorder, store });
    expect(r.alert).toBe(true);
    expect(r.detail?.historyWeeks).toBe(4);
    // The baseline is about the weekday 10:00 volume (200), the value about 40.
    expect(r.detail?.baseline as number).toBeGreaterThan(170);
    expect(r.detail?.baseline as number).toBeLessThan(230);
    expect(r.value as number).toBeLessThan(60);
  });

  it('stays quiet on a normal Tuesday, and on the normal weekend dip', () => {
    const normal = setup(1);
    expect(evaluateMonitor(monitor, { workspaceId: 'ws', now: normal.clock.now(), recorder: normal.recorder, store: normal.store })[0].alert).toBe(false);
    // Saturday 31 January 14:00: 40% of Friday's volume at the same hour, a 60% drop a day-over-day rule would flag.
    const saturday14 = Date.UTC(2026, 0, 31, 14);
    const friday = normal.recorder.total('ws', 'events', {}, saturday14 - DAY, saturday14 - DAY + HOUR) as number;
    const saturday = normal.recorder.total('ws', 'events', {}, saturday14, saturday14 + HOUR) as number;
    expect(expected(saturday14) / expected(saturday14 - DAY)).toBe(0.4);
    expect(saturday / friday).toBeLessThan(0.7);
    const [r] = evaluateMonitor({ ...monitor, direction: 'both' }, { workspaceId: 'ws', now: saturday14 + HOUR, recorder: normal.recorder, store: normal.store });
    expect(r.learning).toBe(false);
    expect(r.alert).toBe(false);
  });

  it('gives no verdict before minHistoryWeeks of data', () => {
    const clock = new ManualClock(tuesday10 + HOUR);
    const store = openSqliteOperationsStore(openSqlite(':memory:'));
    const recorder = new SeriesRecorder(store, clock, 90 * DAY);
    for (let t = tuesday10 - 8 * DAY; t <= tuesday10; t += HOUR) recorder.add('ws', 'events', { source: 'web', type: 'track', event: 'Order Completed' }, t, t === tuesday10 ? 1 : 200);
    const [r] = evaluateMonitor(monitor, { workspaceId: 'ws', now: clock.now(), recorder, store });
    expect(r.learning).toBe(true);
    expect(r.alert).toBe(false);
  });
});

/**
 * Eight weeks of hourly volume with noise, and incidents injected in weeks 5 to 8 (drops to 20-40% and spikes to
 * 2-2.5x, lasting 1 to 3 hours, at random hours, seeded). Every hour of weeks 5 to 8 is judged against its
 * own four weeks of history; an hour is a true positive when it is inside an incident and flagged.
 */
export function precisionRecall(seed: number, sensitivity = SEASONAL_DEFAULTS.sensitivity) {
  const rng = new Rng(seed, 2, 0);
  const hours = 8 * 7 * 24;
  const t0 = Date.UTC(2026, 0, 5); // a Monday
  const factor = new Array<number>(hours).fill(1);
  const incidents: { at: number; hours: number; factor: number }[] = [];
  while (incidents.length < 24) {
    const at = rng.int(4 * 168, hours - 4);
    const length = rng.int(1, 3);
    if (factor.slice(at - 2, at + length + 2).some((f) => f !== 1)) continue;
    const f = [0.2, 0.3, 0.4, 2, 2.5][rng.int(0, 4)];
    for (let h = at; h < at + length; h++) factor[h] = f;
    incidents.push({ at, hours: length, factor: f });
  }
  const volume = Array.from({ length: hours }, (_, h) => Math.round(noisy(expected(t0 + h * HOUR), rng) * factor[h]));
  const sum = (from: number, to: number) => {
    const h = Math.round((from - t0) / HOUR);
    return h < 0 || h >= hours || to - from !== HOUR ? undefined : volume[h];
  };
  let tp = 0, fp = 0, fn = 0;
  const caught = new Set<number>();
  for (let h = 4 * 168; h < hours; h++) {
    const v = seasonalScore(sum, t0 + (h + 1) * HOUR, HOUR, { ...SEASONAL_DEFAULTS, sensitivity });
    const truth = factor[h] !== 1;
    const flagged = v.status === 'anomaly';
    if (flagged && truth) tp++;
    if (flagged && !truth) fp++;
    if (!flagged && truth) fn++;
    if (flagged && truth) caught.add(incidents.findIndex((i) => h >= i.at && h < i.at + i.hours));
  }
  return { precision: tp / (tp + fp), recall: tp / (tp + fn), tp, fp, fn, incidents: incidents.length, incidentsCaught: caught.size, hoursJudged: hours - 4 * 168 };
}

describe('precision and recall on a synthetic eight-week series', () => {
  it('finds the injected incidents with few false alarms (seeds 1 to 3, recorded in docs/operations.md)', () => {
    for (const sensitivity of [3, 4]) {
      for (const seed of [1, 2, 3]) {
        const r = precisionRecall(seed, sensitivity);
        console.log(`sensitivity ${sensitivity} seed ${seed}: ${JSON.stringify(r)}`);
        // Floors just under the figures measured (docs/operations.md): a change that makes detection worse fails here.
        expect(r.precision).toBeGreaterThanOrEqual(sensitivity === 3 ? 0.75 : 0.9);
        expect(r.recall).toBeGreaterThanOrEqual(sensitivity === 3 ? 0.6 : 0.5);
      }
    }
  });
});
