import { describe, expect, it } from 'vitest';
import { bestSendTime, bestTimeWithin, fitSendTimePrior, hourOfWeek, type HourCounts } from './send-time.js';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('send time', () => {
  it('numbers the hours of the week from Monday 00:00 UTC', () => {
    expect(hourOfWeek(Date.UTC(2024, 0, 1, 0, 30))).toBe(0); // Monday 1 January 2024
    expect(hourOfWeek(Date.UTC(2024, 0, 2, 18, 0))).toBe(24 + 18);
    expect(hourOfWeek(Date.UTC(2024, 0, 7, 23, 59))).toBe(167);
    expect(hourOfWeek(Date.UTC(2024, 0, 1, 23, 0), 120)).toBe(24 + 1); // two hours east: Tuesday 01:00
  });

  // 300 profiles, each with its own known hour at which 60% of its engagements happen (the rest spread over the
  // week); most profiles' own hour is Tuesday 18:00, which makes it the population's hour.
  const r = rng(11);
  const popular = 24 + 18;
  const known: number[] = [];
  const profiles: HourCounts[] = [];
  for (let i = 0; i < 300; i++) {
    const own = r() < 0.6 ? popular : Math.floor(r() * 168);
    known.push(own);
    const counts: HourCounts = new Map();
    for (let e = 0; e < 25; e++) {
      const h = r() < 0.6 ? own : Math.floor(r() * 168);
      counts.set(h, (counts.get(h) ?? 0) + 1);
    }
    profiles.push(counts);
  }
  const prior = fitSendTimePrior(profiles);

  it('finds each profile\'s known hour from its history', () => {
    const right = profiles.filter((c, i) => bestSendTime(prior, c).hour_of_week === known[i]).length;
    expect(right).toBe(300);
    const mode = prior.shares.indexOf(Math.max(...prior.shares));
    expect(mode).toBe(popular);
  });

  it('pulls a profile with little data toward the population\'s hour, and lets enough data win', () => {
    const once: HourCounts = new Map([[3, 1]]); // one open, Monday 03:00
    expect(bestSendTime(prior, once).hour_of_week).toBe(popular);
    expect(bestSendTime(prior, once).own_weight).toBeLessThan(0.5);
    const often: HourCounts = new Map([[3, 15]]);
    expect(bestSendTime(prior, often).hour_of_week).toBe(3);
    expect(bestSendTime(prior, new Map()).hour_of_week).toBe(popular);
  });

  it('picks the best hour within a window', () => {
    const monday = Date.UTC(2024, 0, 1, 9, 15);
    // Within 24 h of Monday 09:15 the population's Tuesday 18:00 is out of reach: the best hour inside is chosen.
    const at = bestTimeWithin(prior, new Map([[20, 5]]), monday, 24 * 3_600_000);
    expect(at).toBe(Date.UTC(2024, 0, 1, 20, 0));
    const later = bestTimeWithin(prior, new Map(), monday, 48 * 3_600_000);
    expect(later).toBe(Date.UTC(2024, 0, 2, 18, 0));
  });
});
