import fc from 'fast-check';
import type { EventRecord } from '../conditions/model.js';
import { COMPUTE_KINDS } from './definition.js';

/**
 * Random inputs for the traits agreement tests. Domains are small so draws collide: equal values (ties for
 * most_frequent, first, last), several events at one instant, events exactly on window boundaries.
 */

export const BASE = Date.UTC(2024, 0, 10);
const STEP = 30 * 60_000;
export const PROFILE_IDS = ['u1', 'u2', 'u3'];
const EVENT_NAMES = ['A', 'B'];
const DURATIONS = ['30m', '1h', '90m', '24h', '2d'];

/**
 * Numbers: integers and halves (sums exact in any order, so SQL must match exactly), and a few decimals whose sums
 * round (the documented tolerance of SQL sums).
 */
const number = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: -3, max: 6 }) },
  { weight: 2, arbitrary: fc.constantFrom(0.5, 2.5, -1.5) },
  { weight: 1, arbitrary: fc.constantFrom(0.1, 0.2, 19.99, 1e-7, 12345678.9) },
);
const text = fc.constantFrom('a', 'b', 'ab', 'B', '', 'é', '😀', 'ﬀ', '5');
const value: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: number },
  { weight: 4, arbitrary: text },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constantFrom([1], { x: 1 }, []) },
);

export const event: fc.Arbitrary<EventRecord> = fc.record({
  type: fc.constantFrom('track', 'track', 'track', 'track', 'page'),
  event: fc.option(fc.constantFrom(...EVENT_NAMES), { nil: undefined, freq: 6 }),
  timestamp: fc.integer({ min: 0, max: 24 }).map((k) => BASE + k * STEP),
  properties: fc.record(
    {
      total: fc.oneof({ weight: 3, arbitrary: number }, { weight: 1, arbitrary: value }),
      sku: fc.oneof({ weight: 3, arbitrary: fc.constantFrom('p1', 'p2', 'p3') }, { weight: 2, arbitrary: value }),
      info: fc.oneof(fc.record({ tier: value }, { requiredKeys: [] }), value),
    },
    { requiredKeys: [] },
  ),
});

export interface TraitWorld {
  profiles: string[];
  events: Map<string, EventRecord[]>;
}

export const world: fc.Arbitrary<TraitWorld> = fc
  .uniqueArray(fc.constantFrom(...PROFILE_IDS), { minLength: 1, maxLength: 3 })
  .chain((ids) => fc.tuple(fc.constant(ids), fc.tuple(...ids.map(() => fc.array(event, { maxLength: 14 })))))
  .map(([ids, events]) => ({ profiles: ids, events: new Map(ids.map((id, i) => [id, events[i]])) }));

const property = fc.constantFrom('total', 'total', 'sku', 'sku', 'info.tier', 'info');
const filter = fc.oneof(
  fc.constantFrom('sku', 'total').chain((p) => fc.oneof(fc.constantFrom('p1', 'p2').map((eq) => ({ property: p, eq })), fc.integer({ min: -1, max: 4 }).map((gte) => ({ property: p, gte })))),
  fc.boolean().map((exists) => ({ property: 'info.tier', exists })),
);

const compute = fc.constantFrom(...COMPUTE_KINDS).chain((kind): fc.Arbitrary<Record<string, unknown>> => {
  switch (kind) {
    case 'count':
      return fc.constant({ count: true });
    case 'since_first':
    case 'since_last':
      return fc.constantFrom('minutes', 'hours', 'days').map((unit) => ({ [kind]: unit }));
    case 'most_frequent':
    case 'unique':
    case 'unique_count':
      return fc.tuple(property, fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined, freq: 2 })).map(([p, limit]) => ({ [kind]: p, ...(limit ? { limit } : {}) }));
    case 'sum':
    case 'avg':
    case 'min':
    case 'max':
      return fc.constantFrom('total', 'total', 'total', 'sku', 'info.tier').map((p) => ({ [kind]: p }));
    default:
      return property.map((p) => ({ [kind]: p }));
  }
});

let keys = 0;
export const definition: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    event: fc.option(fc.constantFrom(...EVENT_NAMES), { nil: undefined, freq: 3 }),
    where: fc.option(fc.array(filter, { minLength: 1, maxLength: 2 }), { nil: undefined, freq: 3 }),
    within: fc.option(fc.constantFrom(...DURATIONS), { nil: undefined, freq: 2 }),
    compute,
  })
  .map((d) => ({ key: `t${++keys % 1000}`, ...Object.fromEntries(Object.entries(d).filter(([, v]) => v !== undefined)) }));

/** Instants: on the event grid (often a window boundary away from an event), a millisecond either side, or anywhere. */
export const evaluationTimes = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: fc.tuple(fc.integer({ min: 0, max: 40 }), fc.constantFrom(0, 0, -1, 1)).map(([k, d]) => BASE + k * STEP + d) },
    { weight: 1, arbitrary: fc.integer({ min: BASE, max: BASE + 4 * 86_400_000 }) },
  ),
  { minLength: 1, maxLength: 3 },
);

/** A small deterministic generator, for splitting and shuffling histories from one drawn seed. */
export function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}
