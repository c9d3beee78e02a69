import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTandem, type Running } from './harness.js';

// Attribution (src/analytics/attribution/journeys-sql.ts) puts uncredited touchpoints into journeys only when the
// Markov model is asked for, and reads conversions and touchpoints in different ways depending on the request (a
// conversion filtered on a property, an event name listed both as an ad and as a message). Every variant is checked
// here against numbers worked out by hand from the history below.
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T = Date.UTC(2026, 4, 4);
const iso = (ms: number) => new Date(ms).toISOString();

const G = (u: string, at: number) => ({ type: 'page', userId: u, name: 'Landing', context: { campaign: { source: 'google', medium: 'cpc', name: 'spring' } }, timestamp: iso(at) });
const F = (u: string, at: number) => ({ type: 'track', userId: u, event: 'Ad Clicked', properties: { channel: 'facebook', campaign: 'fb1' }, timestamp: iso(at) });
const M = (u: string, at: number) => ({ type: 'track', userId: u, event: 'Message Sent', properties: { channel: 'mail', journey: 'welcome' }, timestamp: iso(at) });
const buy = (u: string, at: number, revenue: number) => ({ type: 'track', userId: u, event: 'Order Completed', properties: { revenue }, timestamp: iso(at) });

const history = [
  G('b1', T), F('b1', T + HOUR), buy('b1', T + 2 * HOUR, 100), // journey [G, F] -> 100
  G('b2', T), // never buys: a non-converting journey
  F('b3', T), buy('b3', T + 10 * DAY, 30), // the touch is older than the 7-day lookback: uncredited, and the order unattributed
  M('b4', T), buy('b4', T + HOUR, 40), // journey [M] -> 40
];

type Row = { channel: string; campaign: string | null; conversions: Record<string, number> };
type Answer = { totals: Record<string, number>; rows: Row[] };

let t: Running;
beforeAll(async () => {
  t = await startTandem();
  expect((await t.collect('/v1/batch', { batch: history })).status).toBe(200);
  await t.settle();
}, 60_000);
afterAll(async () => t?.stop());

async function attribution(extra: Record<string, unknown>): Promise<Answer> {
  const res = await t.admin('/analytics/attribution', { method: 'POST', json: { conversion: { event: 'Order Completed' }, lookback: '7d', from: iso(T), to: iso(T + 20 * DAY), ...extra } });
  expect(res.status).toBe(200);
  return (await res.json()) as Answer;
}
const linear = (a: Answer) => Object.fromEntries(a.rows.map((r) => [`${r.channel}/${r.campaign}`, r.conversions.linear]));

describe('attribution input paths', () => {
  const totals = { conversions: 3, revenue: 170, attributed: 2, attributedRevenue: 140, convertingJourneys: 2, nonConvertingJourneys: 2 };
  const credit = { 'google/spring': 0.5, 'facebook/fb1': 0.5, 'mail/welcome': 1 };

  it('without Markov: credited touchpoints only, the same totals (non-converting journeys counted apart)', async () => {
    const a = await attribution({ models: ['linear'] });
    expect(a.totals).toEqual(totals);
    expect(linear(a)).toEqual(credit);
  });

  it('with Markov: every touchpoint of the range in a journey, the same totals and credits', async () => {
    const a = await attribution({ models: ['linear', 'markov'] });
    expect(a.totals).toEqual(totals);
    // Markov adds a row for the facebook state of b3's non-converting journey only if it is new: fb1 is seen in b1.
    expect(linear(a)).toEqual(credit);
  });

  it('a conversion filtered on a property is read on its own', async () => {
    // Only b1's order (100) has revenue >= 50: b2, b3 and b4 have non-converting journeys.
    const a = await attribution({ conversion: { event: 'Order Completed', where: [{ property: 'revenue', gte: 50 }] }, models: ['linear'] });
    expect(a.totals).toEqual({ conversions: 1, revenue: 100, attributed: 1, attributedRevenue: 100, convertingJourneys: 1, nonConvertingJourneys: 3 });
    expect(linear(a)).toEqual({ 'google/spring': 0.5, 'facebook/fb1': 0.5 });
  });

  it('an event named both an ad and a message is two touchpoints', async () => {
    // b4's Message Sent is an ad (channel mail, no campaign) and a message (mail/welcome): a journey of two.
    const a = await attribution({ touchpoints: { ads: ['Ad Clicked', 'Message Sent'], messages: ['Message Sent'] }, models: ['linear'] });
    expect(a.totals).toEqual(totals);
    expect(linear(a)).toEqual({ 'google/spring': 0.5, 'facebook/fb1': 0.5, 'mail/null': 0.5, 'mail/welcome': 0.5 });
  });
});
