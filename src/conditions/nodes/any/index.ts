import type { NodeKind, StreamingState } from '../../node-kind.js';
import { anyReference } from './reference.js';
import { anySchema, type AnyNode } from './schema.js';
import { anySql } from './sql.js';
import { anyStreaming } from './streaming.js';

export type { AnyNode } from './schema.js';

export const anyKind: NodeKind<AnyNode, StreamingState[]> = {
  key: 'any',
  schema: anySchema,
  children: (node) => node.any.map((condition, i) => ({ path: `any[${i}]`, condition })),
  reference: (node, _input, evaluate) => anyReference(node, evaluate),
  streaming: anyStreaming,
  sql: anySql,
};
