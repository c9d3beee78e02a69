import { describe, expect, it } from 'vitest';
import { compileFunction } from './compile.js';
import { messagesFrom } from './function-output.js';
import { FunctionSandbox } from './sandbox.js';

const sandbox = async (code: string, limits = { timeoutMs: 300, memoryBytes: 4 << 20 }) =>
  FunctionSandbox.create(await compileFunction(code, 'typescript'), limits, { catalog: (c, k) => (c === 'products' && k === 'A1' ? { category: 'shoes' } : undefined) });

describe('FunctionSandbox', () => {
  it('runs each event with ctx.catalog; a failure stays with its own event', async () => {
    const s = await sandbox(`export default (e: any, ctx: any) => {
      if (e.n === 2) throw new RangeError('two');
      if (e.n === 3) { for (;;) {} }
      if (e.n === 4) return undefined;
      return { n: e.n, category: ctx.catalog('products', e.sku), source: ctx.source };
    }`);
    const out = await s.run([{ n: 1, sku: 'A1' }, { n: 2 }, { n: 3 }, { n: 4 }, { n: 5, sku: 'Z' }], { source: 'web' });
    expect(out[0]).toEqual({ ok: true, value: { n: 1, category: { category: 'shoes' }, source: 'web' } });
    expect(out[1]).toEqual({ ok: false, reason: 'error', message: 'RangeError: two' });
    expect(out[2]).toEqual({ ok: false, reason: 'timeout', message: 'exceeded its CPU time limit of 300 ms' });
    expect(out[3]).toMatchObject({ ok: false, reason: 'error', message: expect.stringContaining('returned undefined') });
    expect(out[4]).toEqual({ ok: true, value: { n: 5, category: null, source: 'web' } });
    s.dispose();
  });

  it('stops unbounded allocation at the memory limit and keeps working after it', async () => {
    const s = await sandbox('export default (e: any) => { if (e.grow) { const a: unknown[] = []; for (;;) a.push({ i: a.length }); } return e; }', { timeoutMs: 5000, memoryBytes: 2 << 20 });
    const out = await s.run([{ grow: true }, { grow: false }]);
    expect(out[0]).toEqual({ ok: false, reason: 'memory', message: 'exceeded its memory limit of 2 MB' });
    expect(out[1]).toEqual({ ok: true, value: { grow: false } });
    s.dispose();
  });

  it('has no process, require, fetch or timers', async () => {
    const s = await sandbox('export default () => [typeof process, typeof require, typeof fetch, typeof setTimeout]');
    expect(await s.run([{}])).toEqual([{ ok: true, value: ['undefined', 'undefined', 'undefined', 'undefined'] }]);
    s.dispose();
  });

  it('refuses code without a default export function', async () => {
    await expect(sandbox('export const x = 1')).rejects.toThrow('must export a function');
  });
});

describe('messagesFrom', () => {
  const input = { type: 'track' as const, messageId: 'm1', userId: 'u', event: 'A', properties: {}, context: {}, integrations: {}, timestamp: '2024-01-01T00:00:00.000Z', receivedAt: '2024-01-01T00:00:01.000Z' };
  it('keeps ids and times from the input and numbers split results', () => {
    const r = messagesFrom([{ ...input, event: 'B' }, { ...input, event: 'C' }], input, 32);
    expect(r.ok && r.messages.map((m) => [m.messageId, m.event, m.timestamp, m.receivedAt])).toEqual([
      ['m1', 'B', '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:01.000Z'],
      ['m1:1', 'C', '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:01.000Z'],
    ]);
  });
  it('names the field of an invalid result', () => {
    expect(messagesFrom({ type: 'track', userId: 'u' }, input, 32)).toMatchObject({ ok: false, path: 'result.event' });
    expect(messagesFrom([1], input, 32)).toMatchObject({ ok: false, path: 'result[0]' });
  });
});
