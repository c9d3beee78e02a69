import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import type { DictionaryEntry } from './dictionary.js';
import {
  Classifications, deprecationWarnings, hashForAudience, maskExport, maskMessage, maskProfile, maskValue, payloadForDestination, profileForDestination, roleOf, traitsForDestination,
} from './governance.js';

const entries: DictionaryEntry[] = [
  { key: 'email', trait: 'email', classification: 'pii', piiType: 'email' },
  { key: 'phone', trait: 'phone', classification: 'pii', piiType: 'phone', allow: { channels: ['crm'] } },
  { key: 'street', trait: 'address.street', classification: 'pii', piiType: 'address' },
  { key: 'score', computed: 'credit_score', classification: 'sensitive' },
  { key: 'plan', trait: 'plan', classification: 'none' },
  { key: 'signup_email', event: 'Signed Up', property: 'email', classification: 'pii', piiType: 'email' },
  { key: 'any_comment', property: 'comment', classification: 'pii', piiType: 'free_text' },
  { key: 'old_total', event: 'Order Completed', property: 'total', status: 'deprecated', replacement: 'revenue' },
];
const c = new Classifications(entries);

describe('masking', () => {
  it('masks values keeping a little shape', () => {
    expect(maskValue('Jane.Doe@example.com', 'email')).toBe('J***@***.com');
    expect(maskValue('not-an-address', 'email')).toBe('***');
    expect(maskValue('+33612345678', 'phone')).toBe('***78');
    expect(maskValue('123', 'phone')).toBe('***');
    expect(maskValue('Jane', 'name')).toBe('J***');
    expect(maskValue('12 rue des Lilas', 'address')).toBe('***');
    expect(maskValue(42)).toBe('***');
    expect(maskValue(null, 'email')).toBeNull();
  });

  it('reads the role; no role is the admin token, an unknown one is a viewer', () => {
    const req = (role: unknown) => ({ role }) as unknown as FastifyRequest;
    expect([roleOf(req(undefined)), roleOf(req('admin')), roleOf(req('editor')), roleOf(req('viewer')), roleOf(req('owner'))]).toEqual(['admin', 'admin', 'editor', 'viewer', 'viewer']);
  });

  it('a property entry of the event wins over one for any event', () => {
    const both = new Classifications([{ key: 'a', property: 'email', classification: 'pii', piiType: 'email' }, { key: 'b', event: 'Test', property: 'email', classification: 'none' }]);
    expect(both.property('Test', 'email')?.key).toBe('b');
    expect(both.property('Other', 'email')?.key).toBe('a');
  });

  it('masks a track message, an identify message and context traits and identifiers, leaving the original alone', () => {
    const track = { type: 'track', event: 'Signed Up', properties: { email: 'a@b.io', plan: 'pro', notes: [{ comment: 'call me' }], comment: 'hi' }, context: { traits: { email: 'a@b.io' }, externalIds: [{ id: '+33612345678', type: 'phone' }] } };
    const masked = maskMessage(track, c);
    expect(masked.properties).toEqual({ email: 'a***@***.io', plan: 'pro', notes: [{ comment: 'call me' }], comment: '***' });
    expect(masked.context).toEqual({ traits: { email: 'a***@***.io' }, externalIds: [{ id: '***78', type: 'phone' }] });
    expect(track.properties.email).toBe('a@b.io');
    // Another event's `email` property is not classified.
    expect(maskMessage({ type: 'track', event: 'Other', properties: { email: 'a@b.io' } }, c).properties).toEqual({ email: 'a@b.io' });
    const identify = maskMessage({ type: 'identify', traits: { email: 'a@b.io', address: { street: '1 Main St', city: 'Oslo' } } }, c);
    expect(identify.traits).toEqual({ email: 'a***@***.io', address: { street: '***', city: 'Oslo' } });
  });

  it('masks a profile: traits, computed traits and identifiers of personal types', () => {
    const p = maskProfile({ id: 'p1', traits: { email: 'a@b.io', plan: 'pro' }, computed: { credit_score: 700, ltv: 5 }, identifiers: [{ type: 'email', value: 'a@b.io' }, { type: 'user_id', value: 'u1' }] }, c);
    expect(p).toEqual({ id: 'p1', traits: { email: 'a***@***.io', plan: 'pro' }, computed: { credit_score: '***', ltv: 5 }, identifiers: [{ type: 'email', value: 'a***@***.io' }, { type: 'user_id', value: 'u1' }] });
  });

  it('masks a profile export: profile, identifiers, trait history, events and quarantine', () => {
    const exported = {
      profile: { id: 'p1', traits: { email: 'a@b.io' } },
      identifiers: [{ type: 'email', value: 'a@b.io', firstSeen: 'x' }],
      traits: [{ name: 'email', value: 'a@b.io', count: 2 }, { name: 'address', value: { street: '1 Main St', city: 'Oslo' } }, { name: 'plan', value: 'pro' }],
      events: [{ id: 1, message: { type: 'track', event: 'Signed Up', properties: { email: 'a@b.io' } } }],
      quarantine: [{ id: 2, message: { type: 'identify', traits: { phone: '+33612345678' } } }],
      merges: [],
    };
    expect(maskExport(exported, c)).toEqual({
      profile: { id: 'p1', traits: { email: 'a***@***.io' } },
      identifiers: [{ type: 'email', value: 'a***@***.io', firstSeen: 'x' }],
      traits: [{ name: 'email', value: 'a***@***.io', count: 2 }, { name: 'address', value: { street: '***', city: 'Oslo' } }, { name: 'plan', value: 'pro' }],
      events: [{ id: 1, message: { type: 'track', event: 'Signed Up', properties: { email: 'a***@***.io' } } }],
      quarantine: [{ id: 2, message: { type: 'identify', traits: { phone: '***78' } } }],
      merges: [],
    });
  });
});

describe('destinations', () => {
  const traits = { email: 'a@b.io', phone: '+33612345678', plan: 'pro', address: { street: '1 Main St', city: 'Oslo' } };

  it('leaves personal traits out unless the channel needs them or is allowed', () => {
    expect(traitsForDestination(traits, c, { key: 'hook', type: 'webhook' })).toEqual({ plan: 'pro', address: { city: 'Oslo' } });
    expect(traitsForDestination(traits, c, { key: 'crm', type: 'webhook' })).toEqual({ phone: '+33612345678', plan: 'pro', address: { city: 'Oslo' } });
    expect(traitsForDestination(traits, c, { key: 'mail', type: 'email' })).toEqual({ email: 'a@b.io', plan: 'pro', address: { city: 'Oslo' } });
    expect(traitsForDestination(traits, c, { key: 'text', type: 'sms' })).toEqual({ phone: '+33612345678', plan: 'pro', address: { city: 'Oslo' } });
    const open = new Classifications([{ key: 'email', trait: 'email', classification: 'pii', piiType: 'email', allow: { exports: true } }]);
    expect(traitsForDestination(traits, open, { key: 'hook', type: 'webhook' })).toEqual(traits);
  });

  it('filters a profile: computed traits and identifiers of personal trait types too', () => {
    const profile = { id: 'p1', traits, computed: { credit_score: 700, ltv: 5 }, identifiers: [{ type: 'email', value: 'a@b.io' }, { type: 'phone', value: '+33612345678' }, { type: 'user_id', value: 'u1' }], subscriptions: {} };
    expect(profileForDestination(profile, c, { key: 'hook', type: 'webhook' })).toEqual({ id: 'p1', traits: { plan: 'pro', address: { city: 'Oslo' } }, computed: { ltv: 5 }, identifiers: [{ type: 'user_id', value: 'u1' }], subscriptions: {} });
    const ads = profileForDestination(profile, c, { key: 'ads', type: 'audience_export' });
    expect(ads.identifiers.map((i) => i.type)).toEqual(['email', 'phone', 'user_id']);
    // Nothing classified: the same object.
    expect(profileForDestination(profile, new Classifications([]), { key: 'hook', type: 'webhook' })).toBe(profile);
  });

  it('filters the triggering event in a payload, flat or nested', () => {
    expect(payloadForDestination({ event: { email: 'a@b.io', source: 'footer' }, event_name: 'Signed Up', x: 1 }, c, { key: 'hook', type: 'webhook' })).toEqual({ event: { source: 'footer' }, event_name: 'Signed Up', x: 1 });
    expect(payloadForDestination({ event: { event: 'Signed Up', properties: { email: 'a@b.io', comment: 'hey', n: 1 } } }, c, { key: 'hook', type: 'webhook' })).toEqual({ event: { event: 'Signed Up', properties: { n: 1 } } });
    expect(payloadForDestination({ event: { event: 'Other', properties: { email: 'a@b.io' } } }, c, { key: 'hook', type: 'webhook' })).toEqual({ event: { event: 'Other', properties: { email: 'a@b.io' } } });
  });

  it('hashes for ad audiences as the platforms specify (SHA-256 of the normalised value)', () => {
    // Expected digests computed with coreutils: printf '%s' test@example.com | sha256sum, and so on.
    expect(hashForAudience('  Test@Example.com ', 'email')).toBe('973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b');
    expect(hashForAudience('06 12 34 56 78', 'phone', 'FR')).toBe('42d573cfc315801d4cd8eddd5416b416a0bf298b9b9e12d6b07442c91db42bd8');
    expect(hashForAudience(' José ', 'name')).toBe('1ec4ed037766aa181d8840ad04b9fc6e195fd37dedc04c98a5767a67d3758ece');
    expect(hashForAudience('12', 'phone', 'FR')).toBeUndefined();
  });
});

describe('deprecation', () => {
  it('warns for each place a definition uses a deprecated entry, with the replacement', () => {
    const audience = { key: 'a', condition: { any: [{ performed: 'Order Completed', where: [{ property: 'total', gte: 10 }] }, { performed: 'Order Completed', where: [{ property: 'revenue', gte: 10 }] }] } };
    expect(deprecationWarnings('audiences', 'a', audience, c)).toEqual([
      { path: 'condition.any[0].where[0].property', message: "condition.any[0].where[0].property: property 'total' of 'Order Completed' is deprecated (dictionary entry 'old_total'); use revenue instead" },
    ]);
    expect(deprecationWarnings('audiences', 'b', { key: 'b', condition: { performed: 'Order Completed' } }, c)).toEqual([]);
  });
});
