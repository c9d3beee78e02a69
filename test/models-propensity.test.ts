import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTandem, type Running } from './harness.js';

// A generated history: each profile has a latent activity level a; every day it views pages with probability 0.8a,
// adds to cart with 0.3a and buys with 0.15a²; a third of the profiles go quiet for good at a random day. Every
// profile also opens messages at a known hour of the week (most of them Tuesday 18:00 UTC).
const DAY = 86_400_000;
const START = Date.UTC(2025, 0, 6); // a Monday
const DAYS = 90;
const AS_OF = new Date(START + DAYS * DAY).toISOString().slice(0, 10);

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

interface Person { id: string; activity: number; quitsAt: number; hour: number }

function generate() {
  const r = rng(42);
  const people: Person[] = [];
  const messages: Record<string, unknown>[] = [];
  let n = 0;
  const track = (userId: string, event: string, at: number, properties: Record<string, unknown> = {}) =>
    messages.push({ type: 'track', event, userId, messageId: `m${n++}`, timestamp: new Date(at).toISOString(), properties });
  for (let i = 0; i < 200; i++) {
    const p: Person = { id: `u${i}`, activity: 0.05 + 0.95 * r(), quitsAt: r() < 1 / 3 ? Math.floor(20 + r() * (DAYS - 20)) : DAYS, hour: i % 5 < 3 ? 24 + 18 : 24 * (i % 5) + 9 };
    people.push(p);
    for (let d = 0; d < p.quitsAt; d++) {
      const day = START + d * DAY;
      if (r() < 0.8 * p.activity) track(p.id, 'Page Viewed', day + Math.floor(r() * DAY));
      if (r() < 0.3 * p.activity) track(p.id, 'Product Added', day + Math.floor(r() * DAY));
      if (r() < 0.15 * p.activity * p.activity) track(p.id, 'Order Completed', day + Math.floor(r() * DAY), { revenue: Math.round(20 + 80 * r()) });
    }
    // Six opens at the profile's hour (weeks 1..6, within the minute after the hour) and two at random hours.
    for (let w = 1; w <= 6; w++) track(p.id, 'Message Opened', START + w * 7 * DAY + p.hour * 3_600_000 + Math.floor(r() * 60_000));
    for (let k = 0; k < 2; k++) track(p.id, 'Message Opened', START + Math.floor(r() * DAYS) * DAY + Math.floor(r() * 24) * 3_600_000);
  }
  // One profile with a single open, on a Monday at 03:00.
  track('few', 'Message Opened', START + 14 * DAY + 3 * 3_600_000);
  return { people, messages };
}

describe('propensity and send-time models end to end', () => {
  let t: Running;
  const { people, messages } = generate();
  let propensity: { status: string; error?: string; result: Record<string, any> };
  let sendTime: { status: string; result: Record<string, any> };
  const profileOf = async (userId: string) => (await (await t.admin(`/profiles/lookup?type=user_id&value=${userId}`)).json()) as { id: string; computed: Record<string, any>; audiences: string[] };

  beforeAll(async () => {
    t = await startTandem();
    for (let i = 0; i < messages.length; i += 1000) expect((await t.collect('/v1/batch', { batch: messages.slice(i, i + 1000) })).status).toBe(200);
    await t.settle();
    const create = async (json: unknown) => expect((await t.admin('/models', { method: 'POST', json })).status).toBe(201);
    await create({ key: 'buy', type: 'propensity', propensity: { event: 'Order Completed', within: '14d', asOf: AS_OF, revenueProperty: 'revenue' } });
    await create({ key: 'best_hour', type: 'send-time', sendTime: { events: ['Message Opened'], lookback: '120d', asOf: AS_OF } });
    await create({ key: 'quit', type: 'propensity', propensity: { churn: true, within: '14d', asOf: AS_OF, boosting: false } });
    // An audience reading a model's output, created before any training: it fills when the values are written.
    expect((await t.admin('/audiences', { method: 'POST', json: { key: 'likely_buyers', condition: { computed: 'buy.score', gte: 0.3 } } })).status).toBe(201);
    propensity = (await (await t.admin('/models/buy/train?wait=true', { method: 'POST' })).json()) as typeof propensity;
    sendTime = (await (await t.admin('/models/best_hour/train?wait=true', { method: 'POST' })).json()) as typeof sendTime;
    await t.settle();
  }, 120_000);
  afterAll(async () => t?.stop());

  it('trains with time-based validation and reports AUC, log-loss, calibration and lift', () => {
    expect(propensity.error).toBeUndefined();
    expect(propensity.status).toBe('ok');
    const r = propensity.result;
    console.log(`propensity: learner ${r.learner}, validation AUC logistic ${r.validation.logistic.auc}, trees ${r.validation.boosted_trees?.auc}, log-loss ${r.validation.logistic.logLoss}, top-decile lift ${r.validation.logistic.liftByDecile[0].lift}, rows ${JSON.stringify(r.rows)}`);
    expect(r.cutoffs).toEqual({ training: '2025-03-09T00:00:00.000Z', validation: '2025-03-23T00:00:00.000Z', scoring: '2025-04-06T00:00:00.000Z' });
    expect(r.validation.logistic.auc).toBeGreaterThan(0.7);
    expect(r.validation.logistic.liftByDecile).toHaveLength(10);
    expect(r.validation.logistic.liftByDecile[0].lift).toBeGreaterThan(1.5);
    expect(r.validation.logistic.calibration).toHaveLength(10);
    expect(['logistic', 'boosted_trees']).toContain(r.learner);
    if (r.learner === 'boosted_trees') expect(r.validation.boosted_trees.auc).toBeGreaterThan(r.validation.logistic.auc);
    expect(r.features).toContain('count(Page Viewed, 30d)');
    expect(r.logistic.coefficients[0].standardError).toBeGreaterThan(0);
  });

  it('scores follow the known activity levels and land in the profiles\' computed traits and in audiences', async () => {
    const scored: { a: number; s: number; members: boolean }[] = [];
    for (const p of people.filter((_, i) => i % 4 === 0)) {
      const profile = await profileOf(p.id);
      const score = profile.computed.buy?.score as number;
      expect(score).toBeGreaterThanOrEqual(0);
      expect(score).toBeLessThanOrEqual(1);
      scored.push({ a: p.quitsAt === DAYS ? p.activity : 0, s: score, members: profile.audiences.includes('likely_buyers') });
    }
    // Rank correlation between the true (current) activity and the score.
    const rank = (xs: number[]) => { const o = xs.map((x, i) => [x, i]).sort((p, q) => p[0] - q[0]); const r = new Array<number>(xs.length); o.forEach(([, i], k) => (r[i] = k)); return r; };
    const ra = rank(scored.map((x) => x.a));
    const rs = rank(scored.map((x) => x.s));
    const n = scored.length;
    const rho = 1 - (6 * ra.reduce((s, v, i) => s + (v - rs[i]) ** 2, 0)) / (n * (n * n - 1));
    expect(rho).toBeGreaterThan(0.6);
    for (const x of scored) expect(x.members).toBe(x.s >= 0.3);
  });

  it('explains a profile\'s score by the features pushing it up and down', async () => {
    const busy = people.find((p) => p.activity > 0.9 && p.quitsAt === DAYS)!;
    const profile = await profileOf(busy.id);
    const res = await t.admin(`/models/buy/profiles/${profile.id}`);
    expect(res.status).toBe(200);
    const why = (await res.json()) as { values: { score: number }; up: { feature: string; contribution: number }[]; down: unknown[] };
    expect(why.values.score).toBe(profile.computed.buy.score);
    expect(why.up.length).toBeGreaterThan(0);
    expect(why.up[0].contribution).toBeGreaterThan(0);
    expect((await t.admin('/models/buy/profiles/nobody')).status).toBe(404);
  });

  it('predicts churn as no activity', async () => {
    const res = (await (await t.admin('/models/quit/train?wait=true', { method: 'POST' })).json()) as typeof propensity;
    expect(res.status).toBe('ok');
    expect(res.result.learner).toBe('logistic');
    expect(res.result.validation.logistic.auc).toBeGreaterThan(0.7);
    const coef = (res.result.logistic.coefficients as { feature: string; coefficient: number }[]).find((c) => c.feature === 'days_since_last_event')!;
    expect(coef.coefficient).toBeGreaterThan(0);
    console.log(`churn: validation AUC ${res.result.validation.logistic.auc}, base rate ${res.result.validation.logistic.baseRate}`);
  });

  it('finds each profile\'s best hour from its opens and pulls a profile with one open to the population\'s hour', async () => {
    expect(sendTime.status).toBe('ok');
    expect(sendTime.result.populationBest).toEqual({ hour_of_week: 42, day: 'Tue', hour: 18 });
    for (const p of people.filter((_, i) => i % 10 === 0)) expect((await profileOf(p.id)).computed.best_hour.hour_of_week).toBe(p.hour);
    const few = await profileOf('few');
    expect(few.computed.best_hour.hour_of_week).toBe(42);
    expect(few.computed.best_hour.engagements).toBe(1);
    const why = (await (await t.admin(`/models/best_hour/profiles/${few.id}`)).json()) as { engagementsByHour: { hour_of_week: number }[] };
    expect(why.engagementsByHour).toEqual([{ hour_of_week: 3, day: 'Mon', hour: 3, count: 1 }]);
  });

  it('keeps versions: each training is a numbered run', async () => {
    await t.admin('/models/buy/train?wait=true', { method: 'POST' });
    const runs = (await (await t.admin('/models/buy/runs')).json()) as { data: { run: number; status: string }[] };
    expect(runs.data.map((r) => r.run)).toEqual([2, 1]);
    const model = (await (await t.admin('/models/buy')).json()) as { status: { trained: { run: number } } };
    expect(model.status.trained.run).toBe(2);
    // A GET answer can be sent back unchanged (status is read-only).
    expect((await t.admin('/models/buy', { method: 'PUT', json: model })).status).toBe(200);
  });
});
