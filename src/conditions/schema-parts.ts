import { Type, type Static } from '@sinclair/typebox';
import { ISO_INSTANT_PATTERN } from './values.js';

/**
 * Schema pieces shared by node kinds. `x-expected` says, in the words of an error message, what a field must be;
 * parseCondition uses it so a refusal reads `all[2].within: must be a duration such as 24h`.
 */

/** Same grammar as core/duration.ts, which turns it into milliseconds. */
export const DURATION_PATTERN = '^[0-9]+(\\.[0-9]+)?(ms|s|m|h|d|w)$';

export const Duration = Type.String({ pattern: DURATION_PATTERN, 'x-expected': 'a duration such as 24h, 30m or 7d' });

export const IsoInstant = Type.String({
  pattern: ISO_INSTANT_PATTERN,
  'x-expected': 'an ISO instant such as 2024-01-31 or 2024-01-31T12:00:00Z',
});

/** A point in time: absolute, or relative to the instant of evaluation. */
export const Moment = Type.Union(
  [IsoInstant, Type.Object({ ago: Duration }, { additionalProperties: false }), Type.Object({ from_now: Duration }, { additionalProperties: false })],
  { 'x-expected': 'an ISO instant such as 2024-01-31T12:00:00Z, { ago: 30d } or { from_now: 7d }' },
);
export type Moment = Static<typeof Moment>;

export const Scalar = Type.Union([Type.String(), Type.Number(), Type.Boolean()], { 'x-expected': 'a string, number or boolean' });
export type Scalar = Static<typeof Scalar>;

/** A dotted path into a JSON object (`address.city`); each segment is an object key or an array index. */
export const FieldPath = Type.String({ pattern: '^[^.]+(\\.[^.]+)*$', 'x-expected': 'a field name or dotted path such as address.city' });

export const Name = Type.String({ minLength: 1, 'x-expected': 'a non-empty name' });
