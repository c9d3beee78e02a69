import { describe, expect, it } from 'vitest';
import { chiSquareSurvival } from './stats/distributions.js';
import { armAt, assign, unitInterval } from './assign.js';
import { checkExperiment, resolveExperiment } from './definition.js';
import { createHash } from 'node:crypto';

const experiment = (over: Record<string, unknown> = {}) =>
  resolveExperiment(checkExperiment({ key: 'exp', arms: [{ key: 'control', weight: 1 }, { key: 'b', weight: 1 }, { key: 'c', weight: 2 }], metrics: [{ key: 'buy', type: 'conversion', event: 'Order Completed' }], ...over } as never));
const profile = (id: string, traits: Record<string, unknown> = {}) => ({ id, traits, computed: {}, identifiers: [], audiences: [], subscriptions: {} });

describe('assignment', () => {
  it('is md5(salt:id) read as a fraction, laid over the cumulative weights', () => {
    const hex = createHash('md5').update('exp:user-1').digest('hex');
    expect(unitInterval('exp', 'user-1')).toBe(parseInt(hex.slice(0, 13), 16) / 2 ** 52);
    const arms = [{ key: 'a', weight: 1 }, { key: 'b', weight: 3 }];
    expect(armAt(arms, 0)).toBe('a');
    expect(armAt(arms, 0.2499)).toBe('a');
    expect(armAt(arms, 0.25)).toBe('b');
    expect(armAt(arms, 0.9999)).toBe('b');
  });

  it('is deterministic, follows the weights (chi-square) and depends on the salt', () => {
    const e = experiment();
    const counts = new Map<string, number>();
    let moved = 0;
    const salted = experiment({ salt: 'other' });
    for (let i = 0; i < 20_000; i++) {
      const arm = assign(e, profile(`p${i}`), { now: 0 }).arm!;
      expect(assign(e, profile(`p${i}`), { now: 0 }).arm).toBe(arm);
      counts.set(arm, (counts.get(arm) ?? 0) + 1);
      if (assign(salted, profile(`p${i}`), { now: 0 }).arm !== arm) moved++;
    }
    const observed = ['control', 'b', 'c'].map((k) => counts.get(k)!);
    const expected = [5000, 5000, 10000];
    const chi = observed.reduce((s, o, i) => s + (o - expected[i]) ** 2 / expected[i], 0);
    expect(chiSquareSurvival(chi, 2)).toBeGreaterThan(0.001);
    // A new salt reshuffles: about 1 - (0.25² + 0.25² + 0.5²) = 62.5% change arm.
    expect(moved / 20_000).toBeGreaterThan(0.6);
    expect(moved / 20_000).toBeLessThan(0.65);
  });

  it('targets with the condition language, and a stopped experiment gives the control without exposure', () => {
    const e = experiment({ targeting: { trait: 'country', eq: 'FR' } });
    expect(assign(e, profile('p1', { country: 'DE' }), { now: 0 })).toEqual({ arm: null, reason: 'not_targeted', expose: false });
    expect(assign(e, profile('p1', { country: 'FR' }), { now: 0 })).toMatchObject({ reason: 'assigned', expose: true });
    expect(assign(experiment({ status: 'stopped' }), profile('p1'), { now: 0 })).toEqual({ arm: 'control', reason: 'stopped', expose: false });
  });
  // Merges (the survivor keeps its arm; crossovers are left out) are proven end to end in test/experiments.api.test.ts.
});

describe('definition checks name the field', () => {
  const bad = (over: Record<string, unknown>) => () => experiment(over);
  it('refuses unknown arms, duplicate keys, bad conditions and durations', () => {
    expect(bad({ control: 'zzz' })).toThrow(/^control: 'zzz' is not one of the arms/);
    expect(bad({ holdout: { arm: 'x', journeys: ['*'] } })).toThrow(/^holdout.arm/);
    expect(bad({ arms: [{ key: 'a', weight: 1 }, { key: 'a', weight: 1 }] })).toThrow(/^arms\[1\].key/);
    expect(bad({ targeting: { trait: 'x', gt: 'abc', bogus: 1 } })).toThrow(/targeting/);
    expect(bad({ metrics: [{ key: 'm', type: 'conversion', event: 'E', within: '3 days' }] })).toThrow(/metrics\[0\].within/);
    expect(bad({ metrics: [{ key: 'm', type: 'count', event: 'E', guardrail: true }] })).toThrow(/^metrics: at least one/);
  });
});
