import { describe, expect, it } from 'vitest';
import { TandemError } from '../core/errors.js';
import { compileDecision, type DecisionBody } from './definition.js';

const base: DecisionBody = { key: 'hero', policy: { type: 'rules' }, offers: [{ key: 'a' }, { key: 'b' }] };
const refusal = (body: DecisionBody) => {
  try {
    compileDecision(body, 1);
  } catch (error) {
    return { code: (error as TandemError).code, path: (error as TandemError).path };
  }
  return undefined;
};

describe('decision definitions', () => {
  it('compiles conditions, caps and the reward window', () => {
    const d = compileDecision({ ...base, cap: { max: 3, within: '1d' }, offers: [{ key: 'a', condition: { in_audience: 'vip' } }, { key: 'b', cap: { max: 1, within: '2h' } }], reward: { events: [{ event: 'Clicked' }], within: '30m' } }, 4);
    expect(d.version).toBe(4);
    expect(d.offers.map((o) => [o.key, o.capMax, o.capMs])).toEqual([['a', 3, 86_400_000], ['b', 1, 7_200_000]]);
    expect(d.offers[0].parsed).toEqual({ in_audience: 'vip' });
    expect(d.rewardWithinMs).toBe(1_800_000);
  });

  it('refuses what cannot be answered at request time or is ambiguous, naming the field', () => {
    expect(refusal({ ...base, offers: [{ key: 'a' }, { key: 'a' }] })).toEqual({ code: 'duplicate_offer', path: 'offers[1].key' });
    expect(refusal({ ...base, condition: { all: [{ performed: 'Order Completed', within: '7d' }] } })).toEqual({ code: 'history_condition', path: 'condition' });
    expect(refusal({ ...base, offers: [{ key: 'a', condition: { catalog: 'p', key_from: { last_event: 'Viewed', property: 'sku' } } }] })).toEqual({ code: 'history_condition', path: 'offers[0].condition' });
    expect(refusal({ ...base, offers: [{ key: 'a', condition: { trait: 'x', gt: 'nope' } }] })?.code).toBe('invalid_condition');
    expect(refusal({ ...base, policy: { type: 'propensity' } })).toEqual({ code: 'missing_score', path: 'offers[0].score' });
    expect(refusal({ ...base, policy: { type: 'bandit', algorithm: 'linucb', features: [{ key: 'f', when: { trait: 'a', exists: true } }, { key: 'f', value: 'context.time.hour' }] } })).toEqual({ code: 'duplicate_feature', path: 'policy.features[1].key' });
    expect(refusal({ ...base, holdout: { percent: 10, control: 'first' } })).toEqual({ code: 'empty_holdout', path: 'holdout.control' });
  });

  it('gives the bandit models a signature that changes with the features only', () => {
    const bandit = (features: DecisionBody['policy'] & { type: 'bandit' }) => compileDecision({ ...base, policy: features }, 1).signature;
    const f = { type: 'bandit' as const, algorithm: 'linucb' as const, features: [{ key: 'hot', value: 'context.temp' }] };
    expect(bandit(f)).toBe(bandit({ ...f, alpha: 3 }));
    expect(bandit(f)).not.toBe(bandit({ ...f, features: [] }));
  });

  it('knows whether a condition reads consent (the profile read leaves consent out otherwise)', () => {
    expect(compileDecision(base, 1).readsConsent).toBe(false);
    // A trait or catalog field named subscribed is not a consent check.
    expect(compileDecision({ ...base, condition: { all: [{ trait: 'subscribed', eq: true }, { in_audience: 'vip' }] } }, 1).readsConsent).toBe(false);
    expect(compileDecision({ ...base, condition: { not: { subscribed: 'marketing' } } }, 1).readsConsent).toBe(true);
    expect(compileDecision({ ...base, offers: [{ key: 'a' }, { key: 'b', condition: { any: [{ in_audience: 'vip' }, { subscribed: 'news' }] } }] }, 1).readsConsent).toBe(true);
    const bandit: DecisionBody = { ...base, policy: { type: 'bandit', algorithm: 'linucb', features: [{ key: 'news', when: { subscribed: 'news' } }] } };
    expect(compileDecision(bandit, 1).readsConsent).toBe(true);
  });
});
