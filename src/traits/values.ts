import { compareValue, readComparison } from '../conditions/comparison.js';
import type { EventRecord } from '../conditions/model.js';
import { compareCodePoints, isNumber, pathSegments, valueAt } from '../conditions/values.js';
import type { Compute, EventTraitDefinition } from './definition.js';

/**
 * The value rules shared by the evaluators of computed traits. Each rule has a twin in sql.ts; the agreement test
 * holds them together.
 */

/** The values a trait aggregates: JSON strings, finite numbers and booleans. Null, lists and objects are skipped. */
export type TraitScalar = string | number | boolean;

/** Whether an event counts for the trait: the named event (any `track` when no name is given), every filter true. */
export function eventMatches(def: EventTraitDefinition, event: EventRecord): boolean {
  if (def.event === undefined ? event.type !== 'track' : event.event !== def.event) return false;
  return (def.where ?? []).every((filter) => compareValue(valueAt(event.properties, pathSegments(filter.property)), readComparison(filter), 0));
}

/**
 * What one matching event contributes: `null` for kinds that read no property (count, since_*), the property's
 * value for the others, or undefined when the event contributes nothing (the property is missing, null, a list
 * or an object, or not a number for sum / avg / min / max). -0 reads as 0.
 */
export function contributionOf(c: Compute, event: EventRecord): TraitScalar | null | undefined {
  if (c.property === undefined) return null;
  const value = valueAt(event.properties, pathSegments(c.property));
  if (isNumber(value)) return value + 0;
  if (c.kind === 'sum' || c.kind === 'avg' || c.kind === 'min' || c.kind === 'max') return undefined;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  return undefined;
}

const rank = (v: TraitScalar): number => (typeof v === 'number' ? 0 : typeof v === 'string' ? 1 : 2);

/**
 * The order of values, for tie-breaks and for `unique`: numbers (ascending), then strings (by code point), then
 * false, then true.
 */
export function compareScalars(a: TraitScalar, b: TraitScalar): number {
  const r = rank(a) - rank(b);
  if (r !== 0) return r;
  if (typeof a === 'number') return a - (b as number);
  if (typeof a === 'string') return compareCodePoints(a, b as string);
  return Number(a) - Number(b);
}

/** Equal values have equal keys (5 and "5" differ; 1 and 1.0 are one number). */
export const scalarKey = (v: TraitScalar): string => JSON.stringify(v);

/**
 * Exact summation (Shewchuk's algorithm, as Python's math.fsum): the running sum is a list of non-overlapping
 * partials whose exact total is the exact sum of the numbers added, so the result, rounded once at the end, does
 * not depend on the order of the events or on how states were merged. Zeros are dropped; the list stays short
 * (at most one partial per binary exponent range, a handful in practice).
 */
export function addToPartials(partials: readonly number[], value: number): number[] {
  let x = value;
  const out: number[] = [];
  for (let y of partials) {
    if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
    const hi = x + y;
    const lo = y - (hi - x);
    if (lo !== 0) out.push(lo);
    x = hi;
  }
  if (x !== 0) out.push(x);
  return out;
}

/** The correctly rounded total of a partials list (the final step of math.fsum, with its half-even correction). */
export function sumOfPartials(partials: readonly number[]): number {
  let n = partials.length;
  if (n === 0) return 0;
  let hi = partials[--n];
  let lo = 0;
  while (n > 0) {
    const x = hi;
    const y = partials[--n];
    hi = x + y;
    lo = y - (hi - x);
    if (lo !== 0) break;
  }
  if (n > 0 && ((lo < 0 && partials[n - 1] < 0) || (lo > 0 && partials[n - 1] > 0))) {
    const y = lo * 2;
    const x = hi + y;
    if (y === x - hi) hi = x;
  }
  return hi + 0;
}

/** A number as a trait value: null when the arithmetic overflowed (not representable in JSON). */
export const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x + 0 : null);
