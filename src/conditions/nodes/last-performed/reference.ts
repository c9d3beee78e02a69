import { parseDuration } from '../../../core/duration.js';
import type { ReferenceInput } from '../../model.js';
import { eventMatches } from '../performed/reference.js';
import { occurrenceEvent, type AgeComparison, type Occurrence, type OccurrenceNode } from './schema.js';

export function ageHolds(ago: AgeComparison, age: number): boolean {
  return (
    (ago.gt === undefined || age > parseDuration(ago.gt)) &&
    (ago.gte === undefined || age >= parseDuration(ago.gte)) &&
    (ago.lt === undefined || age < parseDuration(ago.lt)) &&
    (ago.lte === undefined || age <= parseDuration(ago.lte))
  );
}

export function occurrenceReference(node: OccurrenceNode, which: Occurrence, input: ReferenceInput): boolean {
  const times = input.events.filter((e) => e.timestamp <= input.now && eventMatches(occurrenceEvent(node), node.where, e)).map((e) => e.timestamp);
  if (times.length === 0) return false;
  const at = which === 'first' ? Math.min(...times) : Math.max(...times);
  return ageHolds(node.ago, input.now - at);
}
