import type { NodeKind } from '../../node-kind.js';
import { hasIdentifierReference } from './reference.js';
import { HasIdentifierNodeSchema, type HasIdentifierNode } from './schema.js';
import { hasIdentifierSql } from './sql.js';
import { hasIdentifierStreaming } from './streaming.js';

export type { HasIdentifierNode } from './schema.js';

export const hasIdentifierKind: NodeKind<HasIdentifierNode, null> = {
  key: 'has_identifier',
  schema: () => HasIdentifierNodeSchema,
  reference: (node, input) => hasIdentifierReference(node, input.profile),
  streaming: hasIdentifierStreaming,
  sql: hasIdentifierSql,
};
