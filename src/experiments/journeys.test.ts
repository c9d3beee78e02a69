import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryDefinitions, harness, profile, DAY, HOUR, type Harness } from '../journeys/test-support.js';
import { HOLDOUT_ARM } from './decide.js';
import { EXPERIMENT_KIND } from './definition.js';
import { Experiments } from './experiments.js';

let h: Harness;
let experiments: Experiments;
const defs = memoryDefinitions();
afterEach(async () => h?.close());

async function setup(experimentBodies: Record<string, unknown>[]) {
  h = harness({
    experiments: (db, clock) => {
      experiments = new Experiments({
        db, definitions: defs.definitions, clock,
        warehouse: { run: async () => { throw new Error('results are not read in these tests'); } },
      });
      return experiments.port;
    },
  });
  for (const b of experimentBodies) await defs.definitions.put('w', EXPERIMENT_KIND, String(b.key), b);
  await experiments.prepare('w');
}

/** The arm computed here from the documented rule: md5(salt:id), first 52 bits as a fraction, over cumulative weights. */
function expectedArm(salt: string, id: string, arms: [string, number][]): string {
  const u = parseInt(createHash('md5').update(`${salt}:${id}`).digest('hex').slice(0, 13), 16) / 2 ** 52;
  const total = arms.reduce((s, [, w]) => s + w, 0);
  let acc = 0;
  for (const [k, w] of arms) if (u < (acc += w / total)) return k;
  return arms[arms.length - 1][0];
}

const exposures = () => h.db.prepare('SELECT experiment, profile_id AS profileId, arm, properties FROM experiment_exposures ORDER BY id').all() as { experiment: string; profileId: string; arm: string; properties: string }[];

describe('a split bound to an experiment', () => {
  const welcome = { key: 'welcome', salt: 'w1', arms: [{ key: 'control', weight: 1 }, { key: 'b', weight: 1 }], metrics: [{ key: 'buy', type: 'conversion', event: 'Order Completed' }], targeting: { trait: 'country', neq: 'XX' } };
  const journey = {
    key: 'onboarding', trigger: { type: 'event', event: 'Signed Up' }, re_entry: { policy: 'always' }, start: 'ab',
    nodes: {
      ab: { type: 'split', experiment: 'welcome', branches: [{ arm: 'control', next: 'done' }, { arm: 'b', next: 'mail' }] },
      mail: { type: 'send', channel: 'email', template: 'welcome_b' },
      done: { type: 'exit' },
    },
  };

  it('branches by the experiment arm, records one exposure per profile, and leaves untargeted profiles on the control without one', async () => {
    await setup([welcome]);
    await h.journeys.save('w', journey, 'create');
    for (let i = 0; i < 60; i++) {
      h.profiles.set(`p${i}`, profile(`p${i}`, { country: i < 50 ? 'FR' : 'XX' }));
      await h.emit(`p${i}`, 'Signed Up');
      if (i % 10 === 0) await h.emit(`p${i}`, 'Signed Up'); // re-entry: still one exposure
    }
    const rows = exposures();
    expect(rows.map((r) => r.profileId)).toEqual(Array.from({ length: 50 }, (_, i) => `p${i}`));
    for (const r of rows) {
      expect(r.arm).toBe(expectedArm('w1', r.profileId, [['control', 1], ['b', 1]]));
      expect(JSON.parse(r.properties)).toEqual({ experiment: 'welcome', arm: r.arm, journey: 'onboarding', node: 'ab' });
    }
    const mailed = new Set(h.outbox().map((o) => o.profileId));
    for (let i = 0; i < 60; i++) {
      const arm = i < 50 ? expectedArm('w1', `p${i}`, [['control', 1], ['b', 1]]) : 'control';
      expect(mailed.has(`p${i}`)).toBe(arm === 'b');
    }
    const trail = h.journeys.trace('w', 'p55', 'onboarding').trail.find((r) => r.node === 'ab')!;
    expect(trail.detail).toMatchObject({ experiment: 'welcome', arm: 'control', exposed: false, reason: 'not targeted: control, no exposure' });
  });

  it('refuses a split that mixes weights and arms, naming the field', async () => {
    await setup([welcome]);
    const bad = structuredClone(journey) as typeof journey & { nodes: { ab: { branches: Record<string, unknown>[] } } };
    bad.nodes.ab.branches[0].weight = 2;
    await expect(h.journeys.save('w', bad, 'create')).rejects.toThrow(/^nodes.ab.branches\[0\].weight: comes from the experiment/);
    delete (bad.nodes.ab as { experiment?: string }).experiment;
    await expect(h.journeys.save('w', bad, 'create')).rejects.toThrow(/^nodes.ab.branches\[0\].arm: needs experiment/);
  });
});

describe('holdouts', () => {
  it("keeps the holdout arm out of the journey and records both arms' exposures at entry", async () => {
    await setup([{ key: 'cart_holdout', arms: [{ key: 'held', weight: 1 }, { key: 'treated', weight: 3 }], control: 'held', holdout: { arm: 'held', journeys: ['cart'] }, metrics: [{ key: 'buy', type: 'conversion', event: 'Order Completed' }] }]);
    await h.journeys.save('w', { key: 'cart', trigger: { type: 'event', event: 'Product Added' }, start: 'mail', nodes: { mail: { type: 'send', channel: 'email', template: 't' } } }, 'create');
    await h.journeys.save('w', { key: 'other', trigger: { type: 'event', event: 'Product Added' }, start: 'mail', nodes: { mail: { type: 'send', channel: 'sms', template: 't' } } }, 'create');
    for (let i = 0; i < 400; i++) {
      h.profiles.set(`p${i}`, profile(`p${i}`));
      await h.emit(`p${i}`, 'Product Added');
    }
    const rows = exposures();
    expect(rows).toHaveLength(400);
    let held = 0;
    const sent = new Set(h.outbox().map((o) => `${o.journey}:${o.profileId}`));
    for (const r of rows) {
      const arm = expectedArm('cart_holdout', r.profileId, [['held', 1], ['treated', 3]]);
      expect(r.arm).toBe(arm);
      expect(sent.has(`cart:${r.profileId}`)).toBe(arm === 'treated');
      // Only the named journey holds out.
      expect(sent.has(`other:${r.profileId}`)).toBe(true);
      if (arm === 'held') {
        held++;
        expect(h.journeys.trace('w', r.profileId, 'cart').trail[0]).toMatchObject({ kind: 'no_entry', detail: { reason: 'holdout', experiment: 'cart_holdout', arm: 'held' } });
      }
    }
    expect(held).toBeGreaterThan(70);
    expect(held).toBeLessThan(130);
  });
});

describe('the decide node', () => {
  const nba = {
    key: 'nba', trigger: { type: 'event', event: 'Visited' }, re_entry: { policy: 'always' }, start: 'pick',
    nodes: {
      pick: {
        type: 'decide', reward: { event: 'Order Completed', within: '1d' }, holdout: { percent: 20, next: 'nothing' }, exploration: 0.1,
        arms: [
          { key: 'vip_offer', eligible: { trait: 'vip', eq: true }, next: 'send_vip' },
          { key: 'discount', next: 'send_discount' },
          { key: 'content', next: 'send_content' },
        ],
      },
      send_vip: { type: 'send', channel: 'email', template: 'vip' },
      send_discount: { type: 'send', channel: 'email', template: 'discount' },
      send_content: { type: 'send', channel: 'email', template: 'content' },
      nothing: { type: 'exit' },
    },
  };

  it('chooses only eligible arms, holds out its share, and logs every arm’s posterior with each decision', async () => {
    await setup([]);
    await h.journeys.save('w', nba, 'create');
    for (let i = 0; i < 100; i++) {
      h.profiles.set(`p${i}`, profile(`p${i}`, { vip: i % 2 === 0 }));
      await h.emit(`p${i}`, 'Visited');
    }
    const log = experiments.decisions('w', { journey: 'nba', limit: 1000 });
    expect(log).toHaveLength(100);
    for (const d of log) {
      const vip = Number(d.profileId.slice(1)) % 2 === 0;
      if (!vip) expect(d.arm).not.toBe('vip_offer');
      if (d.holdout) {
        expect(d.arm).toBe(HOLDOUT_ARM);
        continue;
      }
      const posteriors = d.detail.posteriors as { arm: string; eligible: boolean; alpha: number; beta: number; draw?: number }[];
      expect(posteriors.map((p) => p.arm)).toEqual(['vip_offer', 'discount', 'content']);
      expect(posteriors.find((p) => p.arm === 'vip_offer')!.eligible).toBe(vip);
      expect(posteriors.every((p) => p.alpha >= 1 && p.beta >= 1)).toBe(true);
    }
    const held = log.filter((d) => d.holdout).length;
    expect(held).toBeGreaterThan(8);
    expect(held).toBeLessThan(35);
    // The holdout is md5(journey:node:profile) < 20%: computed here.
    for (const d of log) {
      const u = parseInt(createHash('md5').update(`nba:pick:${d.profileId}`).digest('hex').slice(0, 13), 16) / 2 ** 52;
      expect(d.holdout).toBe(u < 0.2);
    }
    const templates = new Map(h.outbox().map((o) => [o.profileId, o.template]));
    for (const d of log.filter((x) => !x.holdout)) expect(templates.get(d.profileId)).toBe(d.arm === 'vip_offer' ? 'vip' : d.arm);
  });

  it('counts a reward inside the window as a success and a closed window as a failure, and the next posteriors show it', async () => {
    await setup([]);
    await h.journeys.save('w', nba, 'create');
    // Three profiles outside the 20% holdout (md5 rule computed here), so each gets an arm.
    const [a, b, c0] = Array.from({ length: 50 }, (_, k) => `q${k}`)
      .filter((id) => parseInt(createHash('md5').update(`nba:pick:${id}`).digest('hex').slice(0, 13), 16) / 2 ** 52 >= 0.2).slice(0, 3);
    for (const id of [a, b, c0]) h.profiles.set(id, profile(id));
    await h.emit(a, 'Visited');
    await h.emit(b, 'Visited');
    await h.advance(2 * HOUR);
    await h.emit(a, 'Order Completed'); // within 1d of a's decision: a success
    await h.advance(DAY); // b's window closes without a reward: a failure at the next decision
    await h.emit(b, 'Order Completed'); // too late: nothing
    const armA = experiments.decisions('w', { profileId: a, limit: 1 })[0];
    const armB = experiments.decisions('w', { profileId: b, limit: 1 })[0];
    await h.emit(c0, 'Visited');
    const c = experiments.decisions('w', { profileId: c0, limit: 1 })[0];
    expect([armA.holdout, armB.holdout, c.holdout]).toEqual([false, false, false]);
    const seen = (arm: string) => (c.detail.posteriors as { arm: string; successes: number; failures: number }[]).find((p) => p.arm === arm)!;
    const expectA = { successes: 1, failures: 0 };
    const expectB = { successes: 0, failures: 1 };
    if (armA.arm === armB.arm) expect(seen(armA.arm)).toMatchObject({ successes: 1, failures: 1 });
    else {
      expect(seen(armA.arm)).toMatchObject(expectA);
      expect(seen(armB.arm)).toMatchObject(expectB);
    }
    const arms = experiments.arms('w', 'nba', 'pick');
    expect(arms.arms.find((x) => x.arm === armA.arm)!.successes).toBeGreaterThanOrEqual(1);
    expect(experiments.decisions('w', { profileId: b, limit: 1 })[0].outcome).toBe(0);
    expect(experiments.decisions('w', { profileId: a, limit: 1 })[0].outcome).toBe(1);
  });

  it('a repeated step makes the same decision (seeded by instance, node and visit)', async () => {
    await setup([]);
    await h.journeys.save('w', nba, 'create');
    h.profiles.set('p', profile('p', { vip: true }));
    await h.emit('p', 'Visited');
    const d = experiments.decisions('w', { profileId: 'p', limit: 1 })[0];
    const again = experiments.port.decide(
      { workspaceId: 'w', journey: 'nba', node: 'pick', instanceId: d.instanceId, visit: 1, profile: h.profiles.get('p')!, input: { profile: h.profiles.get('p')!, events: [], now: 0, catalogs: { get: () => undefined } }, now: h.clock.now() },
      nba.nodes.pick as never, ['vip_offer', 'discount', 'content'],
    );
    expect(again.arm).toBe(d.arm);
    expect(again.decision).toBe(d.id);
    expect(experiments.decisions('w', { profileId: 'p', limit: 10 })).toHaveLength(1);
  });
});
