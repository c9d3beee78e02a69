import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';

/** What one call may use: CPU time (wall clock of the call in its sandbox thread) and memory of the function's heap. */
export interface SandboxLimits {
  timeoutMs: number;
  memoryBytes: number;
}

/** What the function can reach besides its arguments: read-only catalog rows. */
export interface SandboxHost {
  catalog(catalog: string, key: string): Record<string, unknown> | undefined;
}

/** A sandbox thread's answer to a load or a call (see sandbox-worker.mjs), or what the pool saw happen to the thread. */
export type ThreadReply =
  | { ok: true; text?: string; unloaded?: boolean }
  | { ok: false; message: string; timedOut?: boolean; memory?: boolean; unloaded?: boolean }
  | { ok: false; stopped: true; ms: number; message: string };

/** Sandbox threads per process: a runaway function holds up only the functions that share its thread. */
const THREADS = 2;
/** How long a request may overrun its own limit before the watchdog stops its thread. */
export const WATCHDOG_MARGIN_MS = 1000;
/** Loading runs the function's top-level code with more room than a call, plus a new WebAssembly instance. */
export const bootMs = (timeoutMs: number) => Math.max(2000, timeoutMs * 4);
const LOAD_MARGIN_MS = 3000;

interface Job {
  message: Record<string, unknown>;
  budgetMs: number;
  resolve: (reply: ThreadReply) => void;
}

/**
 * One sandbox thread with a watchdog: requests go one at a time; a request not answered within its budget (its
 * limit plus a margin) means the function is stuck where QuickJS cannot interrupt it, so the thread is terminated and
 * a new one started for the next request. The functions it held are loaded again on their next call.
 */
class SandboxThread {
  private worker?: Worker;
  /** The worker said it is ready: starting a thread (and compiling QuickJS) is not charged to a request's budget. */
  private ready = false;
  private catalogPort?: MessagePort;
  private readonly queue: Job[] = [];
  /** waited: catalog wait the thread has credited to the request (it extends the budget as it does the call's deadline). */
  private busy?: { job: Job; started: number; timer: NodeJS.Timeout; waited: number };
  private changedRows: [string, string][] = [];
  /** Functions loaded in the current worker. */
  readonly loaded = new Set<number>();
  readonly hosts = new Map<number, SandboxHost>();
  /** Threads stopped by the watchdog or lost, for tests and logs. */
  restarts = 0;

  request(message: Record<string, unknown>, budgetMs: number): Promise<ThreadReply> {
    return new Promise((resolve) => {
      this.queue.push({ message, budgetMs, resolve });
      this.pump();
    });
  }

  /** A message that needs no answer (drop, rows), sent now if the thread is running; a new thread starts empty. */
  notify(message: Record<string, unknown>): void {
    this.worker?.postMessage(message);
  }

  rowsChanged(catalog: string, key: string): void {
    if (!this.worker) return;
    if (this.changedRows.length === 0) setImmediate(() => this.flushRows());
    this.changedRows.push([catalog, key]);
  }

  private flushRows(): void {
    if (this.changedRows.length) this.notify({ op: 'rows', keys: this.changedRows });
    this.changedRows = [];
  }

  private pump(): void {
    if (this.busy) return;
    if (this.queue.length === 0) {
      this.worker?.unref(); // idle: the thread does not keep the process alive
      return;
    }
    const worker = this.worker ?? this.start();
    worker.ref(); // work is owed: the process waits for it
    if (!this.ready) return; // pumped again on 'ready'
    const job = this.queue.shift()!;
    this.flushRows(); // a change made before this request reaches the thread before it
    const timer = setTimeout(() => this.overran(worker), job.budgetMs);
    this.busy = { job, started: performance.now(), timer, waited: 0 };
    worker.postMessage(job.message);
  }

  private finish(reply: ThreadReply): void {
    const busy = this.busy;
    if (!busy) return;
    clearTimeout(busy.timer);
    this.busy = undefined;
    busy.job.resolve(reply);
    this.pump();
  }

  private start(): Worker {
    const channel = new MessageChannel();
    const flag = new SharedArrayBuffer(4);
    const flags = new Int32Array(flag);
    const worker = new Worker(new URL('./sandbox-worker.mjs', import.meta.url), {
      workerData: { port: channel.port2, flag },
      transferList: [channel.port2],
    });
    // Catalog lookups: the thread waits on the flag until the answer is on its port.
    channel.port1.on('message', ([seq, id, catalog, key, waited]: [number, number, string, string, number]) => {
      if (this.busy && this.worker === worker) this.busy.waited = Math.max(this.busy.waited, waited);
      let row: Record<string, unknown> | undefined;
      try {
        row = this.hosts.get(id)?.catalog(catalog, key);
      } catch {
        row = undefined;
      }
      channel.port1.postMessage([seq, row === undefined ? null : JSON.stringify(row)]);
      Atomics.store(flags, 0, 1);
      Atomics.notify(flags, 0);
    });
    channel.port1.unref();
    worker.on('message', (reply: ThreadReply | 'ready') => {
      if (this.worker !== worker) return;
      if (reply !== 'ready') return this.finish(reply);
      this.ready = true;
      this.pump();
    });
    worker.on('error', () => undefined); // followed by 'exit'
    worker.on('exit', () => {
      if (this.worker !== worker) return; // stopped by the watchdog (or stop()): already replaced
      this.lost();
      this.restarts++;
      if (this.busy) this.finish({ ok: false, stopped: true, ms: 0, message: 'the sandbox thread stopped unexpectedly' });
      else {
        this.queue.shift()?.resolve({ ok: false, stopped: true, ms: 0, message: 'the sandbox thread could not start' });
        this.pump();
      }
    });
    this.worker = worker;
    this.catalogPort = channel.port1;
    return worker;
  }

  private lost(): void {
    this.worker = undefined;
    this.ready = false;
    this.catalogPort?.close();
    this.catalogPort = undefined;
    this.loaded.clear();
    this.changedRows = [];
  }

  /** The watchdog: the request overran its budget, so the thread is stuck; it is terminated and replaced. */
  private overran(worker: Worker): void {
    if (this.worker !== worker || !this.busy) return;
    const elapsed = performance.now() - this.busy.started;
    const allowed = this.busy.job.budgetMs + this.busy.waited;
    if (elapsed < allowed) {
      this.busy.timer = setTimeout(() => this.overran(worker), allowed - elapsed);
      return;
    }
    const ms = Math.round(elapsed);
    this.lost();
    this.restarts++;
    void worker.terminate().catch(() => undefined);
    this.finish({ ok: false, stopped: true, ms, message: `its sandbox thread was stopped after ${ms} ms` });
  }

  async stop(): Promise<void> {
    const worker = this.worker;
    if (worker) this.lost();
    await worker?.terminate();
  }
}

interface Entry {
  id: number;
  script: string;
  limits: SandboxLimits;
  thread: SandboxThread;
  loading?: Promise<ThreadReply>;
}

/**
 * The sandbox threads of the process and the functions loaded in them. Each function is pinned to the thread with
 * the fewest functions; it keeps its script so that it can be loaded again after its thread was replaced.
 */
export class SandboxPool {
  private static instance?: SandboxPool;
  private readonly threads: SandboxThread[];
  private readonly entries = new Map<number, Entry>();
  private next = 1;

  constructor(size = THREADS) {
    this.threads = Array.from({ length: size }, () => new SandboxThread());
  }

  /** The process's pool (threads start on first use and do not keep the process alive when idle). */
  static shared(): SandboxPool {
    return (SandboxPool.instance ??= new SandboxPool());
  }

  /** Loads a function; resolves to its id, or rejects with an Error naming why it cannot run. */
  async open(script: string, limits: SandboxLimits, host: SandboxHost): Promise<number> {
    const thread = this.threads.reduce((a, b) => (b.hosts.size < a.hosts.size ? b : a));
    const entry: Entry = { id: this.next++, script, limits, thread };
    this.entries.set(entry.id, entry);
    thread.hosts.set(entry.id, host);
    const reply = await this.load(entry);
    if (!reply.ok) {
      this.dispose(entry.id);
      throw new Error('stopped' in reply ? `loading did not finish within ${bootMs(limits.timeoutMs)} ms (${reply.message})` : reply.message);
    }
    return entry.id;
  }

  private load(entry: Entry): Promise<ThreadReply> {
    entry.loading ??= entry.thread
      .request({ op: 'load', id: entry.id, script: entry.script, limits: entry.limits }, bootMs(entry.limits.timeoutMs) + LOAD_MARGIN_MS)
      .then((reply) => {
        if (reply.ok) entry.thread.loaded.add(entry.id);
        return reply;
      })
      .finally(() => (entry.loading = undefined));
    return entry.loading;
  }

  /** One call of the function on a JSON array of events; `text` is the VM's JSON answer. */
  async call(id: number, events: string, info: string): Promise<ThreadReply> {
    const entry = this.entries.get(id);
    if (!entry) return { ok: false, message: 'the sandbox was disposed' };
    for (let attempt = 0; ; attempt++) {
      if (!entry.thread.loaded.has(id)) {
        const loaded = await this.load(entry);
        if (!loaded.ok) return 'stopped' in loaded ? loaded : { ok: false, message: `cannot load: ${loaded.message}`, memory: loaded.memory };
      }
      const reply = await entry.thread.request({ op: 'call', id, events, info }, entry.limits.timeoutMs + WATCHDOG_MARGIN_MS);
      if ('unloaded' in reply && reply.unloaded) {
        entry.thread.loaded.delete(id);
        // Its thread was replaced between the load and the call (another function's runaway): load it again once.
        if (!reply.ok && reply.message === 'the function is not loaded' && attempt === 0) continue;
      }
      return reply;
    }
  }

  dispose(id: number): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    entry.thread.hosts.delete(id);
    if (entry.thread.loaded.delete(id)) entry.thread.notify({ op: 'drop', id });
  }

  /** A catalog row changed: the VMs read it again on their next lookup. */
  rowsChanged(catalog: string, key: string): void {
    for (const t of this.threads) t.rowsChanged(catalog, key);
  }

  /** Restarts of the threads (watchdog stops and lost threads) since the pool started. */
  get restarts(): number {
    return this.threads.reduce((n, t) => n + t.restarts, 0);
  }

  /** Terminates the threads (tests; the shared pool's idle threads never hold the process). */
  async stop(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.stop()));
  }
}
