import { checkComparison } from '../../comparison.js';
import type { NodeKind } from '../../node-kind.js';
import { profileComparisonReference } from './reference.js';
import { TraitNodeSchema, type TraitNode } from './schema.js';
import { profileComparisonSql } from './sql.js';
import { profileComparisonStreaming } from './streaming.js';

export type { TraitNode } from './schema.js';

export const traitKind: NodeKind<TraitNode, null> = {
  key: 'trait',
  schema: () => TraitNodeSchema,
  check: (node) => checkComparison(node),
  reference: (node, input) => profileComparisonReference(node, 'traits', input.profile, input.now),
  streaming: profileComparisonStreaming<TraitNode>('traits'),
  sql: (node, ctx) => profileComparisonSql(node, 'traits', ctx),
};
