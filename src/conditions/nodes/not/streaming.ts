import type { StreamingKind, StreamingState } from '../../node-kind.js';
import type { NotNode } from './schema.js';

/** State: the nested condition's state. Bound: the child's. */
export const notStreaming: StreamingKind<NotNode, StreamingState> = {
  init: (node, engine) => engine.init(node.not),
  onEvent: (node, state, event, engine) => engine.onEvent(node.not, state, event),
  merge: (node, a, b, engine) => engine.merge(node.not, a, b),
  value: (node, state, input, engine) => !engine.value(node.not, state, input),
  nextChange: (node, state, input, engine) => engine.nextChange(node.not, state, input),
};
