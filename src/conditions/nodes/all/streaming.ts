import type { StreamingKind, StreamingState } from '../../node-kind.js';
import { earliest } from '../../values.js';
import type { AllNode } from './schema.js';

/** State: one state per nested condition, in order. Bound: the sum of the children's bounds. */
export const allStreaming: StreamingKind<AllNode, StreamingState[]> = {
  init: (node, engine) => node.all.map((c) => engine.init(c)),
  onEvent: (node, state, event, engine) => node.all.map((c, i) => engine.onEvent(c, state[i], event)),
  merge: (node, a, b, engine) => node.all.map((c, i) => engine.merge(c, a[i], b[i])),
  value: (node, state, input, engine) => node.all.every((c, i) => engine.value(c, state[i], input)),
  // A conjunction can only change when one of its parts does.
  nextChange: (node, state, input, engine) => earliest(...node.all.map((c, i) => engine.nextChange(c, state[i], input))),
};
