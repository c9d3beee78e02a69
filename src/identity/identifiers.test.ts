import { describe, expect, it } from 'vitest';
import type { Message } from '../collect/message.js';
import { extractIdentity } from './identifiers.js';
import { compileIdentityRules, defaultIdentityRules } from './rules.js';

const message = (m: Partial<Message>): Message => ({ type: 'track', messageId: 'm', context: {}, integrations: {}, timestamp: '2026-01-01T00:00:00.000Z', receivedAt: '2026-01-01T00:00:00.000Z', ...m });

describe('identifiers of a message', () => {
  it('reads every kind in a fixed order, normalising email and phone', () => {
    const identity = extractIdentity(
      7,
      message({
        type: 'identify',
        userId: ' u-1 ',
        anonymousId: 'a-1',
        traits: { email: '  Ada@Example.COM ', phone: '(415) 555-0132', crm_id: 'C-9' },
        context: { device: { id: 'dev-1' }, externalIds: [{ id: 'GA.1.2', type: 'GA_Client_Id', collection: 'users', encoding: 'none' }, { id: 'x', type: 'not a type!' }] },
      }),
      compileIdentityRules({ key: 'default', traitIdentifiers: [{ path: 'traits.crm_id', type: 'crm_id' }] }),
    );
    expect(identity).toEqual({
      eventId: 7,
      identifiers: [
        { type: 'user_id', value: 'u-1' },
        { type: 'anonymous_id', value: 'a-1' },
        { type: 'email', value: 'ada@example.com' },
        { type: 'phone', value: '+14155550132' },
        { type: 'device_id', value: 'dev-1' },
        { type: 'ga_client_id', value: 'GA.1.2' },
        { type: 'crm_id', value: 'C-9' },
      ],
    });
  });

  it('uses the configured default region for national phone numbers, and drops impossible ones', () => {
    const fr = compileIdentityRules({ key: 'default', phoneRegion: 'FR' });
    expect(extractIdentity(1, message({ context: { traits: { phone: '06 12 34 56 78' } } }), fr).identifiers).toEqual([{ type: 'phone', value: '+33612345678' }]);
    expect(extractIdentity(1, message({ context: { traits: { phone: '12' } } }), fr).identifiers).toEqual([]);
  });

  it('skips blocked values: defaults and configured ones', () => {
    const rules = defaultIdentityRules();
    const blocked = ['', '  ', 'null', 'NULL', 'undefined', 'Anonymous', '-1', '0', '000-000', '00000000-0000-0000-0000-000000000000', 'x'.repeat(1025)];
    for (const value of blocked) expect(extractIdentity(1, message({ userId: value }), rules).identifiers, value).toEqual([]);
    expect(extractIdentity(1, message({ userId: 'x'.repeat(1024) }), rules).identifiers).toHaveLength(1);
    const custom = compileIdentityRules({ key: 'default', blocked: { values: ['guest'], patterns: ['^test-'] } });
    expect(extractIdentity(1, message({ userId: 'GUEST', anonymousId: 'test-1', context: { device: { id: 'null' } } }), custom).identifiers).toEqual([{ type: 'device_id', value: 'null' }]);
  });

  it('returns an alias previousId apart, and no identifier twice', () => {
    const identity = extractIdentity(3, message({ type: 'alias', userId: 'u', previousId: 'old', anonymousId: 'u' }), defaultIdentityRules());
    expect(identity).toEqual({ eventId: 3, identifiers: [{ type: 'user_id', value: 'u' }, { type: 'anonymous_id', value: 'u' }], previousId: 'old' });
    expect(extractIdentity(3, message({ type: 'alias', userId: 'u', previousId: 'null' }), defaultIdentityRules()).previousId).toBeUndefined();
  });

  it('refuses rules that list a type twice or lack the sources of a source-priority trait', () => {
    expect(() => compileIdentityRules({ key: 'default', priority: ['email', 'email'] })).toThrow(/priority lists 'email' twice/);
    expect(() => compileIdentityRules({ key: 'default', survivorship: { traits: { plan: { rule: 'source-priority' } } } })).toThrow(/survivorship.traits.plan.sources is required/);
    expect(() => compileIdentityRules({ key: 'default', limits: { user_id: 0 } })).toThrow();
    expect(() => compileIdentityRules({ key: 'default', limits: { 'User ID': 2 } })).toThrow(/limits/);
    expect(() => compileIdentityRules({ key: 'default', survivorship: { traits: { plan: { rule: 'newest' } } } })).toThrow('survivorship.traits.plan.rule must be one of "last", "first", "most-frequent", "source-priority"');
  });
});
