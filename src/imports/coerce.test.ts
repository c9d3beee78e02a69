import { describe, expect, it } from 'vitest';
import { coerce } from './coerce.js';

const value = (v: unknown, t: Parameters<typeof coerce>[1]) => {
  const c = coerce(v, t);
  if (!c.ok) throw new Error(c.problem);
  return c.value;
};
const problem = (v: unknown, t: Parameters<typeof coerce>[1]) => {
  const c = coerce(v, t);
  return c.ok ? undefined : c.problem;
};

describe('import value coercion', () => {
  it('reads numbers written with a dot, in exponent form, and refuses comma decimals and words', () => {
    expect(value('12.50', 'number')).toBe(12.5);
    expect(value(' -3 ', 'number')).toBe(-3);
    expect(value('1e3', 'number')).toBe(1000);
    expect(value('.5', 'number')).toBe(0.5);
    expect(value('1234.5678', 'number')).toBe(1234.5678); // a PostgreSQL numeric arrives as text
    expect(problem('12,5', 'number')).toContain('is not a number');
    expect(problem('abc', 'number')).toContain('"abc" is not a number');
    expect(problem('', 'number')).toContain('is not a number');
  });

  it('reads whole numbers up to 2^53 - 1 only', () => {
    expect(value('9007199254740991', 'integer')).toBe(9007199254740991);
    expect(problem('9007199254740992', 'integer')).toContain('too large');
    expect(problem('2.5', 'integer')).toContain('not a whole number');
    expect(value(42, 'integer')).toBe(42);
  });

  it('reads booleans in the usual spellings', () => {
    for (const t of ['true', 'TRUE', 'yes', 'Y', '1', 't']) expect(value(t, 'boolean')).toBe(true);
    for (const f of ['false', 'No', 'n', '0', 'F']) expect(value(f, 'boolean')).toBe(false);
    expect(value(1, 'boolean')).toBe(true);
    expect(problem('maybe', 'boolean')).toContain('not a boolean');
  });

  it('reads ISO 8601 dates and times into UTC, applying offsets', () => {
    expect(value('2026-01-31', 'date')).toBe('2026-01-31T00:00:00.000Z');
    expect(value('2026-01-31T12:00:00Z', 'date')).toBe('2026-01-31T12:00:00.000Z');
    // 12:00 at +05:30 is 06:30 UTC; 23:15 at -08:00 is 07:15 UTC the next day.
    expect(value('2026-01-31T12:00:00+05:30', 'date')).toBe('2026-01-31T06:30:00.000Z');
    expect(value('2026-01-31T23:15:00-0800', 'date')).toBe('2026-02-01T07:15:00.000Z');
    // PostgreSQL's text form: a space and microseconds (truncated to milliseconds).
    expect(value('2026-03-01 08:09:10.123456+00', 'date')).toBe('2026-03-01T08:09:10.123Z');
    expect(value(new Date(Date.UTC(2026, 4, 6, 7, 8, 9)), 'date')).toBe('2026-05-06T07:08:09.000Z');
  });

  it('checks the calendar: 29 February only in leap years', () => {
    expect(value('2024-02-29', 'date')).toBe('2024-02-29T00:00:00.000Z');
    expect(value('2000-02-29', 'date')).toBe('2000-02-29T00:00:00.000Z'); // divisible by 400: leap
    expect(problem('2026-02-29', 'date')).toContain('not a date of the calendar');
    expect(problem('1900-02-29', 'date')).toContain('not a date of the calendar'); // divisible by 100: not leap
    expect(problem('2026-13-01', 'date')).toContain('not a date of the calendar');
    expect(problem('2026-01-01T24:00:00Z', 'date')).toContain('out of range');
    expect(problem('31/01/2026', 'date')).toContain('not an ISO 8601 date');
    expect(problem(1767225600, 'date')).toContain('not an ISO 8601 date');
  });

  it('parses JSON text and keeps other values as they are; refuses objects as text', () => {
    expect(value('{"a":[1,2]}', 'json')).toEqual({ a: [1, 2] });
    expect(value([1, 2], 'json')).toEqual([1, 2]);
    expect(problem('{a:1}', 'json')).toContain('is not JSON');
    expect(value(12, 'string')).toBe('12');
    expect(problem({ a: 1 }, 'string')).toContain('an object, not text');
  });
});
