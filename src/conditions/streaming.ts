import type { Condition } from './condition.js';
import { kindOf } from './kinds.js';
import type { EventRecord, StreamingInput } from './model.js';
import type { StreamingEngine, StreamingState } from './node-kind.js';

export type { StreamingState } from './node-kind.js';

/**
 * The streaming evaluator of the fast loop, per profile. Its state summarises the events seen so far and is a
 * plain JSON value of bounded size (each node kind documents its bound), so the Store can keep it with the
 * profile. Profile facts (traits, identifiers, memberships, subscriptions) and catalogs are not in the state: they
 * are read when asked, so a profile change needs no state update, only a new `value` and `nextChange`.
 *
 * Contract: events may arrive in any order, but value/nextChange must be asked at a `now` no earlier than any
 * event fed (the apply stage clamps future-dated events to their arrival time).
 */
export interface StreamingEvaluator {
  readonly condition: Condition;
  init(): StreamingState;
  onEvent(state: StreamingState, event: EventRecord): StreamingState;
  /** The state of a profile that absorbed another (identity merge): as if it had seen both histories. */
  merge(a: StreamingState, b: StreamingState): StreamingState;
  value(state: StreamingState, input: StreamingInput): boolean;
  /** When to set the timer: the first instant after input.now at which the value could change with no new input. */
  nextChange(state: StreamingState, input: StreamingInput): number | undefined;
}

/** The generic walk: each node kind handles its own node and calls back here for nested conditions. */
export const streamingEngine: StreamingEngine = {
  init: (c) => kindOf(c).streaming.init(c, streamingEngine),
  onEvent: (c, s, e) => kindOf(c).streaming.onEvent(c, s, e, streamingEngine),
  merge: (c, a, b) => kindOf(c).streaming.merge(c, a, b, streamingEngine),
  value: (c, s, input) => kindOf(c).streaming.value(c, s, input, streamingEngine),
  nextChange: (c, s, input) => kindOf(c).streaming.nextChange(c, s, input, streamingEngine),
};

export function createStreamingEvaluator(condition: Condition): StreamingEvaluator {
  return {
    condition,
    init: () => streamingEngine.init(condition),
    onEvent: (state, event) => streamingEngine.onEvent(condition, state, event),
    merge: (a, b) => streamingEngine.merge(condition, a, b),
    value: (state, input) => streamingEngine.value(condition, state, input),
    nextChange: (state, input) => streamingEngine.nextChange(condition, state, input),
  };
}
