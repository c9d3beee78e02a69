import { describe, expect, it } from 'vitest';
import { sightings, survive, type TraitObservation } from './survivorship.js';

const seen = (value: unknown, sourceId: string, count: number, first: number, last: number): TraitObservation => ({
  name: 'plan',
  value: JSON.stringify(value),
  sourceId,
  count,
  first: { sourceId, at: first, eventId: first, messageId: `m${first}` },
  last: { sourceId, at: last, eventId: last, messageId: `m${last}` },
});

const observations = [seen('free', 'web', 3, 10, 30), seen('pro', 'crm', 1, 20, 20), seen('team', 'web', 1, 40, 40), seen('free', 'crm', 1, 5, 5)];
const key = (id: string) => `key-${id}`;

describe('trait survivorship', () => {
  it('last: the latest event timestamp wins, with its lineage', () => {
    expect(survive(observations, { rule: 'last' }, key)).toEqual({ value: 'team', rule: 'last', lineage: { sourceId: 'web', at: 40, eventId: 40, messageId: 'm40' } });
  });

  it('first: the earliest value wins', () => {
    expect(survive(observations, { rule: 'first' }, key)).toMatchObject({ value: 'free', lineage: { sourceId: 'crm', at: 5 } });
  });

  it('most-frequent: counts add across sources; lineage is the latest sighting of the value', () => {
    expect(survive(observations, { rule: 'most-frequent' }, key)).toMatchObject({ value: 'free', lineage: { sourceId: 'web', at: 30 } });
  });

  it('source-priority: the most trusted source wins, latest first; unlisted sources rank last', () => {
    expect(survive(observations, { rule: 'source-priority', sources: ['key-crm', 'key-web'] }, key)).toMatchObject({ value: 'pro', lineage: { at: 20 } });
    expect(survive([seen('a', 'other', 1, 50, 50), seen('b', 'web', 1, 1, 1)], { rule: 'source-priority', sources: ['key-web'] }, key)).toMatchObject({ value: 'b' });
  });

  it('breaks timestamp ties by event order', () => {
    const tie = [seen('x', 'web', 1, 10, 10), { ...seen('y', 'web', 1, 10, 10), last: { sourceId: 'web', at: 10, eventId: 11, messageId: 'm11' } }];
    expect(survive(tie, { rule: 'last' }, key)?.value).toBe('y');
  });

  it('takes sightings from identify traits only, values JSON-encoded', () => {
    expect(sightings({ type: 'identify', traits: { plan: 'pro', address: { city: 'Paris' }, gone: null } })).toEqual([
      { name: 'plan', value: '"pro"' },
      { name: 'address', value: '{"city":"Paris"}' },
      { name: 'gone', value: 'null' },
    ]);
    expect(sightings({ type: 'track', traits: { plan: 'pro' } })).toEqual([]);
  });
});
