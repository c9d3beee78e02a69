/** The types a property can be retyped to, and the conversion of one value (what a dry run counts and a run writes). */
export const TargetTypes = ['number', 'integer', 'string', 'boolean'] as const;
export type TargetType = (typeof TargetTypes)[number];

export type Conversion =
  /** Already of the type (or null): left as it is. */
  | { outcome: 'unchanged' }
  | { outcome: 'converted'; value: unknown }
  | { outcome: 'failed'; reason: string };

// A decimal number as people write it in JSON or a form: sign, digits, optional fraction and exponent. No
// thousands separators, no hex, no Infinity: what Number() would also accept ('', '0x1f') is not meant as a number.
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const TRUE = new Set(['true', 'yes', '1']);
const FALSE = new Set(['false', 'no', '0']);

const describe = (v: unknown) => (Array.isArray(v) ? 'a list' : v === null ? 'null' : typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`);

/** Converts one value to `type`. Null stays null (absent is not a type error); objects and lists never convert. */
export function convert(value: unknown, type: TargetType): Conversion {
  if (value === null) return { outcome: 'unchanged' };
  switch (type) {
    case 'number':
    case 'integer': {
      let n: number;
      if (typeof value === 'number') {
        if (type === 'number' || Number.isInteger(value)) return { outcome: 'unchanged' };
        return { outcome: 'failed', reason: `${value} is not a whole number` };
      }
      if (typeof value === 'string' && DECIMAL.test(value.trim())) n = Number(value.trim());
      else if (typeof value === 'boolean') return { outcome: 'failed', reason: `${describe(value)} is not a number` };
      else return { outcome: 'failed', reason: `${describe(value)} is not a number` };
      if (!Number.isFinite(n)) return { outcome: 'failed', reason: `${describe(value)} is out of range` };
      if (type === 'integer' && !Number.isInteger(n)) return { outcome: 'failed', reason: `${describe(value)} is not a whole number` };
      return { outcome: 'converted', value: n };
    }
    case 'string':
      if (typeof value === 'string') return { outcome: 'unchanged' };
      if (typeof value === 'number' || typeof value === 'boolean') return { outcome: 'converted', value: String(value) };
      return { outcome: 'failed', reason: `${describe(value)} has no text form` };
    case 'boolean': {
      if (typeof value === 'boolean') return { outcome: 'unchanged' };
      const text = typeof value === 'string' ? value.trim().toLowerCase() : typeof value === 'number' ? String(value) : undefined;
      if (text !== undefined && TRUE.has(text)) return { outcome: 'converted', value: true };
      if (text !== undefined && FALSE.has(text)) return { outcome: 'converted', value: false };
      return { outcome: 'failed', reason: `${describe(value)} is not true or false` };
    }
  }
}
