import { describe, expect, it } from 'vitest';
import type { Message } from '../collect/message.js';
import { aliasMessage, checkAliases, compileAliases, withEventRename, withPropertyRename } from './aliases.js';
import { convert } from './convert.js';

const track = (event: string, properties: Record<string, unknown>): Message => ({ type: 'track', messageId: 'm', event, properties, context: {}, integrations: {}, timestamp: '', receivedAt: '' });

describe('aliases at collection', () => {
  it('renames the event, then properties scoped to the new name, then converts types', () => {
    const a = compileAliases({
      events: [{ from: 'Order Done', to: 'Order Completed' }],
      properties: [{ event: 'Order Completed', from: 'total', to: 'amount' }, { from: 'ship.cc', to: 'ship.country' }],
      types: [{ event: 'Order Completed', property: 'amount', type: 'number' }],
    });
    const m = track('Order Done', { total: '12.5', ship: { cc: 'FR' } });
    aliasMessage(a, m);
    expect(m).toMatchObject({ event: 'Order Completed', properties: { amount: 12.5, ship: { country: 'FR' } } });
    const other = track('Cart Viewed', { total: '3' });
    aliasMessage(a, other);
    expect(other.properties).toEqual({ total: '3' });
  });

  it('keeps a message that carries both names as it is', () => {
    const m = track('E', { a: 1, b: 2 });
    aliasMessage(compileAliases({ properties: [{ from: 'a', to: 'b' }] }), m);
    expect(m.properties).toEqual({ a: 1, b: 2 });
  });

  it('rewrites chains so each message is renamed once, and renaming back drops the alias', () => {
    const one = withEventRename(undefined, 'A', 'B');
    const two = withEventRename(one, 'B', 'C');
    expect(two.events).toEqual([{ from: 'A', to: 'C' }, { from: 'B', to: 'C' }]);
    expect(checkAliases(two)).toBe(two);
    expect(withEventRename(one, 'B', 'A').events).toEqual([{ from: 'B', to: 'A' }]);
    expect(withPropertyRename(withPropertyRename(undefined, 'E', 'x', 'y'), 'E', 'y', 'z').properties).toEqual([{ event: 'E', from: 'x', to: 'z' }, { event: 'E', from: 'y', to: 'z' }]);
    expect(() => checkAliases({ events: [{ from: 'A', to: 'B' }, { from: 'B', to: 'C' }] })).toThrow(/events\[0\]\.to: 'B' is itself aliased to 'C'/);
  });
});

describe('convert', () => {
  it('converts what a reader would read as the type, and says why not otherwise', () => {
    expect(convert('12.5', 'number')).toEqual({ outcome: 'converted', value: 12.5 });
    expect(convert(' -3e2 ', 'number')).toEqual({ outcome: 'converted', value: -300 });
    expect(convert('0x1f', 'number')).toEqual({ outcome: 'failed', reason: 'string "0x1f" is not a number' });
    expect(convert('', 'number').outcome).toBe('failed');
    expect(convert(7, 'number')).toEqual({ outcome: 'unchanged' });
    expect(convert('12.5', 'integer')).toEqual({ outcome: 'failed', reason: 'string "12.5" is not a whole number' });
    expect(convert('12', 'integer')).toEqual({ outcome: 'converted', value: 12 });
    expect(convert(12, 'string')).toEqual({ outcome: 'converted', value: '12' });
    expect(convert({ a: 1 }, 'string')).toEqual({ outcome: 'failed', reason: 'an object has no text form' });
    expect(convert('Yes', 'boolean')).toEqual({ outcome: 'converted', value: true });
    expect(convert(0, 'boolean')).toEqual({ outcome: 'converted', value: false });
    expect(convert(null, 'number')).toEqual({ outcome: 'unchanged' });
  });
});
