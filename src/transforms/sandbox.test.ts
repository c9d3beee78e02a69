import { describe, expect, it } from 'vitest';
import { compileFunction } from './compile.js';
import { messagesFrom } from './function-output.js';
import { FunctionSandbox } from './sandbox.js';
import { SandboxPool } from './sandbox-pool.js';

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

  it('fails string growth and huge strings at the memory limit at once', async () => {
    const s = await sandbox(`export default (e: any) => {
      if (e.k === 'grow') { let s = 'x'; while (true) s += s; }
      if (e.k === 'repeat') return 'x'.repeat(2 ** 28).length;
      if (e.k === 'pile') { const a: string[] = []; for (;;) a.push('y'.repeat(2 ** 16) + a.length); }
      return e;
    }`, { timeoutMs: 5000, memoryBytes: 4 << 20 });
    const started = performance.now();
    const out = await s.run([{ k: 'grow' }, { k: 'repeat' }, { k: 'pile' }, { k: 'ok' }]);
    const memory = { ok: false, reason: 'memory', message: 'exceeded its memory limit of 4 MB' };
    expect(out).toEqual([memory, memory, memory, { ok: true, value: { k: 'ok' } }]);
    expect(performance.now() - started).toBeLessThan(5000); // none of them ran into the time limit
    s.dispose();
  });

  it('stops a function stuck in a native operation with the watchdog; the event loop stays free', async () => {
    // One string search of 2^23 x 2^12 comparisons: QuickJS's interrupt handler is not consulted inside it.
    const s = await sandbox("export default (e: any) => (e.stall ? 'a'.repeat(2 ** 23).indexOf('a'.repeat(4096) + 'b') : e)", { timeoutMs: 100, memoryBytes: 16 << 20 });
    let gap = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      gap = Math.max(gap, now - last);
      last = now;
    }, 20);
    const started = performance.now();
    const out = await s.run([{ n: 1 }, { stall: true }, { n: 2 }]);
    const ms = performance.now() - started;
    clearInterval(ticker);
    expect(out[0]).toEqual({ ok: true, value: { n: 1 } });
    expect(out[1]).toMatchObject({ ok: false, reason: 'timeout', message: expect.stringMatching(/^exceeded its time limit of 100 ms \(its sandbox thread was stopped after \d+ ms\)$/) });
    expect(out[2]).toEqual({ ok: true, value: { n: 2 } });
    expect(ms).toBeGreaterThan(1000); // the watchdog's margin: the search did stall its thread
    expect(gap).toBeLessThan(1000);
    expect(await s.run([{ n: 3 }])).toEqual([{ ok: true, value: { n: 3 } }]); // loaded again in the new thread
    s.dispose();
  });

  it('keeps catalog rows between calls and reads a row again once it changed', async () => {
    const rows = new Map([['A1', { category: 'shoes' }]]);
    const pool = new SandboxPool(1);
    const s = await FunctionSandbox.create(await compileFunction("export default (e: any, ctx: any) => ctx.catalog('products', 'A1')", 'typescript'), { timeoutMs: 300, memoryBytes: 4 << 20 }, { catalog: (_c, k) => rows.get(k) }, pool);
    expect(await s.run([{}])).toEqual([{ ok: true, value: { category: 'shoes' } }]);
    rows.set('A1', { category: 'hats' });
    pool.rowsChanged('products', 'A1');
    expect(await s.run([{}])).toEqual([{ ok: true, value: { category: 'hats' } }]);
    s.dispose();
    await pool.stop();
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
