import { profileOnly } from '../../node-kind.js';
import { subscribedReference } from './reference.js';
import type { SubscribedNode } from './schema.js';

/** State: none (bound 0). Only a profile change can move the answer; time alone never does. */
export const subscribedStreaming = profileOnly<SubscribedNode>((node, input) => subscribedReference(node, input.profile));
