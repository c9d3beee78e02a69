import { Type, type Static } from '@sinclair/typebox';
import { parseDuration } from '../core/duration.js';
import type { NodeProblem, SqlContext } from './node-kind.js';
import { Duration, IsoInstant, Moment, Scalar } from './schema-parts.js';
import { firstIntegerAfter, firstIntegerFrom, isNumber, isPresent, parseIsoInstant, toInstant } from './values.js';

/**
 * The comparison operators shared by traits, computed traits, event property filters and catalog row filters.
 * Semantics, the same in every evaluator:
 * - a missing value and JSON null are absent; every operator but `exists` is false on an absent value;
 * - no coercion: `eq: 5` does not match "5"; `neq` is true for a present value that is not `eq`;
 * - gt/gte/lt/lte/between compare numbers only (between is inclusive);
 * - `contains` is a substring of a string, or an element (a string) of an array;
 * - before/after/within read a date: a number of ms since the epoch or a strict ISO string (values.ts).
 *   `before: X` is date < X, `after: X` is date > X, `within: D` is now - D < date <= now.
 */

const ValueOperators = {
  eq: Type.Optional(Scalar),
  neq: Type.Optional(Scalar),
  gt: Type.Optional(Type.Number()),
  gte: Type.Optional(Type.Number()),
  lt: Type.Optional(Type.Number()),
  lte: Type.Optional(Type.Number()),
  between: Type.Optional(Type.Tuple([Type.Number(), Type.Number()], { 'x-expected': 'two numbers [low, high]' })),
  in: Type.Optional(Type.Array(Scalar, { minItems: 1, 'x-expected': 'a non-empty list of strings, numbers or booleans' })),
  contains: Type.Optional(Type.String()),
  starts_with: Type.Optional(Type.String()),
  exists: Type.Optional(Type.Boolean()),
};

/** Operators on profile values and catalog rows, which may compare dates with the instant of evaluation. */
export const RelativeOperators = { ...ValueOperators, before: Type.Optional(Moment), after: Type.Optional(Moment), within: Type.Optional(Duration) };

/**
 * Operators on event properties: dates are absolute only and there is no `within`, so whether an event matches is
 * settled when it arrives (this is what keeps the streaming state of `performed` bounded).
 */
export const AbsoluteOperators = { ...ValueOperators, before: Type.Optional(IsoInstant), after: Type.Optional(IsoInstant) };

export const OPERATOR_NAMES = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'between', 'in', 'contains', 'starts_with', 'exists', 'before', 'after', 'within'] as const;

/** The operator fields of a node, as written in a definition. */
const RelativeFields = Type.Object(RelativeOperators);
export type ComparisonFields = Static<typeof RelativeFields>;

/** One comparison, normalised from the fields of a node. */
export type Comparison =
  | { op: 'eq' | 'neq'; operand: Scalar }
  | { op: 'gt' | 'gte' | 'lt' | 'lte'; operand: number }
  | { op: 'between'; operand: [number, number] }
  | { op: 'in'; operand: Scalar[] }
  | { op: 'contains' | 'starts_with'; operand: string }
  | { op: 'exists'; operand: boolean }
  | { op: 'before' | 'after'; operand: Moment }
  | { op: 'within'; operand: string };

/** Exactly one operator per comparison keeps definitions readable; ranges have `between`. */
export function checkComparison(fields: ComparisonFields, where = ''): NodeProblem | undefined {
  const at = (field: string) => (where ? `${where}.${field}` : field);
  const present = OPERATOR_NAMES.filter((name) => fields[name] !== undefined);
  if (present.length !== 1) {
    return {
      path: where,
      message: present.length === 0 ? `needs one operator of ${OPERATOR_NAMES.join(', ')}` : `has several operators (${present.join(', ')}); use one per condition`,
    };
  }
  const op = present[0];
  if (op === 'between' && fields.between![0] > fields.between![1]) return { path: at('between'), message: 'must be [low, high] with low <= high' };
  if ((op === 'before' || op === 'after') && typeof fields[op] === 'string' && parseIsoInstant(fields[op] as string) === undefined) {
    return { path: at(op), message: 'is not a real date' };
  }
  return undefined;
}

export function readComparison(fields: ComparisonFields): Comparison {
  const op = OPERATOR_NAMES.find((name) => fields[name] !== undefined)!;
  return { op, operand: fields[op] } as Comparison;
}

/** The ms instant a moment stands for at `now`. */
export function momentAt(moment: Moment, now: number): number {
  if (typeof moment === 'string') return parseIsoInstant(moment)!;
  if ('ago' in moment) return now - parseDuration(moment.ago);
  return now + parseDuration(moment.from_now);
}

const sameScalar = (value: unknown, operand: Scalar): boolean => typeof value === typeof operand && value === operand;

export function compareValue(value: unknown, c: Comparison, now: number): boolean {
  if (c.op === 'exists') return isPresent(value) === c.operand;
  if (!isPresent(value)) return false;
  switch (c.op) {
    case 'eq':
      return sameScalar(value, c.operand);
    case 'neq':
      return !sameScalar(value, c.operand);
    case 'gt':
      return isNumber(value) && value > c.operand;
    case 'gte':
      return isNumber(value) && value >= c.operand;
    case 'lt':
      return isNumber(value) && value < c.operand;
    case 'lte':
      return isNumber(value) && value <= c.operand;
    case 'between':
      return isNumber(value) && value >= c.operand[0] && value <= c.operand[1];
    case 'in':
      return c.operand.some((operand) => sameScalar(value, operand));
    case 'contains':
      if (typeof value === 'string') return value.includes(c.operand);
      return Array.isArray(value) && value.some((element) => element === c.operand);
    case 'starts_with':
      return typeof value === 'string' && value.startsWith(c.operand);
    case 'before':
    case 'after':
    case 'within': {
      const instant = toInstant(value);
      if (instant === undefined) return false;
      if (c.op === 'within') return instant > now - parseDuration(c.operand) && instant <= now;
      const moment = momentAt(c.operand, now);
      return c.op === 'before' ? instant < moment : instant > moment;
    }
  }
}

/** Whether the answer of this comparison can move with time alone. */
export const isTimeRelative = (c: Comparison): boolean => c.op === 'within' || ((c.op === 'before' || c.op === 'after') && typeof c.operand !== 'string');

/**
 * The first instant after `now` at which compareValue(value, c, t) can differ from its answer at `now`, or undefined
 * if it never will while the value stays the same. Instants are integer ms.
 */
export function comparisonNextChange(value: unknown, c: Comparison, now: number): number | undefined {
  if (!isTimeRelative(c)) return undefined;
  const instant = toInstant(value);
  if (instant === undefined || !isPresent(value)) return undefined;
  if (c.op === 'within') {
    const d = parseDuration(c.operand as string);
    if (now < instant) return firstIntegerFrom(instant);
    if (now < instant + d) return firstIntegerFrom(instant + d);
    return undefined;
  }
  const moment = c.operand as { ago: string } | { from_now: string };
  // moment(t) = t + offset, so date < moment(t) <=> t > date - offset.
  const offset = 'ago' in moment ? -parseDuration(moment.ago) : parseDuration(moment.from_now);
  const crossing = instant - offset;
  // before: false until t > crossing, then true for ever. after: true while t < crossing, then false for ever.
  if (c.op === 'before') return now <= crossing ? firstIntegerAfter(crossing) : undefined;
  return now < crossing ? firstIntegerFrom(crossing) : undefined;
}

const NUMERIC_SQL = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

/** Compiles a comparison of a JSON value (an SQL expression, NULL when missing) to a never-NULL boolean. */
export function compileComparison(json: string, c: Comparison, ctx: SqlContext): string {
  const d = ctx.dialect;
  const present = `(${json} IS NOT NULL AND NOT ${d.isJsonKind(json, 'null')})`;
  const eq = (operand: Scalar): string => {
    // jsonText and jsonNumber are NULL for values of other kinds: no kind test of their own is needed.
    if (typeof operand === 'string') return `(${d.jsonText(json)} = ${ctx.param(operand, 'text')})`;
    if (typeof operand === 'number') return `(${d.jsonNumber(json)} = ${ctx.param(operand, 'double')})`;
    return `(${d.isJsonKind(json, 'boolean')} AND ${d.jsonBoolean(json)} = ${ctx.param(operand, 'boolean')})`;
  };
  const numeric = (op: string, operand: number) => `(${d.jsonNumber(json)} ${op} ${ctx.param(operand, 'double')})`;
  const instant = () => d.jsonInstant(json);
  const moment = (m: Moment): string => {
    if (typeof m === 'string') return ctx.param(parseIsoInstant(m)!, 'double');
    if ('ago' in m) return `(${ctx.asOf} - ${ctx.param(parseDuration(m.ago), 'bigint')})`;
    return `(${ctx.asOf} + ${ctx.param(parseDuration(m.from_now), 'bigint')})`;
  };
  let sql: string;
  switch (c.op) {
    case 'exists':
      sql = c.operand ? present : `NOT ${present}`;
      break;
    case 'eq':
      sql = eq(c.operand);
      break;
    case 'neq':
      sql = `(${present} AND NOT COALESCE(${eq(c.operand)}, FALSE))`;
      break;
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      sql = numeric(NUMERIC_SQL[c.op], c.operand);
      break;
    case 'between':
      sql = `(${numeric('>=', c.operand[0])} AND ${numeric('<=', c.operand[1])})`;
      break;
    case 'in': {
      // One IN list per kind of operand (the value is read once per kind, not once per operand).
      const of = <T extends Scalar>(kind: string) => c.operand.filter((o) => typeof o === kind) as T[];
      const groups: string[] = [];
      const strings = of<string>('string');
      const numbers = of<number>('number');
      const booleans = of<boolean>('boolean');
      if (strings.length) groups.push(`COALESCE(${d.jsonText(json)} IN (${strings.map((o) => ctx.param(o, 'text')).join(', ')}), FALSE)`);
      if (numbers.length) groups.push(`COALESCE(${d.jsonNumber(json)} IN (${numbers.map((o) => ctx.param(o, 'double')).join(', ')}), FALSE)`);
      if (booleans.length) groups.push(`COALESCE(${d.isJsonKind(json, 'boolean')} AND ${d.jsonBoolean(json)} IN (${booleans.map((o) => ctx.param(o, 'boolean')).join(', ')}), FALSE)`);
      sql = groups.length ? `(${groups.join(' OR ')})` : 'FALSE';
      break;
    }
    case 'contains': {
      const p = ctx.param(c.operand, 'text');
      sql = `((${d.isJsonKind(json, 'string')} AND ${d.textContains(d.jsonText(json), p)}) OR (${d.isJsonKind(json, 'array')} AND ${d.jsonArrayHasString(json, p)}))`;
      break;
    }
    case 'starts_with':
      sql = d.textStartsWith(d.jsonText(json), ctx.param(c.operand, 'text'));
      break;
    case 'before':
      sql = `(${instant()} < ${moment(c.operand)})`;
      break;
    case 'after':
      sql = `(${instant()} > ${moment(c.operand)})`;
      break;
    case 'within': {
      const at = instant();
      sql = `(${at} > ${ctx.asOf} - ${ctx.param(parseDuration(c.operand), 'bigint')} AND ${at} <= ${ctx.asOf})`;
      break;
    }
  }
  return `COALESCE(${sql}, FALSE)`;
}
