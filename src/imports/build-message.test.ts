import { describe, expect, it } from 'vitest';
import { TandemError } from '../core/errors.js';
import { buildMessage, stableMessageId, type ImportRow } from './build-message.js';
import { buildMapping } from './mapping.js';

const csvRow = (row: number, values: Record<string, string>): ImportRow => ({ row, values, identity: JSON.stringify(Object.values(values)), emptyIsAbsent: true });
const jsonRow = (row: number, values: Record<string, unknown>): ImportRow => ({ row, values, identity: JSON.stringify(values), emptyIsAbsent: false });

describe('import rows to messages', () => {
  it('maps CSV columns to the declared fields and types; other columns become string properties', () => {
    const mapping = buildMapping('events', { map: ['customer=userId', 'amount=properties.revenue:number', 'paid=properties.paid:boolean', 'at=timestamp', 'name=event'] });
    const built = buildMessage(csvRow(2, { customer: 'c-1', amount: '19.90', paid: 'yes', at: '2026-01-02T03:04:05+01:00', name: 'Order Completed', sku: '00042', note: '' }), mapping, 'file:events:a.csv');
    expect(built.ok).toBe(true);
    if (!built.ok) return;
    expect(built.message).toEqual({
      type: 'track',
      userId: 'c-1',
      event: 'Order Completed',
      timestamp: '2026-01-02T02:04:05.000Z',
      properties: { revenue: 19.9, paid: true, sku: '00042' }, // the empty cell states nothing; leading zeros stay
      messageId: stableMessageId('file:events:a.csv', JSON.stringify(['c-1', '19.90', 'yes', '2026-01-02T03:04:05+01:00', 'Order Completed', '00042', ''])),
    });
  });

  it('lists every problem of a row with its column and field', () => {
    const mapping = buildMapping('events', { map: ['amount=properties.revenue:number', 'at=timestamp'], event: 'Bought' });
    const built = buildMessage(csvRow(7, { amount: 'ten', at: 'yesterday' }), mapping, 's');
    expect(built.ok).toBe(false);
    if (built.ok) return;
    expect(built.problems.map((p) => [p.row, p.column, p.field])).toEqual([
      [7, 'amount', 'properties.revenue'],
      [7, 'at', 'timestamp'],
      [7, undefined, 'userId'],
    ]);
  });

  it('gives the same messageId to the same row and different ones to different rows or inputs', () => {
    const mapping = buildMapping('events', { event: 'E' });
    const id = (row: ImportRow, scope = 's') => (buildMessage(row, mapping, scope) as unknown as { message: { messageId: string } }).message.messageId;
    const a = csvRow(2, { userId: 'u', x: '1' });
    expect(id(a)).toBe(id(csvRow(2, { userId: 'u', x: '1' })));
    expect(id(a)).not.toBe(id(csvRow(2, { userId: 'u', x: '2' })));
    expect(id(a)).not.toBe(id(a, 'other file'));
    expect(id(a)).toMatch(/^imp-[A-Za-z0-9_-]{32}$/);
  });

  it('takes a JSON line that is already a Segment identify, keeping typed values', () => {
    const mapping = buildMapping('traits', {});
    const built = buildMessage(jsonRow(1, { type: 'identify', userId: 'u1', traits: { plan: 'pro', seats: 3 }, sentAt: '2026-01-01T00:00:00Z', vip: true }), mapping, 's');
    expect(built.ok && built.message).toMatchObject({ type: 'identify', userId: 'u1', traits: { plan: 'pro', seats: 3, vip: true } });
    expect(built.ok && 'sentAt' in built.message).toBe(false);
    const wrong = buildMessage(jsonRow(2, { type: 'track', userId: 'u1' }), mapping, 's');
    expect(!wrong.ok && wrong.problems[0]).toMatchObject({ row: 2, column: 'type', field: 'type' });
  });

  it('reads a dotted column of a JSON line and names a person by e-mail alone', () => {
    const mapping = buildMapping('traits', { map: ['contact.email=traits.email', 'crm.id=context.externalIds.crm_id'], onlyMapped: true });
    const built = buildMessage(jsonRow(1, { contact: { email: 'Ann@Example.com' }, crm: { id: 'C9' }, other: 1 }), mapping, 's');
    expect(built.ok && built.message).toMatchObject({
      anonymousId: 'import:email:ann@example.com',
      traits: { email: 'Ann@Example.com' },
      context: { externalIds: [{ id: 'C9', type: 'crm_id', collection: 'users', encoding: 'none' }] },
    });
    expect(built.ok && (built.message.traits as Record<string, unknown>).other).toBeUndefined();
  });

  it('refuses mappings that name unknown fields, types, or fields of the other kind', () => {
    const error = (kind: 'events' | 'traits', spec: string) => {
      try {
        buildMapping(kind, { map: [spec] });
      } catch (e) {
        return e instanceof TandemError ? e.message : String(e);
      }
      return undefined;
    };
    expect(error('events', 'a=revenue')).toContain("unknown field 'revenue'");
    expect(error('events', 'a=properties.x:money')).toContain("unknown type 'money'");
    expect(error('traits', 'a=event')).toContain('identify');
    expect(error('events', 'a=userId:number')).toContain('always text');
    expect(error('events', 'a=timestamp:number')).toContain('timestamp is a date');
    expect(error('events', 'a=properties.__proto__')).toContain('cannot be a field name');
    expect(error('events', 'nonsense')).toContain('column=field');
  });
});
