import { parseDuration } from '../../../core/duration.js';
import type { StreamingKind } from '../../node-kind.js';
import { earliest, firstIntegerAfter, firstIntegerFrom } from '../../values.js';
import { eventMatches } from '../performed/reference.js';
import { ageHolds } from './reference.js';
import { occurrenceEvent, type Occurrence, type OccurrenceNode } from './schema.js';

/** State: the earliest (first) or latest (last) matching timestamp, or null. Bound: one number. */
export type OccurrenceState = number | null;

export function occurrenceStreaming<N extends OccurrenceNode>(which: Occurrence): StreamingKind<N, OccurrenceState> {
  const pick = (a: OccurrenceState, b: OccurrenceState): OccurrenceState => {
    if (a === null) return b;
    if (b === null) return a;
    return which === 'first' ? Math.min(a, b) : Math.max(a, b);
  };
  return {
    init: () => null,
    onEvent: (node, state, event) => (eventMatches(occurrenceEvent(node), node.where, event) ? pick(state, event.timestamp) : state),
    merge: (_node, a, b) => pick(a, b),
    value: (node, state, input) => state !== null && ageHolds(node.ago, input.now - state),
    nextChange(node, state, input) {
      if (state === null) return undefined;
      // Each bound flips once as the age grows: age > D from t + D + 1 on, age >= D from t + D, and so on.
      const { gt, gte, lt, lte } = node.ago;
      const flips = [
        gt !== undefined ? firstIntegerAfter(state + parseDuration(gt)) : undefined,
        gte !== undefined ? firstIntegerFrom(state + parseDuration(gte)) : undefined,
        lt !== undefined ? firstIntegerFrom(state + parseDuration(lt)) : undefined,
        lte !== undefined ? firstIntegerAfter(state + parseDuration(lte)) : undefined,
      ];
      return earliest(...flips.filter((t) => t !== undefined && t > input.now));
    },
  };
}
