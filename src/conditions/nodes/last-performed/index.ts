import type { NodeKind } from '../../node-kind.js';
import { occurrenceReference } from './reference.js';
import { checkOccurrence, LastPerformedNodeSchema, type LastPerformedNode } from './schema.js';
import { occurrenceSql } from './sql.js';
import { occurrenceStreaming, type OccurrenceState } from './streaming.js';

export type { LastPerformedNode } from './schema.js';

export const lastPerformedKind: NodeKind<LastPerformedNode, OccurrenceState> = {
  key: 'last_performed',
  schema: () => LastPerformedNodeSchema,
  check: checkOccurrence,
  reference: (node, input) => occurrenceReference(node, 'last', input),
  streaming: occurrenceStreaming<LastPerformedNode>('last'),
  sql: (node, ctx) => occurrenceSql(node, 'last', ctx),
};
