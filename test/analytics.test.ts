import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTandem, type Running } from './harness.js';

// A generated history with known answers, sent through the public collection API. Every expected number below is
// worked out by hand from the events listed here, not from the code under test.
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
/** A Monday, midnight UTC: the funnel, retention and paths history starts here. */
const T0 = Date.UTC(2026, 2, 2);
/** The attribution history starts two weeks later. */
const T1 = T0 + 14 * DAY;
const iso = (ms: number) => new Date(ms).toISOString();

type Msg = Record<string, unknown>;
const track = (userId: string, event: string, at: number, properties: Record<string, unknown> = {}): Msg => ({ type: 'track', userId, event, properties, timestamp: iso(at) });
const page = (userId: string, at: number, campaign: Record<string, string>): Msg => ({ type: 'page', userId, name: 'Landing', context: { campaign }, timestamp: iso(at) });
const identify = (userId: string, traits: Record<string, unknown>, at: number): Msg => ({ type: 'identify', userId, traits, timestamp: iso(at) });

const V = 'Product Viewed';
const A = 'Product Added';
const O = 'Order Completed';

function history(): Msg[] {
  const m: Msg[] = [];
  // Traits and experiment exposures happen before the funnel's range, so they are in no path after an anchor.
  const before = T0 - DAY;
  m.push(identify('u1', { plan: 'pro' }, before), identify('u2', { plan: 'pro' }, before), identify('u3', { plan: 'free' }, before));
  m.push(identify('u4', { plan: 'free' }, before), identify('u5', { name: 'no plan' }, before), identify('u7', { plan: 'pro' }, before));
  const exposed = (u: string, arm: string, at: number) => track(u, 'Experiment Viewed', at, { experiment_id: 'e1', variation: arm });
  m.push(exposed('u1', 'A', before), exposed('u2', 'B', before), exposed('u3', 'A', before), exposed('u4', 'B', before));
  m.push(exposed('u5', 'A', before), exposed('u5', 'B', before + HOUR), track('u6', 'Experiment Viewed', before, { experiment_id: 'other', variation: 'B' }));

  // Funnel V -> A -> O, window 1 day.
  m.push(track('u1', V, T0), track('u1', A, T0 + 10 * MIN), track('u1', O, T0 + 30 * MIN)); // all 3
  m.push(track('u2', V, T0), track('u2', A, T0 + 20 * MIN)); // 2
  m.push(track('u3', V, T0), track('u3', O, T0 + 5 * MIN), track('u3', A, T0 + 40 * MIN), track('u3', O, T0 + 100 * MIN)); // 3: the first O is out of order
  m.push(track('u4', V, T0), track('u4', A, T0 + 2 * DAY)); // 1: A is past the window
  m.push(track('u5', A, T0), track('u5', V, T0 + 10 * MIN)); // 1: A before V
  m.push(track('u6', O, T0)); // never entered
  m.push(track('u7', V, T0 - 2 * HOUR), track('u7', V, T0 + 60 * MIN), track('u7', A, T0 + 70 * MIN), track('u7', O, T0 + 80 * MIN)); // 3: enters at its first V in range

  // Retention: cohort on Signed Up, return on Session Started, by day.
  const s = (u: string, at: number) => track(u, 'Session Started', at);
  m.push(track('r1', 'Signed Up', T0 + HOUR), s('r1', T0 + DAY + HOUR), s('r1', T0 + 2 * DAY + HOUR));
  m.push(track('r2', 'Signed Up', T0 + 2 * HOUR), s('r2', T0 + 2 * DAY + 5 * HOUR));
  m.push(track('r3', 'Signed Up', T0 + DAY + 3 * HOUR), s('r3', T0 + 2 * DAY + 3 * HOUR), s('r3', T0 + 3 * DAY + 3 * HOUR));
  m.push(track('r4', 'Signed Up', T0 + DAY + 4 * HOUR));
  m.push(track('r5', 'Signed Up', T0 + 5 * HOUR), s('r5', T0 + 6 * HOUR), s('r5', T0 + 3 * DAY + 6 * HOUR));

  // Attribution: G = google/spring (UTM), F = facebook/fb1 (ad click), M = mail/welcome (a message sent).
  const G = (u: string, at: number) => page(u, at, { source: 'google', medium: 'cpc', name: 'spring' });
  const F = (u: string, at: number) => track(u, 'Ad Clicked', at, { channel: 'facebook', campaign: 'fb1' });
  const M = (u: string, at: number) => track(u, 'Message Sent', at, { channel: 'mail', journey: 'welcome', message_id: `m-${u}` });
  const buy = (u: string, at: number, revenue: number) => track(u, O, at, { revenue });
  m.push(G('a1', T1), F('a1', T1 + 24 * HOUR), buy('a1', T1 + 48 * HOUR, 100), F('a1', T1 + 60 * HOUR), buy('a1', T1 + 72 * HOUR, 50));
  m.push(G('a2', T1), M('a2', T1 + 12 * HOUR), F('a2', T1 + 36 * HOUR), buy('a2', T1 + 48 * HOUR, 60));
  m.push(M('a3', T1), buy('a3', T1 + 10 * HOUR, 40));
  m.push(G('a4', T1)); // never converts
  m.push(F('a5', T1), buy('a5', T1 + 200 * HOUR, 30)); // touch older than the 7-day lookback
  m.push(buy('a6', T1 + 5 * HOUR, 20)); // no touchpoint
  return m;
}

let t: Running;

async function post<T = Record<string, unknown>>(report: string, body: unknown): Promise<T> {
  const res = await t.admin(`/analytics/${report}`, { method: 'POST', json: body });
  const json = await res.json();
  if (res.status !== 200) throw new Error(`${report}: ${res.status} ${JSON.stringify(json)}`);
  return json as T;
}

beforeAll(async () => {
  t = await startTandem();
  const res = await t.collect('/v1/batch', { batch: history() });
  expect(res.status).toBe(200);
  await t.settle();
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

interface Step { label: string; count: number; conversion: number; stepConversion: number | null; dropOff: number; medianFromPrevious: number | null; medianFromStart: number | null }
interface Funnel { steps: Step[]; breakdown?: { by: string; groups: { group: string | null; steps: Step[] }[] } }

const funnelBody = { steps: [{ event: V }, { event: A }, { event: O }], window: '1d', from: iso(T0), to: iso(T0 + 3 * DAY) };

describe('funnels', () => {
  it('counts each step, its conversion, drop-off and median times', async () => {
    const f = await post<Funnel>('funnel', funnelBody);
    // Entered: u1 u2 u3 u4 u5 u7 (6); added in order within a day: u1 u2 u3 u7 (4); ordered after that: u1 u3 u7 (3).
    expect(f.steps.map((s) => s.count)).toEqual([6, 4, 3]);
    expect(f.steps.map((s) => s.conversion)).toEqual([1, 4 / 6, 3 / 6]);
    expect(f.steps.map((s) => s.stepConversion)).toEqual([null, 4 / 6, 3 / 4]);
    expect(f.steps.map((s) => s.dropOff)).toEqual([0, 2, 1]);
    // V -> A: u1 10m, u2 20m, u3 40m, u7 10m: median (10 + 20) / 2 = 15m.
    expect(f.steps[1].medianFromPrevious).toBe(15 * MIN);
    // A -> O: u1 20m, u3 60m, u7 10m: median 20m. V -> O: 30m, 100m, 20m: median 30m.
    expect(f.steps[2].medianFromPrevious).toBe(20 * MIN);
    expect(f.steps[2].medianFromStart).toBe(30 * MIN);
  });

  it('breaks down by a trait', async () => {
    const f = await post<Funnel>('funnel', { ...funnelBody, breakdown: { trait: 'plan' } });
    const groups = Object.fromEntries(f.breakdown!.groups.map((g) => [String(g.group), g.steps.map((s) => s.count)]));
    // pro: u1 u2 u7; free: u3 u4; no plan: u5.
    expect(groups).toEqual({ pro: [3, 3, 2], free: [2, 1, 1], null: [1, 0, 0] });
  });

  it('compares experiment arms (first exposure) and audiences', async () => {
    const f = await post<Funnel>('funnel', { ...funnelBody, breakdown: { exposure: { event: 'Experiment Viewed', property: 'variation', where: [{ property: 'experiment_id', eq: 'e1' }] } } });
    const groups = Object.fromEntries(f.breakdown!.groups.map((g) => [String(g.group), g.steps.map((s) => s.count)]));
    // A: u1 u3 u5 (u5's first exposure); B: u2 u4; u7 was not exposed, u6 saw another experiment and never entered.
    expect(groups).toEqual({ A: [3, 2, 2], B: [2, 1, 0] });

    const created = await t.admin('/audiences', { method: 'POST', json: { key: 'pro_users', name: 'Pro', condition: { trait: 'plan', eq: 'pro' } } });
    expect(created.status).toBe(201);
    const free = await t.admin('/audiences', { method: 'POST', json: { key: 'free_users', name: 'Free', condition: { trait: 'plan', eq: 'free' } } });
    expect(free.status).toBe(201);
    await t.settle();
    const byAudience = await post<Funnel>('funnel', { ...funnelBody, breakdown: { audiences: ['pro_users', 'free_users'] } });
    // pro_users: u1 u2 u7; free_users: u3 u4.
    expect(Object.fromEntries(byAudience.breakdown!.groups.map((g) => [String(g.group), g.steps.map((s) => s.count)]))).toEqual({ pro_users: [3, 3, 2], free_users: [2, 1, 1] });
  });

  it('filters a step on a property', async () => {
    // Only orders with revenue >= 100: none in the funnel's range (its orders carry no revenue).
    const f = await post<Funnel>('funnel', { ...funnelBody, steps: [{ event: V }, { event: O, where: [{ property: 'revenue', gte: 100 }] }] });
    expect(f.steps.map((s) => s.count)).toEqual([6, 0]);
  });

  it('answers CSV when asked', async () => {
    const res = await t.admin('/analytics/funnel', { method: 'POST', json: funnelBody, headers: { accept: 'text/csv' } });
    expect(res.headers.get('content-type')).toContain('text/csv');
    const lines = (await res.text()).trim().split('\r\n');
    expect(lines[0]).toBe('group,step,label,count,conversion,step_conversion,drop_off,median_from_previous_ms,median_from_start_ms');
    expect(lines[3]).toBe(`(all),3,${O},3,0.5,0.75,1,${20 * MIN},${30 * MIN}`);
  });

  it('refuses bad input with a 400 naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ steps: [{ event: V }] }, 'steps'],
      [{ ...funnelBody, window: 'soon' }, 'window'],
      [{ ...funnelBody, from: 'yesterday' }, 'from'],
      [{ ...funnelBody, window: '99999999999999999999d' }, 'window'],
      [{ ...funnelBody, to: '99999999999999999999' }, 'to'],
      [{ ...funnelBody, breakdown: { trait: 'plan', property: 'x' } }, 'breakdown'],
      [{ ...funnelBody, steps: [{ event: V }, { event: A, where: [{ property: 'x', gt: 1, lt: 3 }] }] }, 'steps[1].where[0]'],
      [{ ...funnelBody, steps: [{ event: V }, {}] }, 'steps[1]'],
    ];
    for (const [body, path] of cases) {
      const res = await t.admin('/analytics/funnel', { method: 'POST', json: body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      const error = ((await res.json()) as { error: { message: string; path?: string } }).error;
      expect(`${error.path} ${error.message}`).toContain(path);
    }
  });
});

describe('retention', () => {
  it('gives the cohort table and curve by day', async () => {
    const r = await post<{ cohorts: { cohort: string; size: number; periods: { eligible: number; returned: number; rate: number | null }[] }[]; curve: { eligible: number; returned: number }[] }>('retention', {
      cohort: { event: { event: 'Signed Up' } }, return: { event: 'Session Started' }, period: 'day', periods: 3, from: iso(T0), to: iso(T0 + 4 * DAY),
    });
    // Day 0: r1 r2 r5; day 1 returns r1; day 2 r1 r2; day 3 r5 (r5's same-day session is period 0).
    // Day 1: r3 r4; day 2 returns r3, day 3 r3; their third day has not started before `to`.
    expect(r.cohorts.map((c) => [c.cohort, c.size])).toEqual([[iso(T0).slice(0, 10), 3], [iso(T0 + DAY).slice(0, 10), 2]]);
    expect(r.cohorts[0].periods.map((p) => [p.eligible, p.returned])).toEqual([[3, 3], [3, 1], [3, 2], [3, 1]]);
    expect(r.cohorts[1].periods.map((p) => [p.eligible, p.returned])).toEqual([[2, 2], [2, 1], [2, 1], [0, 0]]);
    expect(r.cohorts[1].periods[3].rate).toBeNull();
    expect(r.curve.map((p) => [p.eligible, p.returned])).toEqual([[5, 5], [5, 2], [5, 3], [3, 1]]);
  });
});

describe('paths', () => {
  it('counts the most common sequences after an event', async () => {
    const p = await post<{ anchored: number; noEvents: number; paths: { path: string[]; profiles: number }[] }>('paths', {
      anchor: { event: V }, direction: 'after', steps: 2, from: iso(T0), to: iso(T0 + 3 * DAY),
    });
    // u1 and u7: A, O; u2 and u4: A; u3: O, A; u5: nothing after its V.
    expect(p.anchored).toBe(6);
    expect(p.noEvents).toBe(1);
    const got = p.paths.map((x) => `${x.path.join(' > ')}: ${x.profiles}`).sort();
    expect(got).toEqual([`${A} > ${O}: 2`, `${A}: 2`, `${O} > ${A}: 1`].sort());
  });

  it('and before it', async () => {
    const p = await post<{ paths: { path: string[]; profiles: number }[] }>('paths', {
      anchor: { event: O }, direction: 'before', steps: 1, from: iso(T0), to: iso(T0 + 3 * DAY), exclude: ['Experiment Viewed'],
    });
    // First order in range: u1 (after A), u3 (after V), u6 (after its identify? no: u6 has no identify; nothing before),
    // u7 (after A). So: A 2, V 1.
    expect(p.paths.map((x) => `${x.path.join(' > ')}: ${x.profiles}`).sort()).toEqual([`${A}: 2`, `${V}: 1`]);
  });
});

interface Row { channel: string; campaign: string | null; touchpoints: number; conversions: Record<string, number>; revenue: Record<string, number>; removalEffect?: number }

describe('attribution', () => {
  const body = { conversion: { event: O }, lookback: '7d', halfLife: '1d', from: iso(T1), to: iso(T1 + 10 * DAY) };

  it("gives each model's credit for hand-computed journeys", async () => {
    const a = await post<{ totals: Record<string, number>; rows: Row[]; conversionProbability: number }>('attribution', body);
    // Journeys (conversion: touches in the 7 days before it, after the previous conversion):
    //   a1 #1 (48h, $100): G@0h, F@24h      a1 #2 (72h, $50): F@60h
    //   a2    (48h, $60):  G@0h, M@12h, F@36h
    //   a3    (10h, $40):  M@0h
    // Not converting: a4 G; a5 F (its order at 200h is 200h later, past the lookback). a6 ($20) has no touchpoint.
    expect(a.totals).toEqual({ conversions: 6, revenue: 300, attributed: 4, attributedRevenue: 250, convertingJourneys: 4, nonConvertingJourneys: 2 });
    const by = Object.fromEntries(a.rows.map((r) => [r.channel, r]));
    expect(Object.keys(by).sort()).toEqual(['facebook', 'google', 'mail']);
    expect([by.google.campaign, by.facebook.campaign, by.mail.campaign]).toEqual(['spring', 'fb1', 'welcome']);
    expect([by.google.touchpoints, by.facebook.touchpoints, by.mail.touchpoints]).toEqual([2, 3, 2]);
    const credit = (model: string) => [by.google.conversions[model], by.facebook.conversions[model], by.mail.conversions[model]];
    const revenue = (model: string) => [by.google.revenue[model], by.facebook.revenue[model], by.mail.revenue[model]];
    const close = (got: number[], want: number[]) => got.forEach((g, i) => expect(g).toBeCloseTo(want[i], 9));
    // First touch: a1#1 G, a2 G, a3 M, a1#2 F.
    close(credit('first_touch'), [2, 1, 1]);
    close(revenue('first_touch'), [160, 50, 40]);
    // Last touch: a1#1 F, a2 F, a3 M, a1#2 F.
    close(credit('last_touch'), [0, 3, 1]);
    close(revenue('last_touch'), [0, 210, 40]);
    // Linear: a1#1 G 1/2 F 1/2; a2 1/3 each; a3 M 1; a1#2 F 1.
    close(credit('linear'), [1 / 2 + 1 / 3, 1 / 2 + 1 / 3 + 1, 1 / 3 + 1]);
    close(revenue('linear'), [50 + 20, 50 + 20 + 50, 20 + 40]);
    // Position-based: two touches 50/50; three touches 40/20/40; one touch 100%.
    close(credit('position_based'), [0.5 + 0.4, 0.5 + 0.4 + 1, 0.2 + 1]);
    close(revenue('position_based'), [50 + 24, 50 + 24 + 50, 12 + 40]);
    // Time decay, half-life 1 day: weight 2^(-age in days), normalised per journey.
    //   a1#1: G age 2d -> 1/4, F age 1d -> 1/2: G 1/3, F 2/3.
    //   a2: G 2d -> 1/4, M 1.5d -> 2^-1.5, F 0.5d -> 2^-0.5.
    const w = [0.25, 2 ** -1.5, 2 ** -0.5];
    const s = w[0] + w[1] + w[2];
    close(credit('time_decay'), [1 / 3 + w[0] / s, 2 / 3 + w[2] / s + 1, w[1] / s + 1]);
    close(revenue('time_decay'), [100 / 3 + (60 * w[0]) / s, 200 / 3 + (60 * w[2]) / s + 50, (60 * w[1]) / s + 40]);
  });

  it('gives the Markov removal effects computed by hand', async () => {
    const a = await post<{ rows: Row[]; conversionProbability: number }>('attribution', { ...body, models: ['markov'] });
    // Journeys: G F conv; G M F conv; M conv; F conv; G null; F null.
    // Transitions: start->G 3, start->M 1, start->F 2; G->F 1, G->M 1, G->null 1; M->F 1, M->conv 1; F->conv 3, F->null 1.
    // p(F) = 3/4; p(M) = 1/2 + 1/2 * 3/4 = 7/8; p(G) = 1/3 * 3/4 + 1/3 * 7/8 = 13/24.
    // P = 1/2 * 13/24 + 1/6 * 7/8 + 1/3 * 3/4 = 13/48 + 7/48 + 12/48 = 32/48 = 2/3 (4 of 6 journeys converted).
    // Without G: P = 7/48 + 12/48 = 19/48, removal effect 1 - 19/32 = 13/32.
    // Without M: p(G) = 1/4, P = 1/8 + 1/4 = 18/48, removal effect 1 - 18/32 = 14/32.
    // Without F: p(M) = 1/2, p(G) = 1/6, P = 1/12 + 1/12 = 8/48, removal effect 1 - 8/32 = 24/32.
    // Shares of 51/32: G 13/51, M 14/51, F 24/51, times 4 attributed conversions and $250 attributed revenue.
    expect(a.conversionProbability).toBeCloseTo(2 / 3, 12);
    const by = Object.fromEntries(a.rows.map((r) => [r.channel, r]));
    expect(by.google.removalEffect).toBeCloseTo(13 / 32, 12);
    expect(by.mail.removalEffect).toBeCloseTo(14 / 32, 12);
    expect(by.facebook.removalEffect).toBeCloseTo(24 / 32, 12);
    expect(by.google.conversions.markov).toBeCloseTo((4 * 13) / 51, 12);
    expect(by.mail.conversions.markov).toBeCloseTo((4 * 14) / 51, 12);
    expect(by.facebook.conversions.markov).toBeCloseTo((4 * 24) / 51, 12);
    expect(by.facebook.revenue.markov).toBeCloseTo((250 * 24) / 51, 9);
    expect(by.google.conversions.first_touch).toBeUndefined();
  });

  it('reads another revenue property from the message', async () => {
    // No order carries details.value: every revenue is 0, the credits are unchanged.
    const a = await post<{ totals: Record<string, number>; rows: Row[] }>('attribution', { ...body, revenueProperty: 'details.value', models: ['linear'] });
    expect([a.totals.revenue, a.totals.attributed]).toEqual([0, 4]);
    expect(a.rows.map((r) => r.revenue.linear)).toEqual([0, 0, 0]);
  });

  it('groups by channel and exports CSV', async () => {
    const res = await t.admin('/analytics/attribution', { method: 'POST', json: { ...body, groupBy: 'channel', models: ['linear'] }, headers: { accept: 'text/csv' } });
    expect(res.status).toBe(200);
    const lines = (await res.text()).trim().split('\r\n');
    expect(lines[0]).toBe('channel,campaign,touchpoints,linear_conversions,linear_revenue');
    expect(lines.slice(1).sort()).toEqual(['facebook,,3,' + (1 / 2 + 1 / 3 + 1) + ',120', 'google,,2,' + (1 / 2 + 1 / 3) + ',70', 'mail,,2,' + (1 / 3 + 1) + ',60'].sort());
  });
});

describe('campaigns', () => {
  it('joins imported spend with attributed conversions: CPA and ROAS', async () => {
    const d = (ms: number) => iso(ms).slice(0, 10);
    const json = await t.admin('/analytics/spend', { method: 'POST', json: { rows: [{ date: d(T1), campaign: 'spring', channel: 'google', spend: 100 }, { date: d(T1 - 5 * DAY), campaign: 'spring', channel: 'google', spend: 1000 }] } });
    expect(await json.json()).toEqual({ imported: 2 });
    const csv = `date,campaign,channel,spend\r\n${d(T1 + DAY)},spring,google,50\r\n${d(T1 + DAY)},fb1,facebook,80\r\n${d(T1 + 2 * DAY)},winter,,30\r\n`;
    const res = await t.admin('/analytics/spend', { method: 'POST', body: csv, headers: { 'content-type': 'text/csv' } });
    expect(await res.json()).toEqual({ imported: 3 });
    const c = await post<{ spend: number; rows: { campaign: string | null; spend: number; conversions: Record<string, number>; cpa: Record<string, number | null>; roas: Record<string, number | null> }[] }>('campaigns', {
      conversion: { event: O }, lookback: '7d', halfLife: '1d', from: iso(T1), to: iso(T1 + 10 * DAY), models: ['linear', 'last_touch'],
    });
    // In range: spring 100 + 50 (the 1000 is five days before `from`), fb1 80, winter 30.
    expect(c.spend).toBe(260);
    const by = Object.fromEntries(c.rows.map((r) => [String(r.campaign), r]));
    expect(by.spring.spend).toBe(150);
    // spring: linear 5/6 conversions, $70 -> CPA 150 / (5/6) = 180, ROAS 70 / 150.
    expect(by.spring.cpa.linear).toBeCloseTo(180, 9);
    expect(by.spring.roas.linear).toBeCloseTo(70 / 150, 12);
    expect(by.spring.cpa.last_touch).toBeNull(); // no last-touch conversions
    // fb1: linear 11/6 conversions, $120 -> CPA 80 / (11/6), ROAS 1.5; last touch 3 conversions, $210.
    expect(by.fb1.cpa.linear).toBeCloseTo(80 / (11 / 6), 9);
    expect(by.fb1.roas.linear).toBeCloseTo(1.5, 12);
    expect(by.fb1.cpa.last_touch).toBeCloseTo(80 / 3, 9);
    expect(by.fb1.roas.last_touch).toBeCloseTo(210 / 80, 12);
    // welcome had no spend; winter no conversions.
    expect([by.welcome.spend, by.welcome.cpa.linear, by.welcome.roas.linear]).toEqual([0, null, null]);
    expect([by.winter.spend, by.winter.cpa.linear, by.winter.roas.linear]).toEqual([30, null, 0]);
  });

  it('refuses bad spend with the field named', async () => {
    const bad = await t.admin('/analytics/spend', { method: 'POST', json: { rows: [{ date: '2026-02-30', campaign: 'x', spend: 1 }] } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain('rows[0].date');
    const csv = await t.admin('/analytics/spend', { method: 'POST', body: 'date,campaign,spend\r\n2026-03-01,x,lots\r\n', headers: { 'content-type': 'text/csv' } });
    expect(csv.status).toBe(400);
    expect(JSON.stringify(await csv.json())).toContain('line 2');
  });
});

describe('privacy', () => {
  it('forgets an erased person: no report counts them, and their extracted fields go', async () => {
    const found = await t.admin('/profiles/lookup?type=user_id&value=a3');
    const { id } = (await found.json()) as { id: string };
    expect((await t.admin(`/profiles/${id}`, { method: 'DELETE' })).status).toBe(200);
    await t.settle();
    const a = await post<{ totals: Record<string, number>; rows: Row[] }>('attribution', { conversion: { event: O }, lookback: '7d', from: iso(T1), to: iso(T1 + 10 * DAY), models: ['linear'] });
    // a3's order ($40) and its message are gone: 5 conversions ($260), 3 attributed ($210); mail keeps a2's third.
    expect([a.totals.conversions, a.totals.revenue, a.totals.attributed, a.totals.attributedRevenue]).toEqual([5, 260, 3, 210]);
    expect(a.rows.find((r) => r.channel === 'mail')?.conversions.linear).toBeCloseTo(1 / 3, 12);
    const orphans = await t.app.warehouse.query('SELECT count(*) AS n FROM a_event_fields WHERE event_id NOT IN (SELECT id FROM events)');
    expect(Number(orphans[0].n)).toBe(0);
  });
});

describe('freshness', () => {
  it('counts a new event in a funnel without waiting for anything but the report', async () => {
    const body = { steps: [{ event: 'Fresh Step' }, { event: 'Fresh Step 2' }], from: iso(Date.now() - DAY), to: iso(Date.now() + DAY) };
    const sent = Date.now();
    const res = await t.collect('/v1/track', { userId: 'fresh', event: 'Fresh Step', properties: {} });
    expect(res.status).toBe(200);
    let seen = 0;
    while (Date.now() - sent < 10_000) {
      seen = (await post<Funnel>('funnel', body)).steps[0].count;
      if (seen === 1) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen).toBe(1);
    expect(Date.now() - sent).toBeLessThan(10_000);
  });
});
