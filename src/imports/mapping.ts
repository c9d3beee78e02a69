import { TandemError } from '../core/errors.js';
import { ValueTypes, type ValueType } from './coerce.js';

/**
 * Column mappings of `tandem import`: `--map column=field[:type]` sends a column to a field of the Segment message
 * (`userId`, `anonymousId`, `event`, `timestamp`, `messageId`, `properties.x`, `traits.x`, `context.x`,
 * `context.externalIds.<type>`) with a declared type. Columns without a mapping follow the defaults of
 * docs/transformations.md#imports (their own name when it is a Segment field, else a property or a trait).
 */

export type ImportKind = 'events' | 'traits';

export interface FieldMapping {
  /** The spec as written, for messages. */
  spec: string;
  column: string;
  /** The message path, e.g. ['properties', 'revenue']. */
  target: string[];
  type: ValueType;
}

export interface Mapping {
  kind: ImportKind;
  /** Explicit mappings by column (a column may feed several fields). */
  byColumn: Map<string, FieldMapping[]>;
  /** Columns left out. */
  ignore: Set<string>;
  /** Only mapped columns are imported; the others are left out. */
  onlyMapped: boolean;
  /** The event name of every row that has none from a column (events). */
  event?: string;
}

export const ID_FIELDS = new Set(['userId', 'anonymousId', 'messageId']);
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export function isForbiddenKey(key: string): boolean {
  return FORBIDDEN_KEYS.has(key);
}

const mappingError = (spec: string, problem: string) => new TandemError('invalid_mapping', `--map ${spec}: ${problem}`, 400, '--map');

/** Parses one `column=field[:type]`; the column may itself hold '=' (the last one separates). */
export function parseMapSpec(spec: string, kind: ImportKind): FieldMapping {
  const eq = spec.lastIndexOf('=');
  if (eq <= 0) throw mappingError(spec, 'write it as column=field or column=field:type, e.g. amount=properties.revenue:number');
  const column = spec.slice(0, eq).trim();
  let field = spec.slice(eq + 1).trim();
  let declared: ValueType | undefined;
  const colon = field.lastIndexOf(':');
  if (colon >= 0) {
    const type = field.slice(colon + 1).trim();
    if (!(ValueTypes as readonly string[]).includes(type)) throw mappingError(spec, `unknown type '${type}'; use one of ${ValueTypes.join(', ')}`);
    declared = type as ValueType;
    field = field.slice(0, colon).trim();
  }
  if (!column) throw mappingError(spec, 'the column name is empty');
  if (!field) throw mappingError(spec, 'the field is empty');
  const target = targetOf(field, kind, spec);
  const implicit = implicitType(target, spec, declared);
  return { spec, column, target, type: declared ?? implicit };
}

/** The message path of a field name, checked for the kind of import. */
export function targetOf(field: string, kind: ImportKind, spec = field): string[] {
  const parts = field.split('.');
  if (parts.some((p) => p === '')) throw mappingError(spec, `'${field}' has an empty part`);
  const bad = parts.find(isForbiddenKey);
  if (bad) throw mappingError(spec, `'${bad}' cannot be a field name`);
  const [head, ...rest] = parts;
  if (rest.length === 0) {
    if (ID_FIELDS.has(head) || head === 'timestamp') return parts;
    if (head === 'event') {
      if (kind === 'traits') throw mappingError(spec, "'event' is a field of events; a traits import sends identify calls");
      return parts;
    }
  } else if (head === 'properties') {
    if (kind === 'traits') throw mappingError(spec, "'properties' belong to events; map trait columns to traits.<name>");
    return parts;
  } else if (head === 'traits') {
    // A track call has no traits of its own: the profile's traits it carries go in context.traits.
    return kind === 'events' ? ['context', ...parts] : parts;
  } else if (head === 'context') {
    if (rest[0] === 'externalIds' && rest.length !== 2) throw mappingError(spec, "an external id is written context.externalIds.<type>, e.g. context.externalIds.salesforce_id");
    if (rest[0] === 'externalIds' && !/^[a-z][a-z0-9_]{0,63}$/.test(rest[1])) throw mappingError(spec, `external id type '${rest[1]}' must be lower case letters, digits and _ (starting with a letter)`);
    return parts;
  }
  const allowed = kind === 'events' ? 'userId, anonymousId, event, timestamp, messageId, properties.<name>, traits.<name>, context.<name>' : 'userId, anonymousId, timestamp, messageId, traits.<name>, context.<name>';
  throw mappingError(spec, `unknown field '${field}'; map to one of ${allowed}`);
}

function implicitType(target: string[], spec: string, declared: ValueType | undefined): ValueType {
  const [head] = target;
  if (target.length === 1 && head === 'timestamp') return 'date';
  if (target.length === 1 || (target[0] === 'context' && target[1] === 'externalIds')) {
    if (declared && declared !== 'string') throw mappingError(spec, `${target.join('.')} is always text; leave out ':${declared}'`);
  }
  return 'string';
}

export interface MappingOptions {
  map?: string[];
  ignore?: string[];
  onlyMapped?: boolean;
  event?: string;
}

export function buildMapping(kind: ImportKind, options: MappingOptions): Mapping {
  const byColumn = new Map<string, FieldMapping[]>();
  const seen = new Map<string, string>();
  for (const spec of options.map ?? []) {
    const m = parseMapSpec(spec, kind);
    if (m.target[0] === 'timestamp' && m.type !== 'date') throw mappingError(spec, `timestamp is a date; leave out ':${m.type}'`);
    const key = m.target.join('.');
    const other = seen.get(key);
    if (other) throw mappingError(spec, `${key} is already mapped by --map ${other}`);
    seen.set(key, spec);
    byColumn.set(m.column, [...(byColumn.get(m.column) ?? []), m]);
  }
  if (options.event !== undefined && kind === 'traits') throw new TandemError('invalid_option', '--event: a traits import sends identify calls, which have no event name', 400, '--event');
  if (options.event !== undefined && options.event.trim() === '') throw new TandemError('invalid_option', '--event must not be empty', 400, '--event');
  return { kind, byColumn, ignore: new Set(options.ignore ?? []), onlyMapped: options.onlyMapped ?? false, ...(options.event !== undefined ? { event: options.event } : {}) };
}

/** Checks the mapped and ignored columns against a known header (CSV, a PostgreSQL table). */
export function checkColumns(mapping: Mapping, columns: string[], where: string): void {
  const known = new Set(columns);
  for (const [column, list] of mapping.byColumn) {
    if (!known.has(column)) throw mappingError(list[0].spec, `${where} has no column '${column}' (its columns: ${columns.join(', ')})`);
  }
  for (const column of mapping.ignore) {
    if (!known.has(column)) throw new TandemError('invalid_option', `--ignore ${column}: ${where} has no column '${column}'`, 400, '--ignore');
  }
}
