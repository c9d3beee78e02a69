import type { NodeKind, StreamingState } from '../../node-kind.js';
import { notReference } from './reference.js';
import { notSchema, type NotNode } from './schema.js';
import { notSql } from './sql.js';
import { notStreaming } from './streaming.js';

export type { NotNode } from './schema.js';

export const notKind: NodeKind<NotNode, StreamingState> = {
  key: 'not',
  schema: notSchema,
  children: (node) => [{ path: 'not', condition: node.not }],
  reference: (node, _input, evaluate) => notReference(node, evaluate),
  streaming: notStreaming,
  sql: notSql,
};
