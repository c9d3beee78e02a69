import { profileOnly } from '../../node-kind.js';
import { hasIdentifierReference } from './reference.js';
import type { HasIdentifierNode } from './schema.js';

/** State: none (bound 0). Only a profile change can move the answer; time alone never does. */
export const hasIdentifierStreaming = profileOnly<HasIdentifierNode>((node, input) => hasIdentifierReference(node, input.profile));
