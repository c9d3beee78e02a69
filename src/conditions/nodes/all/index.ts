import type { NodeKind, StreamingState } from '../../node-kind.js';
import { allReference } from './reference.js';
import { allSchema, type AllNode } from './schema.js';
import { allSql } from './sql.js';
import { allStreaming } from './streaming.js';

export type { AllNode } from './schema.js';

export const allKind: NodeKind<AllNode, StreamingState[]> = {
  key: 'all',
  schema: allSchema,
  children: (node) => node.all.map((condition, i) => ({ path: `all[${i}]`, condition })),
  reference: (node, _input, evaluate) => allReference(node, evaluate),
  streaming: allStreaming,
  sql: allSql,
};
