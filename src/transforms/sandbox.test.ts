import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
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

  it('stops unbounded allocation at the memory limit in the isolate, keeps the process, and keeps working after it', async () => {
    const pool = new SandboxPool(1);
    const s = await FunctionSandbox.create(await compileFunction('export default (e: any) => { if (e.grow) { const a: unknown[] = []; for (;;) a.push({ i: a.length }); } return e; }', 'typescript'), { timeoutMs: 5000, memoryBytes: 2 << 20 }, { catalog: () => undefined }, pool);
    const out = await s.run([{ n: 1 }, { grow: true }, { grow: false }]);
    expect(out).toEqual([{ ok: true, value: { n: 1 } }, { ok: false, reason: 'memory', message: 'exceeded its memory limit of 2 MB' }, { ok: true, value: { grow: false } }]);
    expect(pool.restarts).toBe(0); // V8 stopped the isolate; the watchdog did not have to kill the process
    s.dispose();
    await pool.stop();
  });

  it('fails string growth, piles of strings and allocations V8 cannot survive at the memory limit at once', async () => {
    // s += s stops at V8's longest string; splitting a 2^27-character string asks for an array V8 cannot allocate
    // within the heap limit, and V8 aborts the sandbox process (the pool starts another).
    const s = await sandbox(`export default (e: any) => {
      if (e.k === 'grow') { let s = 'x'; while (true) s += s; }
      if (e.k === 'split') return 'x'.repeat(2 ** 27).split('').length;
      if (e.k === 'pile') { const a: string[] = []; for (;;) a.push('y'.repeat(2 ** 16) + a.length); }
      return e;
    }`, { timeoutMs: 30_000, memoryBytes: 4 << 20 });
    const started = performance.now();
    const out = await s.run([{ k: 'grow' }, { k: 'split' }, { k: 'pile' }, { k: 'ok' }]);
    const memory = { ok: false, reason: 'memory', message: 'exceeded its memory limit of 4 MB' };
    expect(out).toEqual([memory, memory, memory, { ok: true, value: { k: 'ok' } }]);
    expect(performance.now() - started).toBeLessThan(15_000); // none of them ran into the time limit
    s.dispose();
  });

  it('stops an endless loop at the time limit without restarting the process; the function keeps its state', async () => {
    const pool = new SandboxPool(1);
    const code = 'let calls = 0; export default (e: any) => { calls++; if (e.loop) { for (;;) {} } return { calls }; }';
    const s = await FunctionSandbox.create(await compileFunction(code, 'typescript'), { timeoutMs: 100, memoryBytes: 8 << 20 }, { catalog: () => undefined }, pool);
    const started = performance.now();
    expect(await s.run([{ loop: true }])).toEqual([{ ok: false, reason: 'timeout', message: 'exceeded its CPU time limit of 100 ms' }]);
    expect(performance.now() - started).toBeLessThan(1000); // V8 terminated it: not the watchdog's margin
    // The isolate was kept (a new one would count 1); the loop may have run twice when the machine was busy.
    const [after] = await s.run([{}]);
    expect(after.ok && (after.value as { calls: number }).calls).toBeGreaterThanOrEqual(2);
    expect(pool.restarts).toBe(0);
    s.dispose();
    await pool.stop();
  });

  it('kills the process of a function stuck in a native operation with the watchdog; only the culprit fails, the event loop stays free', async () => {
    // String.prototype.lastIndexOf is a plain search in V8's C++ runtime (2^20 positions x 2^14 characters here), where
    // V8 does not look at its interrupts: the time limit cannot stop it, so the watchdog kills the process.
    const pool = new SandboxPool(1);
    const s = await FunctionSandbox.create(await compileFunction("export default (e: any) => (e.stall ? 'a'.repeat(2 ** 20).lastIndexOf('a'.repeat(2 ** 14) + 'b') : e)", 'typescript'), { timeoutMs: 100, memoryBytes: 16 << 20 }, { catalog: () => undefined }, pool);
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
    expect(out[1]).toMatchObject({ ok: false, reason: 'timeout', message: expect.stringMatching(/^exceeded its time limit of 100 ms \(its sandbox process was stopped after \d+ ms\)$/) });
    expect(out[2]).toEqual({ ok: true, value: { n: 2 } });
    expect(ms).toBeGreaterThan(1000); // the watchdog's margin: the search did stall its process
    expect(gap).toBeLessThan(1000);
    expect(pool.restarts).toBeGreaterThanOrEqual(1); // the chunk, then the culprit alone
    expect(await s.run([{ n: 3 }])).toEqual([{ ok: true, value: { n: 3 } }]); // loaded again in the new process
    s.dispose();
    await pool.stop();
  });

  it('leaves no sandbox process running on when its server is killed in the middle of a stuck call', async () => {
    const fixture = fileURLToPath(new URL('./sandbox-orphan.fixture.ts', import.meta.url));
    const server = spawn(process.execPath, ['--import', 'tsx', fixture], { stdio: ['ignore', 'pipe', 'inherit'] });
    let printed = '';
    server.stdout.on('data', (d: Buffer) => (printed += d.toString()));
    await new Promise((resolve) => server.once('exit', resolve));
    const pid = Number(printed.trim());
    expect(pid).toBeGreaterThan(0);
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const until = performance.now() + 10_000;
    while (alive() && performance.now() < until) await new Promise((resolve) => setTimeout(resolve, 100));
    const left = alive();
    if (left) process.kill(pid, 'SIGKILL');
    expect(left).toBe(false);
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

  it('does not count a wait for catalog rows against the time limit; passes large rows whole', async () => {
    // The first lookup holds the host for 250 ms, past the 100 ms limit: time in a host callback is not the isolate's
    // (isolated-vm leaves it out; were it counted, the call would run once more, the row then at hand).
    let slow = true;
    const big = 'z'.repeat(200_000);
    const host = {
      catalog: (_c: string, k: string) => {
        if (slow) {
          slow = false;
          const until = performance.now() + 250;
          while (performance.now() < until);
        }
        return k === 'big' ? { big } : { k };
      },
    };
    const pool = new SandboxPool(1);
    const s = await FunctionSandbox.create(await compileFunction("export default (e: any, ctx: any) => { const r = ctx.catalog('c', e.k); return r.big ? r.big.length : r.k; }", 'typescript'), { timeoutMs: 100, memoryBytes: 16 << 20 }, host, pool);
    expect(await s.run([{ k: 'a' }])).toEqual([{ ok: true, value: 'a' }]); // one event: no rerun alone could save it
    expect(await s.run([{ k: 'big' }, { k: 'b' }])).toEqual([{ ok: true, value: 200_000 }, { ok: true, value: 'b' }]);
    expect(pool.restarts).toBe(0);
    s.dispose();
    await pool.stop();
  });

  it('runs a call once more when its wall clock ran out while the isolate did not use its CPU time (a busy machine)', async () => {
    // The sandbox process is stopped (SIGSTOP) for 2.5 s in the middle of a call that needs about 0.1 s of CPU: the
    // 1 s limit passes on the wall clock, not in the process's CPU time.
    const pool = new SandboxPool(1);
    let stopped = false;
    const host = {
      catalog: () => {
        if (!stopped) {
          stopped = true;
          setTimeout(() => {
            const [pid] = pool.pids;
            process.kill(pid, 'SIGSTOP');
            setTimeout(() => process.kill(pid, 'SIGCONT'), 2500);
          }, 5);
        }
        return { ok: 1 };
      },
    };
    const code = "export default (e: any, ctx: any) => { ctx.catalog('c', 'k'); let x = 0; for (let i = 0; i < 1e7; i++) x = (x + i) % 1000003; return x; }";
    const s = await FunctionSandbox.create(await compileFunction(code, 'typescript'), { timeoutMs: 1000, memoryBytes: 8 << 20 }, host, pool);
    const started = performance.now();
    const [out] = await s.run([{}]);
    expect(out).toMatchObject({ ok: true, value: expect.any(Number) });
    expect(performance.now() - started).toBeGreaterThan(2500); // the stop did fall inside the call
    expect(pool.restarts).toBe(0);
    s.dispose();
    await pool.stop();
  });

  it('has no process, require, fetch, timers, WebAssembly or host callback, and no way back to them', async () => {
    const s = await sandbox(`export default () => [
      typeof process, typeof require, typeof fetch, typeof setTimeout, typeof WebAssembly, typeof SharedArrayBuffer,
      typeof (globalThis as any).__catalog, Object.getOwnPropertyNames(globalThis).filter((k) => /^(process|require|module|exports|global|Buffer)$|^__/.test(k) && k !== '__run'),
      Function('return typeof process')(), ({}).constructor.constructor('return typeof require')(),
    ]`);
    expect(await s.run([{}])).toEqual([{ ok: true, value: ['undefined', 'undefined', 'undefined', 'undefined', 'undefined', 'undefined', 'undefined', [], 'undefined', 'undefined'] }]);
    s.dispose();
  });

  it('refuses code that needs a module at load time', async () => {
    await expect(sandbox("import { readFileSync } from 'node:fs'; export default (e: any) => readFileSync(e.path)")).rejects.toThrow(/require is not defined/);
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
