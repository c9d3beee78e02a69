import { newQuickJSWASMModule, RELEASE_SYNC, type QuickJSContext, type QuickJSHandle, type QuickJSRuntime, type QuickJSWASMModule } from 'quickjs-emscripten';

/** What one call may use: CPU time (wall clock of the synchronous call) and memory of the function's heap. */
export interface SandboxLimits {
  timeoutMs: number;
  memoryBytes: number;
}

export const DEFAULT_LIMITS: SandboxLimits = { timeoutMs: 50, memoryBytes: 32 * 1024 * 1024 };

/** What the function can reach besides its arguments: read-only catalog rows. */
export interface SandboxHost {
  catalog(catalog: string, key: string): Record<string, unknown> | undefined;
}

/** The `ctx` a call sees (besides `ctx.catalog(name, key)`). */
export type CallInfo = Record<string, unknown>;

export type CallFailure = { ok: false; reason: 'error' | 'timeout' | 'memory'; message: string };
export type CallOutcome = { ok: true; value: unknown } | CallFailure;

/**
 * A QuickJS WebAssembly instance of its own (its own linear memory): a function that exhausts memory can leave
 * QuickJS's allocator in a state where the next runtime fails, so each sandbox has its instance and replaces it
 * after a timeout or memory failure.
 */
export const loadQuickJs = (): Promise<QuickJSWASMModule> => newQuickJSWASMModule(RELEASE_SYNC);

/** Events per crossing into the VM, and the JSON size that ends a chunk early (the batch counts against memory). */
const CHUNK_EVENTS = 256;
const CHUNK_CHARS = 512 * 1024;

// Runs inside the VM once: loads the user's CommonJS script and defines the batch entry point. Each event is its own
// try/catch, so one throw fails one event; JSON crosses the boundary (one string each way per chunk).
const BOOT = (script: string) => `
var module = { exports: {} }, exports = module.exports;
(function (module, exports) {
${script}
})(module, exports);
var __fn = typeof module.exports === 'function' ? module.exports : module.exports && module.exports.default;
if (typeof __fn !== 'function') throw new TypeError('the code must export a function: export default (event, ctx) => event');
var __describe = function (e) {
  return e instanceof Error ? e.name + ': ' + e.message : 'threw ' + String(e);
};
globalThis.__run = function (json, infoJson) {
  var events = JSON.parse(json), info = JSON.parse(infoJson), out = [], rows = new Map();
  // Rows are read once per chunk (a row may change between chunks, not within one); each event gets its own copy.
  var ctx = Object.freeze(Object.assign({}, info, {
    catalog: function (name, key) {
      var id = String(name) + '\\u0000' + String(key), row = rows.get(id);
      if (row === undefined) rows.set(id, (row = __catalog(String(name), String(key)) || ''));
      return row === '' ? null : JSON.parse(row);
    }
  }));
  for (var i = 0; i < events.length; i++) {
    try {
      var r = __fn(events[i], ctx);
      if (r === undefined) throw new TypeError('the function returned undefined; return the event, an array of events, or null to drop it');
      out.push('[1,' + JSON.stringify(r) + ']');
    } catch (e) {
      out.push(JSON.stringify([0, __describe(e)]));
    }
  }
  return '[' + out.join(',') + ']';
};`;

const isMemoryError = (message: string) => /out of memory|string too long|invalid array length/i.test(message);

/**
 * One event function in a QuickJS sandbox (WebAssembly): no process, file system, network or timers; only the
 * event, `ctx` and catalog lookups. Each call has a CPU-time budget (an interrupt handler) and the runtime a memory
 * limit. Events run in chunks for speed; when a chunk is stopped as a whole (a timeout, memory) each of its events
 * runs again alone with the full limits, so only the culprit fails; the VM is rebuilt after such a stop.
 */
export class FunctionSandbox {
  private runtime!: QuickJSRuntime;
  private context!: QuickJSContext;
  private entry!: QuickJSHandle;
  private deadline = Infinity;

  private constructor(
    private qjs: QuickJSWASMModule,
    private readonly script: string,
    readonly limits: SandboxLimits,
    private readonly host: SandboxHost,
  ) {}

  /** Builds the VM and evaluates the script; throws an Error naming what is wrong with it. */
  static async create(script: string, limits: SandboxLimits, host: SandboxHost): Promise<FunctionSandbox> {
    const sandbox = new FunctionSandbox(await loadQuickJs(), script, limits, host);
    sandbox.build();
    return sandbox;
  }

  private build(): void {
    const runtime = this.qjs.newRuntime();
    runtime.setMemoryLimit(this.limits.memoryBytes);
    runtime.setMaxStackSize(512 * 1024);
    runtime.setInterruptHandler(() => performance.now() > this.deadline);
    const context = runtime.newContext();
    const catalog = context.newFunction('__catalog', (name, key) => {
      const row = this.host.catalog(context.getString(name), context.getString(key));
      return row === undefined ? context.undefined : context.newString(JSON.stringify(row));
    });
    context.setProp(context.global, '__catalog', catalog);
    catalog.dispose();
    this.deadline = performance.now() + Math.max(2000, this.limits.timeoutMs * 4); // loading (top-level code) gets more room than a call
    const booted = context.evalCode(BOOT(this.script), 'function');
    this.deadline = Infinity;
    if (booted.error) {
      const message = describe(context, booted.error);
      booted.error.dispose();
      context.dispose();
      runtime.dispose();
      throw new Error(message);
    }
    booted.value.dispose();
    this.runtime = runtime;
    this.context = context;
    this.entry = context.getProp(context.global, '__run');
  }

  /** After a stop: a fresh WebAssembly instance and VM (an exhausted allocator can break the old instance). */
  private async fresh(): Promise<void> {
    try {
      this.dispose();
    } catch {
      // The instance may be damaged; it is dropped either way.
    }
    this.qjs = await loadQuickJs();
    this.build();
  }

  dispose(): void {
    if (!this.runtime?.alive) return;
    this.entry.dispose();
    this.context.dispose();
    this.runtime.dispose();
  }

  /** Runs the function on each event; one outcome per event, in order. */
  async run(events: unknown[], info: CallInfo = {}): Promise<CallOutcome[]> {
    const infoJson = JSON.stringify(info);
    const out: CallOutcome[] = [];
    let chunk: string[] = [];
    let chars = 0;
    const flush = async () => {
      if (chunk.length) out.push(...(await this.runChunk(chunk, infoJson)));
      chunk = [];
      chars = 0;
    };
    for (const event of events) {
      const json = JSON.stringify(event);
      if (chunk.length && (chunk.length >= CHUNK_EVENTS || chars + json.length > CHUNK_CHARS)) await flush();
      chunk.push(json);
      chars += json.length;
    }
    await flush();
    return out;
  }

  private async runChunk(events: string[], infoJson: string): Promise<CallOutcome[]> {
    const whole = this.call(`[${events.join(',')}]`, infoJson);
    if (Array.isArray(whole)) return whole;
    await this.fresh();
    if (events.length === 1) return [whole];
    // Stopped as a whole: each event alone, with its own budget, so that only the culprit fails.
    const out: CallOutcome[] = [];
    for (const e of events) {
      const alone = this.call(`[${e}]`, infoJson);
      if (Array.isArray(alone)) out.push(alone[0]);
      else {
        out.push(alone);
        await this.fresh();
      }
    }
    return out;
  }

  private call(json: string, infoJson: string): CallOutcome[] | CallFailure {
    const { context } = this;
    const arg = context.newString(json);
    const info = context.newString(infoJson);
    this.deadline = performance.now() + this.limits.timeoutMs;
    const result = context.callFunction(this.entry, context.undefined, arg, info);
    const timedOut = performance.now() > this.deadline;
    this.deadline = Infinity;
    arg.dispose();
    info.dispose();
    if (result.error) {
      const message = describe(context, result.error);
      result.error.dispose();
      if (timedOut || /interrupted/i.test(message)) return { ok: false, reason: 'timeout', message: `exceeded its CPU time limit of ${this.limits.timeoutMs} ms` };
      if (isMemoryError(message)) return { ok: false, reason: 'memory', message: `exceeded its memory limit of ${Math.round(this.limits.memoryBytes / 1048576)} MB` };
      return { ok: false, reason: 'error', message };
    }
    const text = context.getString(result.value);
    result.value.dispose();
    const rows = JSON.parse(text) as ([1, unknown] | [0, string])[];
    return rows.map((r) => {
      if (r[0] === 1) return { ok: true, value: r[1] };
      const message = r[1];
      return isMemoryError(message)
        ? { ok: false, reason: 'memory', message: `exceeded its memory limit of ${Math.round(this.limits.memoryBytes / 1048576)} MB` }
        : { ok: false, reason: 'error', message };
    });
  }
}

function describe(context: QuickJSContext, error: QuickJSHandle): string {
  const e = context.dump(error) as unknown;
  if (e && typeof e === 'object' && 'message' in e) {
    const { name, message } = e as { name?: string; message: string };
    return `${name ?? 'Error'}: ${message}`;
  }
  return String(e);
}
