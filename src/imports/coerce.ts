/**
 * Type coercion of imported values, as declared in a column mapping (`amount=properties.revenue:number`). Each
 * function takes a cell (a CSV string, a JSON value or a PostgreSQL driver value) and returns the typed value, or a
 * problem that says what was wrong with it; it never guesses (a comma decimal or a local date format is refused).
 */

export const ValueTypes = ['string', 'number', 'integer', 'boolean', 'date', 'json'] as const;
export type ValueType = (typeof ValueTypes)[number];

export type Coerced = { ok: true; value: unknown } | { ok: false; problem: string };

const ok = (value: unknown): Coerced => ({ ok: true, value });
const fail = (problem: string): Coerced => ({ ok: false, problem });

/** A value as quoted in a problem message, cut short. */
export function show(value: unknown): string {
  const text = value instanceof Date ? value.toISOString() : typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;
const TRUE = new Set(['true', 't', 'yes', 'y', '1']);
const FALSE = new Set(['false', 'f', 'no', 'n', '0']);
/** YYYY-MM-DD, optionally followed by a time (T or a space) with optional fraction and offset (Z, ±hh, ±hh:mm, ±hhmm). */
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

export function coerce(value: unknown, type: ValueType): Coerced {
  switch (type) {
    case 'string':
      if (typeof value === 'string') return ok(value);
      if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return ok(String(value));
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? fail('is an invalid date') : ok(value.toISOString());
      return fail(`${show(value)} is ${Array.isArray(value) ? 'an array' : 'an object'}, not text`);
    case 'number': {
      if (typeof value === 'number') return Number.isFinite(value) ? ok(value) : fail(`${show(value)} is not a finite number`);
      if (typeof value === 'bigint') return ok(Number(value));
      if (typeof value === 'string' && NUMBER.test(value.trim())) {
        const n = Number(value.trim());
        return Number.isFinite(n) ? ok(n) : fail(`${show(value)} is out of range for a number`);
      }
      return fail(`${show(value)} is not a number (write it with a dot for decimals, e.g. 12.5)`);
    }
    case 'integer': {
      if (typeof value === 'number') return Number.isSafeInteger(value) ? ok(value) : fail(`${show(value)} is not a whole number`);
      if (typeof value === 'string' && INTEGER.test(value.trim())) {
        const n = Number(value.trim());
        return Number.isSafeInteger(n) ? ok(n) : fail(`${show(value)} is too large for an integer (more than 2^53 - 1)`);
      }
      if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? ok(Number(value)) : fail(`${value} is too large for an integer (more than 2^53 - 1)`);
      return fail(`${show(value)} is not a whole number`);
    }
    case 'boolean': {
      if (typeof value === 'boolean') return ok(value);
      if (value === 1 || value === 0) return ok(value === 1);
      if (typeof value === 'string') {
        const v = value.trim().toLowerCase();
        if (TRUE.has(v)) return ok(true);
        if (FALSE.has(v)) return ok(false);
      }
      return fail(`${show(value)} is not a boolean (true/false, yes/no, 1/0)`);
    }
    case 'date':
      return coerceDate(value);
    case 'json':
      if (typeof value !== 'string') return ok(value instanceof Date ? value.toISOString() : value);
      try {
        return ok(JSON.parse(value));
      } catch (error) {
        return fail(`${show(value)} is not JSON (${(error as Error).message})`);
      }
  }
}

/**
 * An ISO 8601 date or date-time as `YYYY-MM-DDTHH:MM:SS.sssZ`. A date alone is midnight UTC; a date-time without
 * an offset is read as UTC. The calendar is checked (2026-02-30 is refused, where Date.parse would roll it over).
 */
export function coerceDate(value: unknown): Coerced {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? fail('is an invalid date') : ok(value.toISOString());
  if (typeof value !== 'string') return fail(`${show(value)} is not an ISO 8601 date such as 2026-01-31 or 2026-01-31T12:00:00Z`);
  const m = ISO.exec(value.trim());
  if (!m) return fail(`${show(value)} is not an ISO 8601 date such as 2026-01-31 or 2026-01-31T12:00:00Z`);
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number);
  const calendar = new Date(Date.UTC(year, month - 1, day));
  if (year < 1000) return fail(`${show(value)} is before the year 1000`);
  if (calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day) return fail(`${show(value)} is not a date of the calendar`);
  if (hour > 23 || minute > 59 || second > 59) return fail(`${show(value)} has a time of day out of range`);
  let offsetMinutes = 0;
  if (zone && zone.toUpperCase() !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (oh > 23 || om > 59) return fail(`${show(value)} has an offset out of range`);
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const millis = frac ? Math.floor(Number(`0.${frac}`) * 1000) : 0;
  const at = Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000;
  if (at > Date.parse('9999-12-31T23:59:59.999Z')) return fail(`${show(value)} is out of range`);
  return ok(new Date(at).toISOString());
}
