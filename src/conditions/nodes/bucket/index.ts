import type { NodeKind } from '../../node-kind.js';
import { bucketReference } from './reference.js';
import { BucketNodeSchema, checkBucket, type BucketNode } from './schema.js';
import { bucketSql } from './sql.js';
import { bucketStreaming } from './streaming.js';

export type { BucketNode } from './schema.js';

export const bucketKind: NodeKind<BucketNode, null> = {
  key: 'bucket',
  schema: () => BucketNodeSchema,
  check: checkBucket,
  reference: (node, input) => bucketReference(node, input.profile),
  streaming: bucketStreaming,
  sql: bucketSql,
};
