import { checkComparison } from '../../comparison.js';
import type { NodeKind } from '../../node-kind.js';
// A computed-trait comparison is a trait comparison that reads profile.computed; the four parts live in ../trait.
import { profileComparisonReference } from '../trait/reference.js';
import { ComputedNodeSchema, type ComputedNode } from '../trait/schema.js';
import { profileComparisonSql } from '../trait/sql.js';
import { profileComparisonStreaming } from '../trait/streaming.js';

export type { ComputedNode } from '../trait/schema.js';

export const computedKind: NodeKind<ComputedNode, null> = {
  key: 'computed',
  schema: () => ComputedNodeSchema,
  check: (node) => checkComparison(node),
  reference: (node, input) => profileComparisonReference(node, 'computed', input.profile, input.now),
  streaming: profileComparisonStreaming<ComputedNode>('computed'),
  sql: (node, ctx) => profileComparisonSql(node, 'computed', ctx),
};
