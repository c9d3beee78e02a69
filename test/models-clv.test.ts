import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conditionalExpectedPurchases, probabilityAlive } from '../src/models/bgnbd.js';
import { readCdnowSample } from '../src/models/cdnow.test-support.js';
import { summarisePurchases } from '../src/models/purchase-summary.js';
import { startTandem, type Running } from './harness.js';

// Fader, Hardie & Lee (2005): CDNOW 1/10 sample, 39-week calibration (1997-01-01 .. 1997-09-30), weeks.
const PUBLISHED = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426, logLikelihood: -9582.4 };
// Fader & Hardie (2013), Gamma-Gamma on the same calibration period's repeat customers.
const PUBLISHED_GG = { p: 6.25, q: 3.74, gamma: 15.44 };
const WEEK = 7 * 86_400_000;

describe('clv model end to end on CDNOW', () => {
  let t: Running;
  const sample = readCdnowSample();
  let trained: { status: string; result: Record<string, any> };

  beforeAll(async () => {
    t = await startTandem();
    // Every transaction as an `Order Completed` track event through the public collection API.
    const messages = [...sample.entries()].flatMap(([id, list]) =>
      list.map((p, i) => ({ type: 'track', event: 'Order Completed', userId: `cdnow-${id}`, messageId: `cdnow-${id}-${i}`, timestamp: new Date(p.at).toISOString(), properties: { revenue: p.value } })),
    );
    expect(messages).toHaveLength(6919);
    for (let i = 0; i < messages.length; i += 1000) {
      const res = await t.collect('/v1/batch', { batch: messages.slice(i, i + 1000) });
      expect(res.status).toBe(200);
    }
    await t.settle();
    const created = await t.admin('/models', { method: 'POST', json: { key: 'ltv', type: 'clv', clv: { timeUnit: 'weeks', calibrationEnd: '1997-09-30', holdoutEnd: '1998-06-30', horizon: 52 } } });
    expect(created.status).toBe(201);
    const res = await t.admin('/models/ltv/train?wait=true', { method: 'POST' });
    expect(res.status).toBe(200);
    trained = (await res.json()) as typeof trained;
  }, 120_000);
  afterAll(async () => t?.stop());

  it('fits BG/NBD to the published estimates within 1% and log-likelihood within 0.1', () => {
    expect(trained.status).toBe('ok');
    const bg = trained.result.bgnbd;
    expect(trained.result.customers).toBe(2357);
    for (const k of ['r', 'alpha', 'a', 'b'] as const) expect(Math.abs(bg.parameters[k] / PUBLISHED[k] - 1)).toBeLessThan(0.01);
    expect(Math.abs(bg.logLikelihood - PUBLISHED.logLikelihood)).toBeLessThan(0.1);
    for (const k of ['r', 'alpha', 'a', 'b'] as const) expect(bg.standardErrors[k]).toBeGreaterThan(0);
  });

  it('fits Gamma-Gamma on the 946 repeat customers to the published p, q, gamma within 1%', () => {
    const gg = trained.result.gammaGamma;
    expect(gg.repeatCustomers).toBe(946);
    for (const k of ['p', 'q', 'gamma'] as const) expect(Math.abs(gg.parameters[k] / PUBLISHED_GG[k] - 1)).toBeLessThan(0.01);
  });

  it('reports calibration versus holdout, and serves the status on GET', async () => {
    const rows = trained.result.holdout.byCalibrationFrequency as { customers: number; actual: number; predicted: number }[];
    expect(rows.reduce((s, r) => s + r.customers, 0)).toBe(2357);
    // The paper's figure 4: over weeks 40-78 the conditional expectations track the holdout purchases closely in
    // aggregate (the total predicted within 15% of the total observed).
    const actual = rows.reduce((s, r) => s + r.actual * r.customers, 0);
    const predicted = rows.reduce((s, r) => s + r.predicted * r.customers, 0);
    expect(Math.abs(predicted / actual - 1)).toBeLessThan(0.15);
    const got = (await (await t.admin('/models/ltv')).json()) as { type: string; status: { state: string; trained: { run: number; result: { bgnbd: unknown } } } };
    expect(got.type).toBe('clv');
    expect(got.status.state).toBe('ok');
    expect(got.status.trained.run).toBe(1);
    expect(got.status.trained.result.bgnbd).toEqual(trained.result.bgnbd);
  });

  it('writes per-profile values as the profile\'s computed trait, from its whole history as of the scoring instant', async () => {
    // Master id 1: purchases on 1997-01-01, 1997-01-18, 1997-08-02 and 1997-12-12.
    const lookup = await t.admin('/profiles/lookup?type=user_id&value=cdnow-1');
    expect(lookup.status).toBe(200);
    const profile = (await lookup.json()) as { id: string; computed: Record<string, any> };
    const v = profile.computed.ltv;
    const s = summarisePurchases(sample.get('1')!, Date.UTC(1998, 5, 30), WEEK)!;
    expect(s.frequency).toBe(3);
    const params = trained.result.bgnbd.parameters;
    expect(v.p_alive).toBeCloseTo(probabilityAlive(params, s), 4);
    expect(v.expected_purchases).toBeCloseTo(conditionalExpectedPurchases(params, s, 52), 4);
    const g = trained.result.gammaGamma.parameters;
    expect(v.expected_value).toBeCloseTo((g.p * (g.gamma + s.frequency * s.monetary)) / (g.p * s.frequency + g.q - 1), 2);
    expect(v.clv).toBeGreaterThan(0);
    expect(v.clv).toBeLessThan(v.expected_purchases * v.expected_value);
    const why = (await (await t.admin(`/models/ltv/profiles/${profile.id}`)).json()) as { history: { frequency: number }; values: unknown };
    expect(why.history.frequency).toBe(3);
    expect(why.values).toEqual(v);
  });

  it('refuses bad definitions with the field named', async () => {
    const bad = async (json: unknown) => (await (await t.admin('/models', { method: 'POST', json })).json()) as { error: { path: string } };
    expect((await bad({ key: 'x', type: 'clv', clv: { timeUnit: 'months' } })).error.path).toContain('timeUnit');
    expect((await bad({ key: 'x', type: 'clv', clv: { calibrationEnd: '1997-02-30' } })).error.path).toBe('clv.calibrationEnd');
    expect((await bad({ key: 'x', type: 'propensity', propensity: { within: '30d' } })).error.path).toBe('propensity.event');
    expect((await bad({ key: 'x.y', type: 'clv' })).error.path).toBe('key');
    expect((await bad({ key: 'x', type: 'clv', propensity: { churn: true } })).error.path).toBe('propensity');
    expect((await (await t.admin('/models/nope/train', { method: 'POST' })).status)).toBe(404);
  });

  it('is a workspace kind: applied from documents with the same checks as the API', async () => {
    const ok = await t.admin('/workspace/apply', { method: 'POST', json: { documents: [{ kind: 'models', key: 'hours', type: 'send-time' }] } });
    expect(ok.status).toBe(200);
    const got = (await (await t.admin('/models/hours')).json()) as { sendTime: { lookback: string }; status: { state: string } };
    expect(got.sendTime.lookback).toBe('180d');
    expect(got.status.state).toBe('never');
    const clash = await t.admin('/workspace/apply', { method: 'POST', json: { documents: [{ kind: 'models', key: 'other', type: 'send-time', output: 'ltv' }] } });
    expect(clash.status).toBe(400);
    expect(JSON.stringify(await clash.json())).toContain("model 'ltv' already writes the computed trait 'ltv'");
  });
});
