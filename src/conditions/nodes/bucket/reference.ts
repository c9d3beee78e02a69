import type { ProfileView } from '../../model.js';
import { bucketOf } from '../../values.js';
import type { BucketNode } from './schema.js';

export function bucketReference(node: BucketNode, profile: ProfileView): boolean {
  const b = bucketOf(profile.id, node.bucket.salt);
  return (node.bucket.gte === undefined || b >= node.bucket.gte) && (node.bucket.lt === undefined || b < node.bucket.lt);
}
