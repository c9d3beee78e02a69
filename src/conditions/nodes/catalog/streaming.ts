import { comparisonNextChange, readComparison } from '../../comparison.js';
import type { StreamingKind, StreamingState } from '../../node-kind.js';
import type { StreamingInput } from '../../model.js';
import { earliest, pathSegments, valueAt } from '../../values.js';
import { eventKey, isLater, rowMatches, traitKey } from './reference.js';
import type { CatalogNode } from './schema.js';

/**
 * State: for a key from the last event, that event's instant and key (bound: one pair); for a key from a trait,
 * none. The row itself is read from the catalogs when asked, because business data changes on its own.
 */
export type CatalogState = { ts: number; key: string } | null;

const keyOf = (node: CatalogNode, state: CatalogState, input: StreamingInput) => ('trait' in node.key_from ? traitKey(node, input.profile) : state?.key);

export const catalogStreaming: StreamingKind<CatalogNode, CatalogState & StreamingState> = {
  init: () => null,
  onEvent(node, state, event) {
    const key = eventKey(node, event);
    if (key === undefined) return state;
    const candidate = { ts: event.timestamp, key };
    return state === null || isLater(candidate, state) ? candidate : state;
  },
  merge: (_node, a, b) => (a === null ? b : b === null ? a : isLater(b, a) ? b : a),
  value: (node, state, input) => rowMatches(node, keyOf(node, state, input), input.catalogs, input.now),
  nextChange(node, state, input) {
    const key = keyOf(node, state, input);
    const row = key === undefined ? undefined : input.catalogs.get(node.catalog, key);
    if (row === undefined) return undefined;
    // A conjunction of filters changes only when one of them does; dates in the row may cross a moving boundary.
    return earliest(...(node.where ?? []).map((f) => comparisonNextChange(valueAt(row, pathSegments(f.field)), readComparison(f), input.now)));
  },
};
