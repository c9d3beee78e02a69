import { parseDuration } from '../../../core/duration.js';
import { compareValue, readComparison } from '../../comparison.js';
import type { EventRecord, ReferenceInput } from '../../model.js';
import { parseIsoInstant, pathSegments, valueAt } from '../../values.js';
import { countHolds, countOf, type PerformedNode, type PropertyFilter } from './schema.js';

/** Whether an event is the named one with every property filter true. Settled at arrival: filters never read now. */
export function eventMatches(name: string, where: PropertyFilter[] | undefined, event: EventRecord): boolean {
  if (event.event !== name) return false;
  return (where ?? []).every((filter) => compareValue(valueAt(event.properties, pathSegments(filter.property)), readComparison(filter), 0));
}

export function inWindow(node: PerformedNode, timestamp: number, now: number): boolean {
  if (timestamp > now) return false;
  if (node.within !== undefined) return timestamp > now - parseDuration(node.within);
  if (node.between !== undefined) return timestamp >= parseIsoInstant(node.between[0])! && timestamp < parseIsoInstant(node.between[1])!;
  return true;
}

export function performedReference(node: PerformedNode, input: ReferenceInput): boolean {
  const n = input.events.filter((e) => inWindow(node, e.timestamp, input.now) && eventMatches(node.performed, node.where, e)).length;
  return countHolds(countOf(node), n);
}
