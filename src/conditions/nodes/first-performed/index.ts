import type { NodeKind } from '../../node-kind.js';
// first_performed is last_performed reading the earliest occurrence; the four parts live in ../last-performed.
import { occurrenceReference } from '../last-performed/reference.js';
import { checkOccurrence, FirstPerformedNodeSchema, type FirstPerformedNode } from '../last-performed/schema.js';
import { occurrenceSql } from '../last-performed/sql.js';
import { occurrenceStreaming, type OccurrenceState } from '../last-performed/streaming.js';

export type { FirstPerformedNode } from '../last-performed/schema.js';

export const firstPerformedKind: NodeKind<FirstPerformedNode, OccurrenceState> = {
  key: 'first_performed',
  schema: () => FirstPerformedNodeSchema,
  check: checkOccurrence,
  reference: (node, input) => occurrenceReference(node, 'first', input),
  streaming: occurrenceStreaming<FirstPerformedNode>('first'),
  sql: (node, ctx) => occurrenceSql(node, 'first', ctx),
};
