import { profileOnly } from '../../node-kind.js';
import { inAudienceReference } from './reference.js';
import type { InAudienceNode } from './schema.js';

/** State: none (bound 0). Only a profile change can move the answer; time alone never does. */
export const inAudienceStreaming = profileOnly<InAudienceNode>((node, input) => inAudienceReference(node, input.profile));
