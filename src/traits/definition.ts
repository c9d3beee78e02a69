import { Type, type Static } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import YAML from 'yaml';
import { parseDuration } from '../core/duration.js';
import { TandemError, pointerToPath } from '../core/errors.js';
import { joinPath, type NodeProblem } from '../conditions/node-kind.js';
import { checkPropertyFilters, PropertyFilterSchema, type PropertyFilter } from '../conditions/nodes/performed/schema.js';
import { Duration, FieldPath, Name } from '../conditions/schema-parts.js';
import { checkSqlTrait } from './sql-check.js';

/**
 * The workspace-as-code body of one computed trait (kind `traits`). Two shapes:
 *
 * An event trait, evaluated by all three evaluators (reference, streaming, SQL):
 *
 *   key: lifetime_revenue
 *   event: Order Completed          # omitted: every `track` event
 *   where: [{ property: currency, eq: EUR }]
 *   within: 90d                     # omitted: all time
 *   compute: { sum: total }
 *
 * An SQL trait, batch only (the apply stage never evaluates it in streaming; `traitMode` says which is which):
 *
 *   key: support_tickets
 *   sql: SELECT profile_id, count(*) AS value FROM c_events WHERE event = 'Ticket Opened' GROUP BY profile_id
 *   schedule: 1h
 */

export const COMPUTE_KINDS = [
  'count',
  'sum',
  'avg',
  'min',
  'max',
  'first',
  'last',
  'most_frequent',
  'unique',
  'unique_count',
  'since_first',
  'since_last',
] as const;
export type ComputeKind = (typeof COMPUTE_KINDS)[number];

/** Kinds that read a property of the matching events. */
export const PROPERTY_KINDS = ['sum', 'avg', 'min', 'max', 'first', 'last', 'most_frequent', 'unique', 'unique_count'] as const;
/** Kinds that keep a set of distinct values, capped by `limit`. */
export const LIMITED_KINDS = ['most_frequent', 'unique', 'unique_count'] as const;
export const DEFAULT_LIMIT: Record<(typeof LIMITED_KINDS)[number], number> = { most_frequent: 100, unique: 100, unique_count: 1000 };
export const MAX_LIMIT = 1000;

export const TIME_UNITS = { seconds: 1000, minutes: 60_000, hours: 3_600_000, days: 86_400_000 } as const;
export type TimeUnit = keyof typeof TIME_UNITS;

const Property = { ...FieldPath, 'x-expected': 'a property path such as total or address.city' };
const Unit = Type.Union(
  Object.keys(TIME_UNITS).map((u) => Type.Literal(u)),
  { 'x-expected': `a time unit: ${Object.keys(TIME_UNITS).join(', ')}` },
);

/**
 * `compute` names exactly one kind. The schema is one flat object (so a refusal points at the field at fault:
 * `compute.sum: must be a property path`); parseTraitDefinition checks that exactly one kind is present.
 */
export const ComputeSchema = Type.Object(
  {
    count: Type.Optional(Type.Literal(true, { 'x-expected': 'true' })),
    sum: Type.Optional(Property),
    avg: Type.Optional(Property),
    min: Type.Optional(Property),
    max: Type.Optional(Property),
    first: Type.Optional(Property),
    last: Type.Optional(Property),
    most_frequent: Type.Optional(Property),
    unique: Type.Optional(Property),
    unique_count: Type.Optional(Property),
    since_first: Type.Optional(Unit),
    since_last: Type.Optional(Unit),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LIMIT, 'x-expected': `a whole number from 1 to ${MAX_LIMIT}` })),
  },
  {
    additionalProperties: false,
    'x-expected': `an object with one of ${COMPUTE_KINDS.join(', ')}`,
    description: 'What the trait computes over the matching events: exactly one kind, and `limit` for most_frequent, unique and unique_count.',
  },
);

/** The typed view of `compute`: exactly one kind. */
export type TraitCompute =
  | { count: true }
  | { sum: string }
  | { avg: string }
  | { min: string }
  | { max: string }
  | { first: string }
  | { last: string }
  | { most_frequent: string; limit?: number }
  | { unique: string; limit?: number }
  | { unique_count: string; limit?: number }
  | { since_first: TimeUnit }
  | { since_last: TimeUnit };

export const TraitKey = Type.String({
  pattern: '^[A-Za-z][A-Za-z0-9_-]{0,63}$',
  'x-expected': 'a key of letters, digits, _ and - (at most 64, starting with a letter)',
});

const Common = {
  key: TraitKey,
  name: Type.Optional(Type.String()),
  description: Type.Optional(Type.String()),
};

export const EventTraitSchema = Type.Object(
  {
    ...Common,
    event: Type.Optional(Name),
    where: Type.Optional(Type.Array(PropertyFilterSchema, { 'x-expected': 'a list of property filters' })),
    within: Type.Optional(Duration),
    compute: ComputeSchema,
  },
  { additionalProperties: false, description: 'A computed trait over the profile events: streaming and batch.' },
);

export const SqlTraitSchema = Type.Object(
  {
    ...Common,
    sql: Type.String({ minLength: 1, 'x-expected': 'a SELECT statement returning profile_id and value' }),
    schedule: Duration,
  },
  { additionalProperties: false, description: 'A computed trait as SQL over the read-only views, recomputed on a schedule (batch only).' },
);

/** The JSON schema of a `traits` body, for the admin API and the docs. */
export const TraitDefinitionSchema = Type.Union([EventTraitSchema, SqlTraitSchema], { description: 'A computed trait (kind `traits`).' });

export type EventTraitDefinition = Omit<Static<typeof EventTraitSchema>, 'compute' | 'where'> & { where?: PropertyFilter[]; compute: TraitCompute };
export type SqlTraitDefinition = Static<typeof SqlTraitSchema>;
export type TraitDefinition = EventTraitDefinition | SqlTraitDefinition;

export const isSqlTrait = (def: TraitDefinition): def is SqlTraitDefinition => 'sql' in def;

/** `streaming`: the fast loop keeps it up to date per event (and batch backfills it); `batch`: only the scheduled SQL run computes it. */
export const traitMode = (def: TraitDefinition): 'streaming' | 'batch' => (isSqlTrait(def) ? 'batch' : 'streaming');

/** `compute` normalised: the kind, its property (segments), its cap and its unit. */
export interface Compute {
  kind: ComputeKind;
  /** The dotted property path, for PROPERTY_KINDS. */
  property?: string;
  /** Distinct values kept, for LIMITED_KINDS. */
  limit: number;
  /** ms per unit, for since_first / since_last. */
  unit: number;
}

export function computeOf(def: EventTraitDefinition): Compute {
  const c = def.compute as Record<string, unknown>;
  const kind = COMPUTE_KINDS.find((k) => c[k] !== undefined)!;
  const limited = (LIMITED_KINDS as readonly string[]).includes(kind);
  return {
    kind,
    property: (PROPERTY_KINDS as readonly string[]).includes(kind) ? (c[kind] as string) : undefined,
    limit: limited ? ((c.limit as number | undefined) ?? DEFAULT_LIMIT[kind as (typeof LIMITED_KINDS)[number]]) : 0,
    unit: kind === 'since_first' || kind === 'since_last' ? TIME_UNITS[c[kind] as TimeUnit] : 0,
  };
}

/** The window length in ms, or undefined for all time. */
export const windowOf = (def: EventTraitDefinition): number | undefined => (def.within === undefined ? undefined : parseDuration(def.within));

// Validation.

const ajv = new Ajv({ strict: false, verbose: true, allowUnionTypes: true, allErrors: false });
const validateEvent: ValidateFunction = ajv.compile(EventTraitSchema);
const validateSql: ValidateFunction = ajv.compile(SqlTraitSchema);

/**
 * Validates a `traits` body (parsed from JSON or YAML) and returns it, or throws TandemError('invalid_trait') whose
 * path points into the definition: `compute.sum: must be a property path such as total or address.city`. `at`
 * prefixes paths for a definition inside a larger document.
 */
export function parseTraitDefinition(input: unknown, at = ''): TraitDefinition {
  const problem = findProblem(input);
  if (problem) {
    const path = joinPath(at, problem.path);
    throw new TandemError('invalid_trait', `${path || '(trait)'}: ${problem.message}`, 400, path);
  }
  return structuredClone(input) as TraitDefinition;
}

/** parseTraitDefinition over YAML (or JSON) text. */
export function parseTraitDefinitionText(text: string, at = ''): TraitDefinition {
  let data: unknown;
  try {
    data = YAML.parse(text);
  } catch (error) {
    throw new TandemError('invalid_trait', `${at || '(trait)'}: ${(error as Error).message}`, 400, at);
  }
  return parseTraitDefinition(data, at);
}

function findProblem(input: unknown): NodeProblem | undefined {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return { path: '', message: 'must be an object with key and compute (or sql)' };
  const body = input as Record<string, unknown>;
  if ('sql' in body) {
    if ('compute' in body) return { path: 'sql', message: 'cannot be combined with compute; a trait is either SQL or computed from events' };
    if (!validateSql(body)) return describe(validateSql.errors ?? []);
    const problem = checkSqlTrait(body.sql as string);
    return problem ? { path: 'sql', message: problem } : undefined;
  }
  if (!validateEvent(body)) return describe(validateEvent.errors ?? []);
  const def = body as unknown as EventTraitDefinition;
  const compute = def.compute as Record<string, unknown>;
  const kinds = COMPUTE_KINDS.filter((k) => compute[k] !== undefined);
  if (kinds.length === 0) return { path: 'compute', message: `needs one of ${COMPUTE_KINDS.join(', ')}` };
  if (kinds.length > 1) return { path: 'compute', message: `names several kinds (${kinds.join(', ')}); a trait computes one value` };
  if (compute.limit !== undefined && !(LIMITED_KINDS as readonly string[]).includes(kinds[0])) {
    return { path: 'compute.limit', message: `only applies to ${LIMITED_KINDS.join(', ')}` };
  }
  if (def.within !== undefined && parseDuration(def.within) <= 0) return { path: 'within', message: 'must be longer than 0' };
  return checkPropertyFilters(def.where);
}

/** The first Ajv error, in words a person can act on (as conditions/parse.ts does). */
function describe(errors: ErrorObject[]): NodeProblem {
  const error = errors.find((e) => e.keyword === 'anyOf') ?? errors[0];
  const at = pointerToPath(error.instancePath);
  const expected = (error.parentSchema as { 'x-expected'?: string } | undefined)?.['x-expected'];
  if (error.keyword === 'additionalProperties') {
    return { path: joinPath(at, (error.params as { additionalProperty: string }).additionalProperty), message: 'is not a known field here' };
  }
  if (error.keyword === 'required') return { path: joinPath(at, (error.params as { missingProperty: string }).missingProperty), message: 'is required' };
  if (expected) return { path: at, message: `must be ${expected}` };
  return { path: at, message: error.message ?? 'is invalid' };
}
