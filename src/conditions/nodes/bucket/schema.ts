import { Type, type Static } from '@sinclair/typebox';
import type { NodeProblem } from '../../node-kind.js';

const Percent = Type.Integer({ minimum: 0, maximum: 100, 'x-expected': 'a whole number from 0 to 100' });

/**
 * `{ bucket: { salt: spring-test, lt: 10 } }`: the profile's deterministic random bucket (0-99, from a hash of
 * the profile id and the salt) is in [gte, lt). The same salt always splits profiles the same way; a new salt
 * draws a new, independent split.
 */
export const BucketNodeSchema = Type.Object(
  {
    bucket: Type.Object(
      { salt: Type.String({ minLength: 1, 'x-expected': 'a non-empty salt' }), gte: Type.Optional(Percent), lt: Type.Optional(Percent) },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, description: 'The profile falls in a range of deterministic random buckets 0-99.' },
);
export type BucketNode = Static<typeof BucketNodeSchema>;

export function checkBucket(node: BucketNode): NodeProblem | undefined {
  const { gte, lt } = node.bucket;
  if (gte === undefined && lt === undefined) return { path: 'bucket', message: 'needs gte, lt or both' };
  if (gte !== undefined && lt !== undefined && gte >= lt) return { path: 'bucket', message: 'needs gte < lt' };
  return undefined;
}
