import { Type, type Static } from '@sinclair/typebox';
import type { NodeProblem } from '../../node-kind.js';
import { Duration, Name } from '../../schema-parts.js';
import { checkPropertyFilters, PropertyFilterSchema } from '../performed/schema.js';

/** How long ago the first or last occurrence was; every bound given must hold (`{ gte: 7d, lt: 14d }`). */
export const AgeSchema = Type.Object(
  { gt: Type.Optional(Duration), gte: Type.Optional(Duration), lt: Type.Optional(Duration), lte: Type.Optional(Duration) },
  { additionalProperties: false },
);
export type AgeComparison = Static<typeof AgeSchema>;

const Where = Type.Optional(Type.Array(PropertyFilterSchema, { 'x-expected': 'a list of property filters' }));

/** `{ last_performed: Order Completed, ago: { gt: 30d } }`: the latest matching event is more than 30 days old (false if none). */
export const LastPerformedNodeSchema = Type.Object(
  { last_performed: Name, where: Where, ago: AgeSchema },
  { additionalProperties: false, description: 'The latest matching event happened a given time ago; false when there is none.' },
);
export type LastPerformedNode = Static<typeof LastPerformedNodeSchema>;

/** `{ first_performed: Signed Up, ago: { lt: 7d } }`: the earliest matching event is less than 7 days old (false if none). */
export const FirstPerformedNodeSchema = Type.Object(
  { first_performed: Name, where: Where, ago: AgeSchema },
  { additionalProperties: false, description: 'The earliest matching event happened a given time ago; false when there is none.' },
);
export type FirstPerformedNode = Static<typeof FirstPerformedNodeSchema>;

export type OccurrenceNode = FirstPerformedNode | LastPerformedNode;
/** Which occurrence a node reads: the earliest or the latest matching event. */
export type Occurrence = 'first' | 'last';

export const occurrenceEvent = (node: OccurrenceNode): string => ('first_performed' in node ? node.first_performed : node.last_performed);

export function checkOccurrence(node: OccurrenceNode): NodeProblem | undefined {
  if (Object.values(node.ago).every((v) => v === undefined)) return { path: 'ago', message: 'needs at least one of gt, gte, lt, lte' };
  return checkPropertyFilters(node.where);
}
