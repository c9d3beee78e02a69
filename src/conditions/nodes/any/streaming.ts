import type { StreamingKind, StreamingState } from '../../node-kind.js';
import { earliest } from '../../values.js';
import type { AnyNode } from './schema.js';

/** State: one state per nested condition, in order. Bound: the sum of the children's bounds. */
export const anyStreaming: StreamingKind<AnyNode, StreamingState[]> = {
  init: (node, engine) => node.any.map((c) => engine.init(c)),
  onEvent: (node, state, event, engine) => node.any.map((c, i) => engine.onEvent(c, state[i], event)),
  merge: (node, a, b, engine) => node.any.map((c, i) => engine.merge(c, a[i], b[i])),
  value: (node, state, input, engine) => node.any.some((c, i) => engine.value(c, state[i], input)),
  // A disjunction can only change when one of its parts does.
  nextChange: (node, state, input, engine) => earliest(...node.any.map((c, i) => engine.nextChange(c, state[i], input))),
};
