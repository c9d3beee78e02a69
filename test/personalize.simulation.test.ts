import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../src/demo/rng.js';
import { startTandem, type Running } from './harness.js';

/**
 * A seeded simulation of visitors whose click rates depend on the context (hot or cold weather in their region,
 * mobile or desktop), run through the app's real personalizer (definitions, catalogs, geo database, decision log,
 * bandit models, rewards). Click probabilities are linear in the two context bits, so the best offer per context
 * and every expected rate below are computed by hand from this table, not by the code under test.
 */
const P: Record<string, [number, number, number]> = {
  // offer: [base, +hot, +mobile]
  water: [0.05, 0.2, 0.05],
  soda: [0.15, 0, 0],
  coffee: [0.1, -0.08, 0.12],
};
const OFFERS = Object.keys(P);
const p = (offer: string, hot: number, mobile: number) => P[offer][0] + P[offer][1] * hot + P[offer][2] * mobile;
const CONTEXTS = [[1, 1], [1, 0], [0, 1], [0, 0]] as const;
const best = (hot: number, mobile: number) => OFFERS.reduce((a, b) => (p(b, hot, mobile) > p(a, hot, mobile) ? b : a));
// Contexts are equally likely: the random control's expected rate is the mean over contexts and offers.
const RANDOM_RATE = CONTEXTS.reduce((s, [h, m]) => s + OFFERS.reduce((t, o) => t + p(o, h, m), 0) / OFFERS.length, 0) / CONTEXTS.length;
const OPTIMAL_RATE = CONTEXTS.reduce((s, [h, m]) => s + p(best(h, m), h, m), 0) / CONTEXTS.length;
const BEST_FIXED_RATE = Math.max(...OFFERS.map((o) => CONTEXTS.reduce((s, [h, m]) => s + p(o, h, m), 0) / CONTEXTS.length));

const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
const DESKTOP = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const VISITORS = 3000;

let t: Running;
const dir = mkdtempSync(join(tmpdir(), 'tandem-geo-'));
writeFileSync(join(dir, 'geo.csv'), '1.0.0.0/24,AU,HOT,,Australia/Sydney\n1.0.1.0/24,IS,COLD,,Atlantic/Reykjavik\n');

const features = [
  { key: 'hot', when: { catalog: 'weather', key_from: { trait: 'context.geo.region' }, where: [{ field: 'temp_c', gte: 25 }] } },
  { key: 'mobile', when: { trait: 'context.device.type', eq: 'mobile' } },
];
const decision = (key: string, algorithm: 'linucb' | 'thompson', withFeatures: boolean) => ({
  key,
  policy: { type: 'bandit', algorithm, features: withFeatures ? features : [], alpha: 0.5, v: 0.1 },
  offers: OFFERS.map((o) => ({ key: o })),
  holdout: { percent: 20, salt: 'sim' },
  reward: { events: [{ event: 'Offer Clicked' }] },
});

interface Run { served: { hot: number; mobile: number; offer: string; group: string }[] }

async function simulate(key: string, seed: number): Promise<Run> {
  const rng = new Rng(seed, 1, 0);
  const policyRng = new Rng(seed, 3, 0);
  t.app.personalizer.useRandom(() => policyRng.next());
  const served: Run['served'] = [];
  for (let i = 0; i < VISITORS; i++) {
    const [hot, mobile] = CONTEXTS[rng.int(0, 3)];
    const answer = await t.app.personalizer.personalize('default', {
      anonymousId: `v${i}`,
      decisions: [key],
      context: { ip: hot ? '1.0.0.7' : '1.0.1.7', userAgent: mobile ? IPHONE : DESKTOP },
    });
    const d = answer.decisions[key];
    const offer = d.offer!.key;
    served.push({ hot, mobile, offer, group: d.group! });
    if (rng.chance(p(offer, hot, mobile))) expect(await t.app.personalizer.rewardEvent('default', d.id!, 'Offer Clicked', t.app.clock.now())).toBe(true);
  }
  return { served };
}

/** The rate a group should show given the offers it actually served (the table, not the observed clicks). */
const expectedRate = (run: Run, group: string) => {
  const rows = run.served.filter((s) => s.group === group);
  return rows.reduce((s, r) => s + p(r.offer, r.hot, r.mobile), 0) / rows.length;
};

beforeAll(async () => {
  t = await startTandem({ config: { personalize: { geoDatabase: join(dir, 'geo.csv') } } });
  const admin = async (path: string, json: unknown, method = 'POST') => {
    const r = await t.admin(path, { method, json });
    if (r.status >= 300) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  };
  await admin('/catalogs', { key: 'weather', keyField: 'region' });
  await admin('/catalogs/weather/rows', [{ region: 'HOT', temp_c: 31 }, { region: 'COLD', temp_c: 4 }]);
  await admin('/decisions', decision('contextual', 'linucb', true));
  await admin('/decisions', decision('plain', 'linucb', false));
  await admin('/decisions', decision('contextual_ts', 'thompson', true));
}, 60_000);

afterAll(async () => t?.stop());

describe('personalization simulation (seeded, context-dependent click rates)', () => {
  it('the hand-computed rates order as the scenario intends', () => {
    expect(RANDOM_RATE).toBeCloseTo(0.148333, 5);
    expect(BEST_FIXED_RATE).toBeCloseTo(0.175, 5);
    expect(OPTIMAL_RATE).toBeCloseTo(0.23, 5);
  });

  it('the contextual bandit beats the non-contextual one, and the holdout measures the lift', async () => {
    const contextual = await simulate('contextual', 7);
    const plain = await simulate('plain', 7);
    const thompson = await simulate('contextual_ts', 7);
    const results = (key: string) => t.app.personalizer.results('default', key);
    const rc = results('contextual');
    const rp = results('plain');
    const rt = results('contextual_ts');

    // The holdout (20% of visitors by a hash of their id) got random offers: its rate matches the table's random rate.
    for (const r of [rc, rp, rt]) {
      expect(r.holdout.decisions).toBeGreaterThan(VISITORS * 0.15);
      const se = Math.sqrt((RANDOM_RATE * (1 - RANDOM_RATE)) / r.holdout.decisions);
      expect(Math.abs(r.holdout.rate - RANDOM_RATE)).toBeLessThan(3.5 * se);
    }

    // The contextual policy serves the best offer of each context; the non-contextual one cannot beat the best fixed offer.
    const lateContextual = contextual.served.filter((s) => s.group === 'policy').slice(-1000);
    expect(lateContextual.filter((s) => s.offer === best(s.hot, s.mobile)).length / lateContextual.length).toBeGreaterThan(0.8);
    expect(expectedRate(contextual, 'policy')).toBeGreaterThan(BEST_FIXED_RATE + 0.02);
    expect(expectedRate(thompson, 'policy')).toBeGreaterThan(BEST_FIXED_RATE + 0.02);
    expect(expectedRate(plain, 'policy')).toBeLessThanOrEqual(BEST_FIXED_RATE + 1e-9);

    // Observed: the contextual policy's click rate is higher than the non-contextual one's (two-proportion z > 2).
    const pooled = (rc.policy.rewarded + rp.policy.rewarded) / (rc.policy.decisions + rp.policy.decisions);
    const z = (rc.policy.rate - rp.policy.rate) / Math.sqrt(pooled * (1 - pooled) * (1 / rc.policy.decisions + 1 / rp.policy.decisions));
    expect(z).toBeGreaterThan(2);

    // The holdout measures the lift: the reported lift is within its interval's reach of the true lift (the table's
    // rate of what the policy served minus the random rate), and excludes zero for the contextual policy.
    for (const [r, run] of [[rc, contextual], [rt, thompson], [rp, plain]] as const) {
      const trueLift = expectedRate(run, 'policy') - RANDOM_RATE;
      const se = (r.lift!.high - r.lift!.low) / (2 * 1.959964);
      expect(Math.abs(r.lift!.estimate - trueLift)).toBeLessThan(3.5 * se);
    }
    expect(rc.lift!.low).toBeGreaterThan(0);
    expect(rt.lift!.low).toBeGreaterThan(0);
  }, 120_000);

  it('logs every decision with the features and scores that chose it', () => {
    const [last] = t.app.personalizer.log('default', 'contextual', 200).filter((r) => r.group === 'policy');
    expect(Object.keys(last.features!)).toEqual(['_intercept', 'hot', 'mobile']);
    expect(Object.keys(last.scores).sort()).toEqual([...OFFERS].sort());
    for (const s of Object.values(last.scores)) expect(s.score).toBeCloseTo(s.mean + s.width, 9);
    const chosen = Object.entries(last.scores).reduce((a, b) => (b[1].score > a[1].score ? b : a))[0];
    expect(last.offer).toBe(chosen);
  });
});
