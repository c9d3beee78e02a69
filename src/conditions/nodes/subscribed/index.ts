import type { NodeKind } from '../../node-kind.js';
import { subscribedReference } from './reference.js';
import { SubscribedNodeSchema, type SubscribedNode } from './schema.js';
import { subscribedSql } from './sql.js';
import { subscribedStreaming } from './streaming.js';

export type { SubscribedNode } from './schema.js';

export const subscribedKind: NodeKind<SubscribedNode, null> = {
  key: 'subscribed',
  schema: () => SubscribedNodeSchema,
  reference: (node, input) => subscribedReference(node, input.profile),
  streaming: subscribedStreaming,
  sql: subscribedSql,
};
