import { Type, type Static } from '@sinclair/typebox';
import { RelativeOperators } from '../../comparison.js';
import { FieldPath } from '../../schema-parts.js';

/** A comparison on a profile trait: `{ trait: email, exists: true }`, `{ trait: trial_ends_at, before: { from_now: 3d } }`. */
export const TraitNodeSchema = Type.Object(
  { trait: FieldPath, ...RelativeOperators },
  { additionalProperties: false, description: 'Compares a trait (dotted path into the profile traits) with one operator.' },
);
export type TraitNode = Static<typeof TraitNodeSchema>;

/** A comparison on a computed trait: `{ computed: lifetime_revenue, gte: 100 }`. */
export const ComputedNodeSchema = Type.Object(
  { computed: FieldPath, ...RelativeOperators },
  { additionalProperties: false, description: 'Compares a computed trait with one operator.' },
);
export type ComputedNode = Static<typeof ComputedNodeSchema>;

/** Where a profile comparison reads its value: the traits or the computed traits of the profile. */
export type ProfileSource = 'traits' | 'computed';

export const profilePath = (node: TraitNode | ComputedNode): string => ('trait' in node ? node.trait : node.computed);
