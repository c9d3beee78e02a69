// The sandbox thread: it owns the QuickJS virtual machines of the functions assigned to it and runs one request at a
// time, so that a function stuck in a long native operation (which QuickJS's interrupt handler does not reach) blocks
// this thread, never the event loop; the pool (sandbox-pool.ts) terminates the thread when a request overruns its
// budget. Plain JavaScript, so the thread starts quickly again without a TypeScript loader.
//
// Messages in: { op: 'load', id, script, limits } | { op: 'call', id, events, info } | { op: 'drop', id }
// | { op: 'rows', keys } (catalog rows changed). Replies (load and call only): { ok: true, text? } | { ok: false, message,
// timedOut?, memory? }. Catalog lookups go to the pool synchronously: a request on `port`, then Atomics.wait on
// `flag` until the answer is on the port.
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { newQuickJSWASMModuleFromVariant, newVariant, RELEASE_SYNC } from 'quickjs-emscripten';

const { port, flag: flagBuffer } = workerData;
const flag = new Int32Array(flagBuffer);

const WASM_PAGE = 65536;
/** The QuickJS build's own minimum memory (16 MB); a function's memory limit comes on top of it. */
const INITIAL_PAGES = 256;
/** Rows a VM keeps between calls (cleared whole beyond this), and how long before it reads them all again. */
const ROW_CACHE_ROWS = 10_000;
const ROW_CACHE_MS = 10_000;
/**
 * Time a call may spend waiting for catalog rows on top of its CPU-time limit: a lookup's wait is the event loop's, not
 * the function's. Beyond it the wait counts against the limit, so a storm of lookups is bounded all the same.
 */
const CATALOG_WAIT_MS = 2000;

// Runs inside the VM once: loads the user's CommonJS script and defines the batch entry point. Each event is its own
// try/catch, so one throw fails one event; JSON crosses the boundary (one string each way per chunk). Catalog rows are
// kept between calls (as JSON, each lookup gets its own copy) until the host says they changed.
const BOOT = (script) => `
var module = { exports: {} }, exports = module.exports;
(function (module, exports) {
${script}
})(module, exports);
var __fn = typeof module.exports === 'function' ? module.exports : module.exports && module.exports.default;
if (typeof __fn !== 'function') throw new TypeError('the code must export a function: export default (event, ctx) => event');
var __describe = function (e) {
  return e instanceof Error ? e.name + ': ' + e.message : 'threw ' + String(e);
};
var __rows = new Map();
globalThis.__run = function (json, infoJson, changed) {
  if (changed === '*' || __rows.size > ${ROW_CACHE_ROWS}) __rows.clear();
  else if (changed !== '') JSON.parse(changed).forEach(function (id) { __rows.delete(id); });
  var events = JSON.parse(json), info = JSON.parse(infoJson);
  var ctx = Object.freeze(Object.assign({}, info, {
    catalog: function (name, key) {
      var id = String(name) + '\\u0000' + String(key), row = __rows.get(id);
      if (row === undefined) __rows.set(id, (row = __catalog(String(name), String(key)) || ''));
      return row === '' ? null : JSON.parse(row);
    }
  }));
  // Results are stringified together (much faster in QuickJS than one by one); only when that throws (a cycle, a
  // BigInt deep inside) is each done alone, so that the failure stays with its own event.
  var results = new Array(events.length), alone = false;
  for (var i = 0; i < events.length; i++) {
    try {
      var r = __fn(events[i], ctx), t = typeof r;
      if (r === undefined) throw new TypeError('the function returned undefined; return the event, an array of events, or null to drop it');
      if (t === 'function' || t === 'symbol' || t === 'bigint') throw new TypeError('the function returned a ' + t + '; return the event, an array of events, or null to drop it');
      if (t === 'object' && r !== null && typeof r.toJSON === 'function') alone = true;
      results[i] = [1, r];
    } catch (e) {
      results[i] = [0, __describe(e)];
    }
  }
  if (!alone) {
    try {
      return JSON.stringify(results);
    } catch (e) {
      // one result cannot be serialised: each alone below
    }
  }
  var out = [];
  for (var j = 0; j < results.length; j++) {
    var s;
    try {
      s = JSON.stringify(results[j]);
      if (s === '[1,null]' && results[j][1] !== null) throw new TypeError('the function returned something that is not JSON; return the event, an array of events, or null to drop it');
    } catch (e) {
      s = JSON.stringify([0, __describe(e)]);
    }
    out.push(s);
  }
  return '[' + out.join(',') + ']';
};`;

/** The compiled QuickJS WebAssembly module, shared by the VMs of this thread (each gets its own instance and memory). */
let compiled;
function wasmModule() {
  if (compiled === undefined) {
    try {
      const file = createRequire(createRequire(import.meta.url).resolve('quickjs-emscripten')).resolve('@jitl/quickjs-wasmfile-release-sync/wasm');
      compiled = new WebAssembly.Module(readFileSync(file));
    } catch {
      compiled = null; // the variant then loads and compiles it for each VM
    }
  }
  return compiled ?? undefined;
}

let deadline = Infinity;
let lookups = 0;
/** Catalog wait credited to the current call (its deadline moved by as much). */
let waited = 0;

/** A catalog row from the pool, as JSON (null when absent); waits at most until the call's deadline. */
function lookup(id, catalog, key) {
  const seq = ++lookups;
  const started = performance.now();
  port.postMessage([seq, id, catalog, key, waited]);
  for (;;) {
    const got = receiveMessageOnPort(port);
    if (got) {
      if (got.message[0] !== seq) continue; // the late answer of a lookup that gave up
      const credit = Math.min(performance.now() - started, CATALOG_WAIT_MS - waited);
      waited += credit;
      deadline += credit;
      return got.message[1];
    }
    const left = deadline + (CATALOG_WAIT_MS - waited) - performance.now();
    if (left <= 0) throw new Error(`ctx.catalog('${catalog}', '${key}') got no answer within the time limit`);
    Atomics.wait(flag, 0, 0, Math.min(left, 1000));
    Atomics.store(flag, 0, 0);
  }
}

const encoder = new TextEncoder();

/** One function's VM: its own WebAssembly instance, whose memory cannot grow past the function's limit. */
class Vm {
  constructor(id, script, limits) {
    this.id = id;
    this.script = script;
    this.limits = limits;
    this.changed = [];
    this.rowsSince = performance.now();
  }

  async build() {
    const { timeoutMs, memoryBytes } = this.limits;
    // The bound is the WebAssembly memory itself: an allocation past its maximum fails and QuickJS throws "out of
    // memory" (or, when it cannot even allocate that error, null: a failed growth tells the two apart). QuickJS's own
    // limit is not used: in this build it counts a few bytes per allocation, whatever its size.
    const maximum = INITIAL_PAGES + Math.ceil(memoryBytes / WASM_PAGE);
    const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum });
    const grow = memory.grow.bind(memory);
    memory.grow = (pages) => {
      try {
        return grow(pages);
      } catch (error) {
        this.exhausted = true;
        throw error;
      }
    };
    const module = wasmModule();
    const qjs = await newQuickJSWASMModuleFromVariant(newVariant(RELEASE_SYNC, { wasmMemory: memory, ...(module ? { wasmModule: module } : {}) }));
    const runtime = qjs.newRuntime();
    runtime.setMaxStackSize(512 * 1024);
    runtime.setInterruptHandler(() => performance.now() > deadline);
    const context = runtime.newContext();
    const catalog = context.newFunction('__catalog', (name, key) => {
      const row = lookup(this.id, context.getString(name), context.getString(key));
      return row === null ? context.undefined : context.newString(row);
    });
    context.setProp(context.global, '__catalog', catalog);
    catalog.dispose();
    waited = 0;
    deadline = performance.now() + bootMs(timeoutMs); // loading (top-level code) gets more room than a call
    const booted = context.evalCode(BOOT(this.script), 'function');
    deadline = Infinity;
    if (booted.error) {
      const message = this.exhausted ? 'InternalError: out of memory' : describe(context, booted.error);
      booted.error.dispose();
      context.dispose();
      runtime.dispose();
      throw new Error(message);
    }
    booted.value.dispose();
    this.qjs = qjs;
    this.runtime = runtime;
    this.context = context;
    this.entry = context.getProp(context.global, '__run');
  }

  get alive() {
    return this.runtime?.alive === true;
  }

  dispose() {
    if (!this.alive) return;
    try {
      this.entry.dispose();
      this.context.dispose();
      this.runtime.dispose();
    } catch {
      // An instance whose allocator is exhausted may fail to free; it is dropped either way.
    }
    this.runtime = undefined;
  }

  /** Rows changed since the last call: '' none, '*' all, else a JSON list of cache ids. */
  takeChanged() {
    let changed = '';
    if (this.changed === '*' || performance.now() - this.rowsSince > ROW_CACHE_MS) changed = '*';
    else if (this.changed.length) changed = JSON.stringify(this.changed);
    if (changed === '*') this.rowsSince = performance.now();
    this.changed = [];
    return changed;
  }

  rowsChanged(keys) {
    if (this.changed === '*') return;
    for (const [catalog, key] of keys) this.changed.push(`${catalog}\u0000${key}`);
    if (this.changed.length > 1000) this.changed = '*';
  }

  call(events, info) {
    const { context } = this;
    const arg = this.newString(events);
    const infoHandle = context.newString(info);
    const changed = context.newString(this.takeChanged());
    this.exhausted = false;
    waited = 0;
    deadline = performance.now() + this.limits.timeoutMs;
    const result = context.callFunction(this.entry, context.undefined, arg, infoHandle, changed);
    const timedOut = performance.now() > deadline;
    deadline = Infinity;
    arg.dispose();
    infoHandle.dispose();
    changed.dispose();
    if (result.error) {
      const message = describe(context, result.error);
      result.error.dispose();
      return { ok: false, message, timedOut: timedOut || /interrupted/i.test(message) };
    }
    let text = context.getString(result.value);
    result.value.dispose();
    if (!this.exhausted) return { ok: true, text };
    // The memory reached its maximum: an event may have failed for it, even as `throw null` when QuickJS could not
    // allocate the error itself. Such failures are named, and the VM is rebuilt before its next call.
    const rows = JSON.parse(text).map((r) => (r[0] === 0 && (r[1] === 'threw null' || isMemoryError(r[1])) ? [0, 'InternalError: out of memory'] : r));
    text = JSON.stringify(rows);
    return { ok: true, text, exhausted: true };
  }

  /**
   * A JavaScript string as a VM string. quickjs-emscripten's newString encodes UTF-8 in a JavaScript loop; for the
   * large JSON of a chunk, TextEncoder writes straight into the heap, several times faster (its FFI, version 0.32).
   */
  newString(text) {
    const { module, ffi } = this.qjs;
    const memory = this.context.memory;
    if (text.length < 256 || !module?._malloc || !ffi?.QTS_NewString || !memory?.heapValueHandle) return this.context.newString(text);
    const size = text.length * 3 + 1;
    const ptr = module._malloc(size);
    if (!ptr) throw new Error('out of memory');
    try {
      const { written } = encoder.encodeInto(text, module.HEAPU8.subarray(ptr, ptr + size - 1));
      module.HEAPU8[ptr + written] = 0;
      return memory.heapValueHandle(ffi.QTS_NewString(this.context.ctx.value, ptr));
    } finally {
      module._free(ptr);
    }
  }
}

const bootMs = (timeoutMs) => Math.max(2000, timeoutMs * 4);

function describe(context, error) {
  const e = context.dump(error);
  if (e && typeof e === 'object' && 'message' in e) return `${e.name ?? 'Error'}: ${e.message}`;
  return String(e);
}

const isMemoryError = (message) => /out of memory|string too long|invalid array length|memory access out of bounds/i.test(message);

const vms = new Map();

async function handle(m) {
  if (m.op === 'drop') {
    vms.get(m.id)?.dispose();
    vms.delete(m.id);
    return undefined;
  }
  if (m.op === 'rows') {
    for (const vm of vms.values()) vm.rowsChanged(m.keys);
    return undefined;
  }
  if (m.op === 'load') {
    vms.get(m.id)?.dispose();
    const vm = new Vm(m.id, m.script, m.limits);
    try {
      await vm.build();
    } catch (error) {
      return { ok: false, message: error.message, memory: isMemoryError(error.message) };
    }
    vms.set(m.id, vm);
    return { ok: true };
  }
  // call
  const vm = vms.get(m.id);
  if (!vm?.alive) return { ok: false, message: 'the function is not loaded', unloaded: true };
  let reply;
  try {
    reply = vm.call(m.events, m.info);
  } catch (error) {
    // A failure of the host side of the VM (such as an allocation of the instance failing): it is rebuilt.
    reply = { ok: false, message: `${error.name}: ${error.message}` };
  }
  if (reply.exhausted) {
    vm.dispose();
    vms.delete(m.id);
    reply.unloaded = true;
  }
  if (!reply.ok) {
    reply.memory = vm.exhausted === true || isMemoryError(reply.message);
    // After a memory failure the instance's allocator may be exhausted: the pool loads the function again.
    if (!reply.timedOut) {
      vm.dispose();
      vms.delete(m.id);
      reply.unloaded = true;
    }
  }
  return reply;
}

// Compiled before the thread says it is ready, so that no request's budget pays for starting the thread.
wasmModule();
parentPort.postMessage('ready');

// One message at a time, in order (the pool sends a request only once the previous one is answered).
let chain = Promise.resolve();
parentPort.on('message', (m) => {
  chain = chain.then(async () => {
    let reply;
    try {
      reply = await handle(m);
    } catch (error) {
      reply = m.op === 'load' || m.op === 'call' ? { ok: false, message: `${error.name}: ${error.message}`, unloaded: true } : undefined;
      if (reply) (vms.get(m.id)?.dispose(), vms.delete(m.id));
    }
    if (reply) parentPort.postMessage(reply);
  });
});
