import { createHash } from 'node:crypto';

/**
 * How the evaluators read values. Every rule here has a twin in the SQL dialects (sql/dialect.ts); the agreement
 * test holds them together.
 */

/** Splits a dotted path (`address.city`) into its segments. */
export const pathSegments = (path: string): string[] => path.split('.');

const ARRAY_INDEX = /^(0|[1-9]\d*)$/;

/**
 * Follows a path into a JSON value with JSON Pointer semantics, as the SQL side does: object keys by name, array
 * elements by canonical index. Returns undefined when any step is missing.
 */
export function valueAt(root: unknown, segments: string[]): unknown {
  let current: unknown = root;
  for (const segment of segments) {
    if (Array.isArray(current)) {
      if (!ARRAY_INDEX.test(segment)) return undefined;
      current = current[Number(segment)];
    } else if (current !== null && typeof current === 'object') {
      if (!Object.prototype.hasOwnProperty.call(current, segment)) return undefined;
      current = (current as Record<string, unknown>)[segment];
    } else {
      return undefined;
    }
  }
  return current;
}

/** Missing and JSON null are the same for conditions: absent. */
export const isPresent = (value: unknown): boolean => value !== undefined && value !== null;

export const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/**
 * The one accepted text form of an instant: a UTC date, or a UTC date-time with `Z` and up to millisecond
 * precision. Narrow on purpose: JavaScript's Date.parse and SQL casts disagree on almost everything else
 * (`2024-02-30` is 1 March to V8 and invalid to DuckDB; DuckDB reads `T24:00:00Z` as the next midnight). The field
 * ranges are in the pattern, so SQL applies them too; impossible days are refused by both sides' calendars.
 */
export const ISO_INSTANT_PATTERN =
  '^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,3})?Z)?$';
const ISO_INSTANT = new RegExp(ISO_INSTANT_PATTERN);

/** Parses a strict ISO instant to ms since the epoch, or undefined when it is not one (including impossible dates). */
export function parseIsoInstant(text: string): number | undefined {
  if (!ISO_INSTANT.test(text)) return undefined;
  const year = Number(text.slice(0, 4));
  const month = Number(text.slice(5, 7));
  const day = Number(text.slice(8, 10));
  const hour = text.length > 10 ? Number(text.slice(11, 13)) : 0;
  const minute = text.length > 10 ? Number(text.slice(14, 16)) : 0;
  const second = text.length > 10 ? Number(text.slice(17, 19)) : 0;
  const fraction = text.length > 20 ? text.slice(20, -1) : '';
  const ms = fraction ? Number(fraction.padEnd(3, '0')) : 0;
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  // Rolled over (31 April, 29 February of a common year): not a real date.
  if (date.getUTCDate() !== day || date.getUTCMonth() !== month - 1) return undefined;
  return date.getTime();
}

/** A date value of a trait, property or row field: a number of ms since the epoch, or a strict ISO string. */
export function toInstant(value: unknown): number | undefined {
  if (isNumber(value)) return value;
  if (typeof value === 'string') return parseIsoInstant(value);
  return undefined;
}

/** Orders strings by Unicode code point, which is the byte order of UTF-8 that DuckDB and PostgreSQL's "C" collation use. */
export function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/**
 * The deterministic random bucket (0-99) of a profile for a salt: the first 32 bits of md5(salt + ':' + id), mod 100.
 * md5 because every SQL engine we target has it, so the SQL result equals this one.
 */
export function bucketOf(profileId: string, salt: string): number {
  const hex = createHash('md5').update(`${salt}:${profileId}`, 'utf8').digest('hex');
  return parseInt(hex.slice(0, 8), 16) % 100;
}

/** The smallest integer instant strictly after x. */
export const firstIntegerAfter = (x: number): number => Math.floor(x) + 1;
/** The smallest integer instant at or after x. */
export const firstIntegerFrom = (x: number): number => Math.ceil(x);

/** The earliest of several optional instants. */
export function earliest(...instants: (number | undefined)[]): number | undefined {
  let best: number | undefined;
  for (const t of instants) if (t !== undefined && (best === undefined || t < best)) best = t;
  return best;
}
