import { describe, expect, it } from 'vitest';
import { TandemError } from '../core/errors.js';
import { parseCondition, parseConditionText } from './parse.js';

/** The refusal a definition gets: the path into it and the message. */
function refusal(definition: unknown): { path: string | undefined; message: string } {
  try {
    parseCondition(definition);
  } catch (error) {
    expect(error).toBeInstanceOf(TandemError);
    const e = error as TandemError;
    expect(e.code).toBe('invalid_condition');
    expect(e.status).toBe(400);
    return { path: e.path, message: e.message };
  }
  throw new Error('definition was accepted');
}

describe('parseCondition', () => {
  it('accepts the example of ARCHITECTURE.md section 5, written in YAML', () => {
    const condition = parseConditionText(`
all:
  - performed: Product Added
    within: 24h
  - not: { performed: Order Completed, within: 24h }
  - trait: email
    exists: true
  - computed: lifetime_revenue
    gte: 100
  - subscribed: marketing_email
`);
    expect(condition).toEqual({
      all: [
        { performed: 'Product Added', within: '24h' },
        { not: { performed: 'Order Completed', within: '24h' } },
        { trait: 'email', exists: true },
        { computed: 'lifetime_revenue', gte: 100 },
        { subscribed: 'marketing_email' },
      ],
    });
  });

  it('points at a bad duration inside a list', () => {
    const r = refusal({ all: [{ trait: 'email', exists: true }, { subscribed: 'x' }, { performed: 'Order Completed', within: '24 hours' }] });
    expect(r.path).toBe('all[2].within');
    expect(r.message).toBe('all[2].within: must be a duration such as 24h, 30m or 7d');
  });

  it('names an unknown kind and an unknown field', () => {
    expect(refusal({ any: [{ performd: 'X' }] })).toMatchObject({ path: 'any[0]', message: expect.stringContaining("'performd' is not a kind of condition") });
    expect(refusal({ not: { performed: 'X', windw: '1h' } })).toMatchObject({ path: 'not.windw', message: 'not.windw: is not a known field here' });
  });

  it('refuses two kinds in one node, and a node that is not an object', () => {
    expect(refusal({ trait: 'a', performed: 'b', exists: true })).toMatchObject({ path: '', message: expect.stringContaining('combine them with all or any') });
    expect(refusal({ all: ['email'] }).path).toBe('all[0]');
  });

  it('needs exactly one operator per comparison', () => {
    expect(refusal({ trait: 'age' })).toMatchObject({ path: '', message: expect.stringContaining('needs one operator') });
    expect(refusal({ trait: 'age', gt: 1, lt: 5 }).message).toContain('several operators (gt, lt)');
    expect(refusal({ performed: 'A', where: [{ property: 'total', gte: 1 }, { property: 'sku' }] }).path).toBe('where[1]');
  });

  it('checks operand types with the words of the schema', () => {
    expect(refusal({ computed: 'ltv', gte: '100' })).toMatchObject({ path: 'gte', message: 'gte: must be number' });
    expect(refusal({ trait: 'plan', in: [] })).toMatchObject({ path: 'in', message: 'in: must be a non-empty list of strings, numbers or booleans' });
    expect(refusal({ trait: 'signup', before: { ago: 'a month' } })).toMatchObject({ path: 'before', message: expect.stringContaining('{ ago: 30d }') });
    expect(refusal({ trait: 'age', between: [5, 1] })).toMatchObject({ path: 'between', message: 'between: must be [low, high] with low <= high' });
  });

  it('refuses impossible dates that JavaScript would roll over', () => {
    expect(refusal({ trait: 'signup', after: '2024-02-30' })).toMatchObject({ path: 'after', message: 'after: is not a real date' });
  });

  it('keeps event property filters independent of time', () => {
    // A filter that moved with time would make whether an event matches change after it arrived.
    expect(refusal({ performed: 'A', where: [{ property: 'when', within: '1d' }] })).toMatchObject({ path: 'where[0].within' });
    expect(refusal({ performed: 'A', where: [{ property: 'when', before: { ago: '1d' } }] }).path).toBe('where[0].before');
  });

  it('checks windows and counts of performed', () => {
    expect(refusal({ performed: 'A', within: '1h', between: ['2024-01-01', '2024-02-01'] }).path).toBe('between');
    expect(refusal({ performed: 'A', between: ['2024-02-01', '2024-01-01'] }).message).toContain('from before to');
    expect(refusal({ performed: 'A', count: {} }).path).toBe('count');
    expect(refusal({ performed: 'A', count: { gte: 1.5 } })).toMatchObject({ path: 'count.gte', message: 'count.gte: must be a whole number >= 0' });
    expect(refusal({ last_performed: 'A', ago: {} }).path).toBe('ago');
    expect(refusal({ first_performed: 'A' }).path).toBe('ago');
  });

  it('checks catalog lookups and buckets', () => {
    expect(refusal({ catalog: 'products', key_from: { event_property: 'sku' } }).path).toBe('key_from');
    expect(refusal({ catalog: 'products', key_from: { trait: 'fav' }, where: [{ field: 'stock', gt: 'x' }] }).path).toBe('where[0].gt');
    expect(refusal({ bucket: { salt: 'x' } }).path).toBe('bucket');
    expect(refusal({ bucket: { salt: 'x', gte: 50, lt: 10 } }).message).toContain('gte < lt');
    expect(refusal({ bucket: { salt: 'x', lt: 101 } }).path).toBe('bucket.lt');
  });

  it('prefixes paths for a condition inside a larger document', () => {
    try {
      parseCondition({ in_audience: 5 }, 'definition.condition');
    } catch (error) {
      expect((error as TandemError).path).toBe('definition.condition.in_audience');
      return;
    }
    throw new Error('accepted');
  });
});
