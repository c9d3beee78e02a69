import { parseDuration } from '../../../core/duration.js';
import type { StreamingKind } from '../../node-kind.js';
import { firstIntegerFrom, parseIsoInstant } from '../../values.js';
import { eventMatches } from './reference.js';
import { countCap, countHolds, countOf, type PerformedNode } from './schema.js';

/**
 * State and its bound, with K = countCap(count) = the largest number in `count` + 1 (K = 2 for the default
 * "at least once"):
 * - `within: D`: the K latest matching timestamps, newest first (at most K numbers). Older ones can never matter:
 *   they leave the window first, and any count >= K gives the same answer as K.
 * - `between: [from, to]` or all time: the number of matching events in the window, capped at K (one number).
 *   The window is fixed, so an event's place in it is settled when it arrives.
 * Precondition of value and nextChange (the apply stage clamps future timestamps to arrival): every event fed has
 * timestamp <= now.
 */
export type PerformedState = number[] | number;

const keepLatest = (timestamps: number[], k: number): number[] => [...timestamps].sort((a, b) => b - a).slice(0, k);

function inWindowNow(node: PerformedNode, state: number[], now: number): number[] {
  const start = now - parseDuration(node.within!);
  return state.filter((t) => t > start);
}

export const performedStreaming: StreamingKind<PerformedNode, PerformedState> = {
  init: (node) => (node.within !== undefined ? [] : 0),
  onEvent(node, state, event) {
    if (!eventMatches(node.performed, node.where, event)) return state;
    const k = countCap(countOf(node));
    if (Array.isArray(state)) return keepLatest([...state, event.timestamp], k);
    if (node.between !== undefined) {
      const from = parseIsoInstant(node.between[0])!;
      const to = parseIsoInstant(node.between[1])!;
      if (event.timestamp < from || event.timestamp >= to) return state;
    }
    return Math.min(state + 1, k);
  },
  merge(node, a, b) {
    const k = countCap(countOf(node));
    if (Array.isArray(a) && Array.isArray(b)) return keepLatest([...a, ...b], k);
    return Math.min((a as number) + (b as number), k);
  },
  value(node, state, input) {
    const n = Array.isArray(state) ? inWindowNow(node, state, input.now).length : state;
    return countHolds(countOf(node), n);
  },
  nextChange(node, state, input) {
    if (!Array.isArray(state)) return undefined;
    // Walk the exits of the timestamps in the window, oldest first; the answer changes at the first exit that
    // moves the count across the comparison. An event at t leaves the window at t + D.
    const d = parseDuration(node.within!);
    const count = countOf(node);
    const inside = inWindowNow(node, state, input.now).sort((a, b) => a - b);
    const current = countHolds(count, inside.length);
    for (let i = 0; i < inside.length; i++) {
      if (countHolds(count, inside.length - i - 1) !== current) return firstIntegerFrom(inside[i] + d);
    }
    return undefined;
  },
};
