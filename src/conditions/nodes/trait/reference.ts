import { compareValue, readComparison } from '../../comparison.js';
import type { ProfileView } from '../../model.js';
import { pathSegments, valueAt } from '../../values.js';
import { profilePath, type ComputedNode, type ProfileSource, type TraitNode } from './schema.js';

export const profileValue = (node: TraitNode | ComputedNode, source: ProfileSource, profile: ProfileView): unknown =>
  valueAt(profile[source], pathSegments(profilePath(node)));

export const profileComparisonReference = (node: TraitNode | ComputedNode, source: ProfileSource, profile: ProfileView, now: number): boolean =>
  compareValue(profileValue(node, source, profile), readComparison(node), now);
