import { describe, expect, it } from 'vitest';
import { checkExposure, expose } from './exposure.js';

const profile = { audiences: ['vip', 'churn_risk'], traits: { email: 'ada@example.com', plan: 'pro' }, computed: { clv: 120, p_churn: 0.3 } };

describe('exposure', () => {
  it('exposes nothing without settings, and only what is listed with them', () => {
    expect(expose(undefined, profile)).toEqual({ audiences: [], traits: {}, computed: {} });
    expect(expose({ audiences: ['vip'], computed: ['clv'] }, profile)).toEqual({ audiences: ['vip'], traits: {}, computed: { clv: 120 } });
    expect(expose({ audiences: ['*'], computed: ['*'] }, profile)).toEqual({ audiences: ['vip', 'churn_risk'], traits: {}, computed: { clv: 120, p_churn: 0.3 } });
  });

  it('returns profile traits only when personal data is allowed', () => {
    expect(expose({ traits: ['plan'] }, profile).traits).toEqual({});
    expect(expose({ traits: ['plan'], allowPersonalData: true }, profile).traits).toEqual({ plan: 'pro' });
    expect(() => checkExposure({ traits: ['email'] }, new Set())).toThrow(/allowPersonalData/);
    expect(() => checkExposure({ audiences: ['vip', 'nope'] }, new Set(['vip']))).toThrow(/audiences\[1\]: audience 'nope' does not exist/);
    expect(checkExposure({ audiences: ['*'], traits: ['plan'], allowPersonalData: true }, new Set())).toEqual({ audiences: ['*'], traits: ['plan'], allowPersonalData: true });
  });
});
