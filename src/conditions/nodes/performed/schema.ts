import { Type, type Static } from '@sinclair/typebox';
import { AbsoluteOperators, checkComparison } from '../../comparison.js';
import type { NodeProblem } from '../../node-kind.js';
import { Duration, FieldPath, IsoInstant, Name } from '../../schema-parts.js';
import { parseIsoInstant } from '../../values.js';

/** A filter on an event property: `{ property: total, gte: 100 }`. Dates are absolute only (see comparison.ts). */
export const PropertyFilterSchema = Type.Object({ property: FieldPath, ...AbsoluteOperators }, { additionalProperties: false });
export type PropertyFilter = Static<typeof PropertyFilterSchema>;

const Count = Type.Integer({ minimum: 0, 'x-expected': 'a whole number >= 0' });
export const CountSchema = Type.Object(
  {
    eq: Type.Optional(Count),
    gt: Type.Optional(Count),
    gte: Type.Optional(Count),
    lt: Type.Optional(Count),
    lte: Type.Optional(Count),
    between: Type.Optional(Type.Tuple([Count, Count], { 'x-expected': 'two whole numbers [low, high]' })),
  },
  { additionalProperties: false },
);
export type CountComparison = Static<typeof CountSchema>;

/**
 * `{ performed: Order Completed, where: [...], count: { gte: 3 }, within: 30d }`: the profile has performed the
 * event (matched on its name) with every property filter true, a number of times that satisfies `count` (default
 * at least once), in the window: `within: D` is (now - D, now], `between: [from, to]` is [from, to); no window
 * is all time up to now.
 */
export const PerformedNodeSchema = Type.Object(
  {
    performed: Name,
    where: Type.Optional(Type.Array(PropertyFilterSchema, { 'x-expected': 'a list of property filters' })),
    count: Type.Optional(CountSchema),
    within: Type.Optional(Duration),
    between: Type.Optional(Type.Tuple([IsoInstant, IsoInstant], { 'x-expected': 'two ISO instants [from, to]' })),
  },
  { additionalProperties: false, description: 'The profile performed an event, with property filters, a count and a window.' },
);
export type PerformedNode = Static<typeof PerformedNodeSchema>;

export function checkPropertyFilters(where: PropertyFilter[] | undefined): NodeProblem | undefined {
  for (const [i, filter] of (where ?? []).entries()) {
    const problem = checkComparison(filter, `where[${i}]`);
    if (problem) return problem;
  }
  return undefined;
}

const COUNT_OPERATORS = ['eq', 'gt', 'gte', 'lt', 'lte', 'between'] as const;

export function checkPerformed(node: PerformedNode): NodeProblem | undefined {
  const filters = checkPropertyFilters(node.where);
  if (filters) return filters;
  if (node.count) {
    const ops = COUNT_OPERATORS.filter((op) => node.count![op] !== undefined);
    if (ops.length !== 1) return { path: 'count', message: `needs exactly one of ${COUNT_OPERATORS.join(', ')}` };
    if (node.count.between && node.count.between[0] > node.count.between[1]) return { path: 'count.between', message: 'must be [low, high] with low <= high' };
  }
  if (node.within !== undefined && node.between !== undefined) return { path: 'between', message: 'cannot be combined with within; use one window' };
  if (node.between) {
    const [from, to] = node.between.map(parseIsoInstant);
    if (from === undefined) return { path: 'between[0]', message: 'is not a real date' };
    if (to === undefined) return { path: 'between[1]', message: 'is not a real date' };
    if (from >= to) return { path: 'between', message: 'must be [from, to] with from before to' };
  }
  return undefined;
}

/** The count comparison in effect: at least once unless said otherwise. */
export const countOf = (node: PerformedNode): CountComparison => node.count ?? { gte: 1 };

export function countHolds(count: CountComparison, n: number): boolean {
  if (count.eq !== undefined) return n === count.eq;
  if (count.gt !== undefined) return n > count.gt;
  if (count.gte !== undefined) return n >= count.gte;
  if (count.lt !== undefined) return n < count.lt;
  if (count.lte !== undefined) return n <= count.lte;
  return n >= count.between![0] && n <= count.between![1];
}

/** Counts above the largest number in the comparison all give the same answer, so counting can stop there. */
export const countCap = (count: CountComparison): number => Math.max(...Object.values(count).flat()) + 1;
