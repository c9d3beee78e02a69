import type { NodeKind } from '../../node-kind.js';
import { performedReference } from './reference.js';
import { checkPerformed, PerformedNodeSchema, type PerformedNode } from './schema.js';
import { performedSql } from './sql.js';
import { performedStreaming, type PerformedState } from './streaming.js';

export type { PerformedNode } from './schema.js';

export const performedKind: NodeKind<PerformedNode, PerformedState> = {
  key: 'performed',
  schema: () => PerformedNodeSchema,
  check: checkPerformed,
  reference: (node, input) => performedReference(node, input),
  streaming: performedStreaming,
  sql: performedSql,
};
