import fc from 'fast-check';
import type { Condition } from './condition.js';
import type { EventRecord, ProfileView } from './model.js';

/**
 * Random inputs for the agreement test. Domains are small on purpose, so that random draws collide: the same
 * value compared with eq, events exactly on window boundaries, dates exactly at `now - 24h`.
 */

export const BASE = Date.UTC(2024, 0, 10);
const STEP = 30 * 60_000;
export const DURATIONS = ['30m', '1h', '90m', '2h', '24h', '2d'];

/** Instants on a 30-minute grid around BASE, sometimes a millisecond off it. */
export const instant = fc.tuple(fc.integer({ min: -4, max: 40 }), fc.constantFrom(0, 0, 0, -1, 1)).map(([k, d]) => BASE + k * STEP + d);
const isoOf = (t: number) => new Date(t).toISOString();

const text = fc.constantFrom('a', 'b', 'ab', 'vip', 'p1', 'p2', 'p3', '', 'é', '😀x', 'ﬀ', 'VIP');
const dateValue = fc.oneof(
  instant.map(isoOf),
  instant,
  fc.constantFrom('2024-01-09', '2024-01-10', '2024-01-11', '2024-02-30', '2024-01-10T24:00:00Z', '2024-01-10T10:00:00.5Z', '2024-01-10T10:00:00+01:00', '2023-02-29', '2024-02-29'),
);
const scalar = fc.oneof(text, fc.integer({ min: -2, max: 5 }), fc.constantFrom(0.5, 2.5, -1.5), fc.boolean());
export const jsonValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: scalar },
  { weight: 2, arbitrary: dateValue },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.array(fc.oneof(text, fc.integer({ min: 0, max: 3 })), { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.record({ city: text }) },
);

const record = (keys: string[], value: fc.Arbitrary<unknown>) =>
  fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: keys.length }) as fc.Arbitrary<Record<string, unknown>>;

export const PROFILE_IDS = ['u1', 'u2', 'u3', 'u4'];
const COMPUTED_KEYS = ['ltv', 'score'];
const PROPERTY_KEYS = ['sku', 'total', 'tags', 'when'];
const EVENT_NAMES = ['A', 'B'];

export const event: fc.Arbitrary<EventRecord> = fc.record({
  type: fc.constant('track'),
  event: fc.option(fc.constantFrom(...EVENT_NAMES), { nil: undefined, freq: 8 }),
  timestamp: fc.integer({ min: 0, max: 24 }).map((k) => BASE + k * STEP),
  properties: fc.record({
    sku: fc.oneof(fc.constantFrom('p1', 'p2', 'p3'), jsonValue),
    total: fc.oneof(fc.integer({ min: -2, max: 5 }), jsonValue),
    tags: jsonValue,
    when: dateValue,
  }, { requiredKeys: [] }),
});

const profileOf = (id: string) =>
  fc.record({
    id: fc.constant(id),
    traits: fc.record(
      {
        plan: fc.oneof(text, jsonValue),
        age: fc.oneof(fc.integer({ min: -2, max: 5 }), jsonValue),
        tags: fc.oneof(fc.array(text, { maxLength: 3 }), jsonValue),
        signup: fc.oneof({ weight: 4, arbitrary: dateValue }, { weight: 1, arbitrary: jsonValue }),
        address: fc.oneof(fc.record({ city: text }), jsonValue),
        fav: fc.oneof(fc.constantFrom('p1', 'p2', 'VIP'), jsonValue),
      },
      { requiredKeys: [] },
    ) as fc.Arbitrary<Record<string, unknown>>,
    computed: fc.record({ ltv: fc.oneof(fc.integer({ min: -2, max: 5 }), jsonValue), score: fc.oneof(dateValue, jsonValue) }, { requiredKeys: [] }) as fc.Arbitrary<Record<string, unknown>>,
    identifiers: fc.uniqueArray(fc.constantFrom('email', 'phone', 'device'), { maxLength: 2 }).map((types) => types.map((type) => ({ type, value: `${type}-${id}` }))),
    audiences: fc.uniqueArray(fc.constantFrom('vip', 'churn'), { maxLength: 2 }),
    subscriptions: record(['email', 'sms'], fc.constantFrom('subscribed' as const, 'unsubscribed' as const)) as fc.Arbitrary<ProfileView['subscriptions']>,
  });

export interface World {
  profiles: ProfileView[];
  events: Map<string, EventRecord[]>;
  catalogRows: { catalog: string; key: string; row: Record<string, unknown> }[];
}

export const world: fc.Arbitrary<World> = fc
  .uniqueArray(fc.constantFrom(...PROFILE_IDS), { minLength: 1, maxLength: 4 })
  .chain((ids) =>
    fc.record({
      profiles: fc.tuple(...ids.map(profileOf)),
      events: fc.tuple(...ids.map(() => fc.array(event, { maxLength: 12 }))),
      catalogRows: fc.uniqueArray(
        fc.record({
          catalog: fc.constantFrom('products', 'stores'),
          key: fc.constantFrom('p1', 'p2', 'p3', 'VIP'),
          row: fc.record({ stock: fc.oneof(fc.integer({ min: -1, max: 3 }), jsonValue), ends: dateValue, name: text }, { requiredKeys: [] }),
        }),
        { maxLength: 6, selector: (r) => `${r.catalog}/${r.key}` },
      ),
    }),
  )
  .map(({ profiles, events, catalogRows }) => ({ profiles, events: new Map(profiles.map((p, i) => [p.id, events[i]])), catalogRows }));

// Conditions.

const duration = fc.constantFrom(...DURATIONS);
const moment = fc.oneof(instant.map(isoOf), duration.map((ago) => ({ ago })), duration.map((from_now) => ({ from_now })));
const sortedPair = fc.tuple(fc.integer({ min: -2, max: 5 }), fc.integer({ min: -2, max: 5 })).map(([a, b]) => (a <= b ? [a, b] : [b, a]));

const valueComparison = fc.oneof(
  fc.record({ eq: scalar }),
  fc.record({ neq: scalar }),
  fc.constantFrom('gt', 'gte', 'lt', 'lte').chain((op) => fc.oneof(fc.integer({ min: -2, max: 5 }), fc.constant(0.5)).map((n) => ({ [op]: n }))),
  sortedPair.map((between) => ({ between })),
  fc.array(scalar, { minLength: 1, maxLength: 3 }).map((list) => ({ in: list })),
  text.map((contains) => ({ contains })),
  text.map((starts_with) => ({ starts_with })),
  fc.boolean().map((exists) => ({ exists })),
);
/** Comparisons on profile values and catalog rows, including dates relative to now. */
const relativeComparison = fc.oneof(
  { weight: 3, arbitrary: valueComparison },
  { weight: 3, arbitrary: fc.oneof(moment.map((before) => ({ before })), moment.map((after) => ({ after })), duration.map((within) => ({ within }))) },
);
/** Comparisons on event properties: absolute dates only. */
const absoluteComparison = fc.oneof(valueComparison, instant.map((t) => ({ before: isoOf(t) })), instant.map((t) => ({ after: isoOf(t) })));

const propertyFilters = fc.array(
  fc.tuple(fc.constantFrom(...PROPERTY_KEYS), absoluteComparison).map(([property, c]) => ({ property, ...c })),
  { maxLength: 2 },
);
const countComparison = fc.oneof(
  fc.constantFrom('eq', 'gt', 'gte', 'lt', 'lte').chain((op) => fc.integer({ min: 0, max: 3 }).map((n) => ({ [op]: n }))),
  fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })).map(([a, b]) => ({ between: a <= b ? [a, b] : [b, a] })),
);
const window = fc.oneof(
  fc.constant({}),
  duration.map((within) => ({ within })),
  fc.tuple(instant, instant).filter(([a, b]) => a !== b).map(([a, b]) => ({ between: [isoOf(Math.min(a, b)), isoOf(Math.max(a, b))] })),
);
const optionalWhere = fc.option(propertyFilters, { nil: undefined, freq: 3 }).map((where) => (where === undefined ? {} : { where }));

const dateComparison = fc.oneof(moment.map((before) => ({ before })), moment.map((after) => ({ after })), duration.map((within) => ({ within })));

const leaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.tuple(fc.constantFrom('plan', 'age', 'tags', 'signup', 'address.city', 'fav'), relativeComparison).map(([trait, c]) => ({ trait, ...c })),
  { weight: 2, arbitrary: dateComparison.map((c) => ({ trait: 'signup', ...c })) },
  fc.tuple(fc.constantFrom(...COMPUTED_KEYS), relativeComparison).map(([computed, c]) => ({ computed, ...c })),
  { weight: 4, arbitrary: fc
    .tuple(fc.constantFrom(...EVENT_NAMES), optionalWhere, fc.option(countComparison, { nil: undefined }), window)
    .map(([performed, where, count, w]) => ({ performed, ...where, ...(count ? { count } : {}), ...w })) },
  { weight: 2, arbitrary: fc
    .tuple(
      fc.constantFrom('first_performed', 'last_performed'),
      fc.constantFrom(...EVENT_NAMES),
      optionalWhere,
      fc.dictionary(fc.constantFrom('gt', 'gte', 'lt', 'lte'), duration, { minKeys: 1, maxKeys: 2 }),
    )
    .map(([key, name, where, ago]) => ({ [key]: name, ...where, ago })) },
  fc.constantFrom('vip', 'churn', 'other').map((in_audience) => ({ in_audience })),
  fc.constantFrom('email', 'phone', 'other').map((has_identifier) => ({ has_identifier })),
  fc.constantFrom('email', 'sms', 'other').map((subscribed) => ({ subscribed })),
  fc
    .tuple(
      fc.constantFrom('products', 'stores'),
      fc.oneof(fc.constant({ trait: 'fav' }), fc.constantFrom(...EVENT_NAMES).map((last_event) => ({ last_event, property: 'sku' }))),
      fc.option(fc.array(fc.tuple(fc.constantFrom('stock', 'ends', 'name'), relativeComparison).map(([field, c]) => ({ field, ...c })), { maxLength: 2 }), { nil: undefined }),
    )
    .map(([catalog, key_from, where]) => ({ catalog, key_from, ...(where ? { where } : {}) })),
  fc
    .tuple(fc.constantFrom('s1', 's2'), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }), fc.constantFrom('gte', 'lt', 'both'))
    .filter(([, a, b, which]) => which !== 'both' || a < b)
    .map(([salt, a, b, which]) => ({ bucket: { salt, ...(which === 'lt' ? { lt: b } : { gte: a }), ...(which === 'both' ? { lt: b } : {}) } })),
);

export const condition: fc.Arbitrary<Condition> = fc.letrec<{ node: unknown }>((tie) => ({
  node: fc.oneof(
    { maxDepth: 3, depthIdentifier: 'condition' },
    { weight: 5, arbitrary: leaf },
    { weight: 1, arbitrary: fc.array(tie('node'), { maxLength: 3 }).map((all) => ({ all })) },
    { weight: 1, arbitrary: fc.array(tie('node'), { maxLength: 3 }).map((any) => ({ any })) },
    { weight: 1, arbitrary: tie('node').map((not) => ({ not })) },
  ),
})).node as fc.Arbitrary<Condition>;

/** Evaluation instants: anywhere on the grid (often exactly on a boundary), a millisecond either side, or between. */
export const evaluationTimes = fc.array(
  fc.oneof({ weight: 3, arbitrary: instant }, { weight: 1, arbitrary: fc.integer({ min: BASE - 2 * 3_600_000, max: BASE + 3 * 86_400_000 }) }),
  { minLength: 1, maxLength: 3 },
);
