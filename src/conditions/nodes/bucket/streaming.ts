import { profileOnly } from '../../node-kind.js';
import { bucketReference } from './reference.js';
import type { BucketNode } from './schema.js';

/** State: none (bound 0). The bucket depends on the profile id only, so it never changes with time. */
export const bucketStreaming = profileOnly<BucketNode>((node, input) => bucketReference(node, input.profile));
