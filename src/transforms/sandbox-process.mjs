// The sandbox process: started by the pool (sandbox-pool.ts) as `node --no-node-snapshot sandbox-process.mjs` (Node
// 20 needs the flag for isolated-vm), it owns the V8 isolates (isolated-vm) of the functions assigned to it and runs
// one request at a time. A function stuck in a long native operation that V8 cannot interrupt blocks this process,
// never the server's event loop: the pool kills the process when a request overruns its budget, and a V8 crash on an
// allocation it cannot unwind from (isolated-vm's own warning) takes down only this process. Plain JavaScript, so
// that it starts without a TypeScript loader. The environment is empty: nothing in the server's is reachable here.
//
// IPC messages in (structured clone): { op: 'load', id, script, limits } | { op: 'call', id, events, info }
// | { op: 'drop', id } | { op: 'rows', keys } (catalog rows changed) | { op: 'usage' }. Replies (load, call and usage
// only): { ok: true, text? } | { ok: false, message, timedOut?, memory?, unloaded? }. Catalog lookups go to the
// pool synchronously on file descriptor 4: a line `[seq, id, catalog, key]`, answered by a line `seq<TAB>row JSON`
// (empty when there is no row), read with a blocking read.
import { readSync, writeSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { Worker } from 'node:worker_threads';
import ivm from 'isolated-vm';

const LOOKUP_FD = 4;
/** V8's smallest heap limit that isolated-vm accepts, in MB: lower limits act as this one. */
const MIN_HEAP_MB = 8;
/** Rows an isolate keeps between calls (cleared whole beyond this), and how long before it reads them all again. */
const ROW_CACHE_ROWS = 10_000;
const ROW_CACHE_MS = 10_000;

const bootMs = (timeoutMs) => Math.max(2000, timeoutMs * 4);

// Runs inside the isolate once, in a fresh context: takes the catalog callback off the global object, removes what
// a function has no use for (WebAssembly, shared memory), loads the user's CommonJS script and defines the batch entry
// point. Each event is its own try/catch, so one throw fails one event; JSON crosses the boundary (one string each way
// per chunk). Catalog rows are kept between calls (as JSON, each lookup gets its own copy) until the host says they
// changed.
const BOOT = (script) => `(function () {
var host = globalThis.__catalog;
delete globalThis.__catalog;
delete globalThis.WebAssembly;
delete globalThis.SharedArrayBuffer;
delete globalThis.Atomics;
var module = { exports: {} };
(function (module, exports) {
${script}
}).call(module.exports, module, module.exports);
var fn = typeof module.exports === 'function' ? module.exports : module.exports && module.exports.default;
if (typeof fn !== 'function') throw new TypeError('the code must export a function: export default (event, ctx) => event');
var describe = function (e) {
  return e instanceof Error ? e.name + ': ' + e.message : 'threw ' + String(e);
};
var parse = JSON.parse, stringify = JSON.stringify, freeze = Object.freeze, assign = Object.assign, rows = new Map();
var run = function (json, infoJson, changed) {
  if (changed === '*' || rows.size > ${ROW_CACHE_ROWS}) rows.clear();
  else if (changed !== '') parse(changed).forEach(function (id) { rows.delete(id); });
  var events = parse(json), info = parse(infoJson);
  var ctx = freeze(assign({}, info, {
    catalog: function (name, key) {
      var id = String(name) + '\\u0000' + String(key), row = rows.get(id);
      if (row === undefined) rows.set(id, (row = host(String(name), String(key)) || ''));
      return row === '' ? null : parse(row);
    }
  }));
  // Results are stringified together; only when that throws (a cycle, a BigInt deep inside) or a result has its own
  // toJSON is each done alone, so that the failure stays with its own event.
  var results = new Array(events.length), alone = false;
  for (var i = 0; i < events.length; i++) {
    try {
      var r = fn(events[i], ctx), t = typeof r;
      if (r === undefined) throw new TypeError('the function returned undefined; return the event, an array of events, or null to drop it');
      if (t === 'function' || t === 'symbol' || t === 'bigint') throw new TypeError('the function returned a ' + t + '; return the event, an array of events, or null to drop it');
      if (t === 'object' && r !== null && typeof r.toJSON === 'function') alone = true;
      results[i] = [1, r];
    } catch (e) {
      results[i] = [0, describe(e)];
    }
  }
  if (!alone) {
    try {
      return stringify(results);
    } catch (e) {
      // one result cannot be serialised: each alone below
    }
  }
  var out = [];
  for (var j = 0; j < results.length; j++) {
    var s;
    try {
      s = stringify(results[j]);
      if (s === '[1,null]' && results[j][1] !== null) throw new TypeError('the function returned something that is not JSON; return the event, an array of events, or null to drop it');
    } catch (e) {
      s = stringify([0, describe(e)]);
    }
    out.push(s);
  }
  return '[' + out.join(',') + ']';
};
Object.defineProperty(globalThis, '__run', { value: run });
})();`;

// Catalog lookups: a blocking request and answer with the pool on LOOKUP_FD. The pool answers from its event loop,
// which sandboxed work never holds up; a lookup the pool never answers leaves this process stuck, and the watchdog
// kills it like any other overrun.
let lookups = 0;
let pending = '';
const decoder = new StringDecoder('utf8');
const readBuffer = Buffer.alloc(64 * 1024);
const pause = new Int32Array(new SharedArrayBuffer(4));

function writeLine(text) {
  const bytes = Buffer.from(text, 'utf8');
  for (let at = 0; at < bytes.length; ) {
    try {
      at += writeSync(LOOKUP_FD, bytes, at);
    } catch (error) {
      if (error.code !== 'EAGAIN') throw error;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

function lookup(id, catalog, key) {
  const seq = ++lookups;
  writeLine(`${JSON.stringify([seq, id, catalog, key])}\n`);
  for (;;) {
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      const tab = line.indexOf('\t');
      if (Number(line.slice(0, tab)) !== seq) continue; // cannot happen: one lookup at a time
      const row = line.slice(tab + 1);
      return row === '' ? undefined : row;
    }
    let n;
    try {
      n = readSync(LOOKUP_FD, readBuffer, 0, readBuffer.length, null);
    } catch (error) {
      if (error.code !== 'EAGAIN') throw error;
      Atomics.wait(pause, 0, 0, 1);
      continue;
    }
    if (n === 0) throw new Error('the sandbox lost its catalog channel');
    pending += decoder.write(readBuffer.subarray(0, n));
  }
}

const isMemoryError = (message) => /memory limit|out of memory|invalid string length|array buffer allocation failed/i.test(message);

/** One function's isolate: its own V8 heap with the function's memory limit, a fresh context, no Node.js APIs. */
class Vm {
  constructor(id, script, limits) {
    this.id = id;
    this.script = script;
    this.limits = limits;
    this.changed = [];
    this.rowsSince = performance.now();
  }

  build() {
    const { timeoutMs, memoryBytes } = this.limits;
    const isolate = new ivm.Isolate({ memoryLimit: Math.max(MIN_HEAP_MB, Math.ceil(memoryBytes / 1048576)) });
    try {
      const context = isolate.createContextSync();
      context.global.setSync('__catalog', new ivm.Callback((catalog, key) => lookup(this.id, String(catalog), String(key))));
      // Loading (top-level code) gets more room than a call.
      context.evalSync(BOOT(this.script), { timeout: bootMs(timeoutMs), filename: 'function' });
      this.entry = context.global.getSync('__run', { reference: true });
      this.context = context;
      this.isolate = isolate;
    } catch (error) {
      if (!isolate.isDisposed) isolate.dispose();
      throw error;
    }
  }

  get alive() {
    return this.isolate !== undefined && !this.isolate.isDisposed;
  }

  dispose() {
    if (this.alive) this.isolate.dispose();
    this.isolate = undefined;
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

  /**
   * isolated-vm's timeout is the wall-clock time the isolate runs (time in host callbacks, such as catalog lookups, is
   * left out). When it runs out while this process used less than half of it in CPU time (the machine is busy: the
   * process waited for a core), the call runs once more (the pool's watchdog allows for it), so that a busy machine
   * does not fail a function that is within its limit. (isolated-vm's own `cpuTime` counts the same wall clock.)
   */
  call(events, info) {
    const changed = this.takeChanged();
    const { timeoutMs, attempts = 1 } = this.limits;
    for (let attempt = 1; ; attempt++) {
      const cpu = process.cpuUsage();
      try {
        return { ok: true, text: this.entry.applySync(undefined, [events, info, changed], { timeout: timeoutMs }) };
      } catch (error) {
        const message = describe(error);
        if (/execution timed out/i.test(message) && this.alive) {
          const used = process.cpuUsage(cpu);
          if (attempt < attempts && (used.user + used.system) / 1000 < timeoutMs / 2) continue;
          return { ok: false, message, timedOut: true };
        }
        // The memory limit (the isolate is then disposed) or a failure of the boundary: the isolate is rebuilt.
        return { ok: false, message, memory: !this.alive || isMemoryError(message), rebuild: true };
      }
    }
  }
}

const describe = (error) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

const vms = new Map();

function handle(m) {
  if (m.op === 'drop') {
    vms.get(m.id)?.dispose();
    vms.delete(m.id);
    return undefined;
  }
  if (m.op === 'rows') {
    for (const vm of vms.values()) vm.rowsChanged(m.keys);
    return undefined;
  }
  if (m.op === 'usage') {
    const { user, system } = process.cpuUsage();
    return { ok: true, text: String((user + system) / 1e6) };
  }
  if (m.op === 'load') {
    vms.get(m.id)?.dispose();
    vms.delete(m.id);
    const vm = new Vm(m.id, m.script, m.limits);
    try {
      vm.build();
    } catch (error) {
      const message = describe(error);
      return { ok: false, message, memory: isMemoryError(message) };
    }
    vms.set(m.id, vm);
    return { ok: true };
  }
  // call
  const vm = vms.get(m.id);
  if (!vm?.alive) return { ok: false, message: 'the function is not loaded', unloaded: true };
  const reply = vm.call(m.events, m.info);
  if (reply.rebuild) {
    // The pool loads the function again before its next call.
    vm.dispose();
    vms.delete(m.id);
    delete reply.rebuild;
    reply.unloaded = true;
  }
  return reply;
}

// The pool going away (its process ended, or it closed the channel) ends this process. While a call is stuck where
// V8 does not look at its interrupts this thread cannot see that, so a guard thread checks that the parent is still
// the same process and kills this one otherwise (a killed server leaves no sandbox process running on).
process.on('disconnect', () => process.exit(0));
new Worker("const { workerData } = require('node:worker_threads'); setInterval(() => { if (process.ppid !== workerData) process.kill(process.pid, 'SIGKILL'); }, 1000);", { eval: true, workerData: process.ppid }).unref();
// One message at a time, in order: every request runs synchronously (the pool sends the next once this is answered).
process.on('message', (m) => {
  let reply;
  try {
    reply = handle(m);
  } catch (error) {
    reply = m.op === 'drop' || m.op === 'rows' ? undefined : { ok: false, message: describe(error), unloaded: true };
    if (reply) (vms.get(m.id)?.dispose(), vms.delete(m.id));
  }
  if (reply) process.send(reply);
});
process.send('ready');
