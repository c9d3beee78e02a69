import type { NodeKind } from '../../node-kind.js';
import { inAudienceReference } from './reference.js';
import { InAudienceNodeSchema, type InAudienceNode } from './schema.js';
import { inAudienceSql } from './sql.js';
import { inAudienceStreaming } from './streaming.js';

export type { InAudienceNode } from './schema.js';

export const inAudienceKind: NodeKind<InAudienceNode, null> = {
  key: 'in_audience',
  schema: () => InAudienceNodeSchema,
  reference: (node, input) => inAudienceReference(node, input.profile),
  streaming: inAudienceStreaming,
  sql: inAudienceSql,
};
