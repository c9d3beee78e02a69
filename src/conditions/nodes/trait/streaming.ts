import { comparisonNextChange, readComparison } from '../../comparison.js';
import { profileOnly } from '../../node-kind.js';
import { profileComparisonReference, profileValue } from './reference.js';
import type { ComputedNode, ProfileSource, TraitNode } from './schema.js';

/**
 * State: none (bound 0); the value is read from the profile when asked. A date comparison relative to now
 * (`before: { ago: 30d }`, `within: 7d`) changes when the trait's date crosses the moving boundary.
 */
export const profileComparisonStreaming = <N extends TraitNode | ComputedNode>(source: ProfileSource) =>
  profileOnly<N>(
    (node, input) => profileComparisonReference(node, source, input.profile, input.now),
    (node, input) => comparisonNextChange(profileValue(node, source, input.profile), readComparison(node), input.now),
  );
