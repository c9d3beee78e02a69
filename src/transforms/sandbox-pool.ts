import { fork, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

/** What one call may use: time (wall clock of the call in its sandbox process) and the function's V8 heap. */
export interface SandboxLimits {
  timeoutMs: number;
  memoryBytes: number;
}

/** What the function can reach besides its arguments: read-only catalog rows. */
export interface SandboxHost {
  catalog(catalog: string, key: string): Record<string, unknown> | undefined;
}

/** A sandbox process's answer to a load or a call (see sandbox-process.mjs), or what the pool saw happen to it. */
export type ThreadReply =
  | { ok: true; text?: string; unloaded?: boolean }
  | { ok: false; message: string; timedOut?: boolean; memory?: boolean; unloaded?: boolean }
  | { ok: false; stopped: true; ms: number; message: string };

/** Sandbox processes per server process: a runaway function holds up only the functions that share its process. */
const PROCESSES = 2;
/** How long a request may overrun its own limit before the watchdog kills its process. */
export const WATCHDOG_MARGIN_MS = 1000;
/**
 * Runs of a call whose wall clock ran out while the isolate used less than half of it in CPU time (a busy machine, or
 * waits for catalog rows): the sandbox process runs it again, up to this many times in all (sandbox-process.mjs).
 */
const ATTEMPTS = 2;
/** The watchdog's budget for a call. */
export const callBudgetMs = (timeoutMs: number) => ATTEMPTS * timeoutMs + WATCHDOG_MARGIN_MS;
/** Loading runs the function's top-level code with more room than a call, plus a new isolate. */
export const bootMs = (timeoutMs: number) => Math.max(2000, timeoutMs * 4);
const LOAD_MARGIN_MS = 3000;
/** A sandbox process that has not said it is ready by then (Node.js and isolated-vm loaded) is killed. */
const START_MS = 30_000;
const SCRIPT = fileURLToPath(new URL('./sandbox-process.mjs', import.meta.url));

interface Job {
  message: Record<string, unknown>;
  budgetMs: number;
  resolve: (reply: ThreadReply) => void;
}

/**
 * One sandbox process with a watchdog: requests go one at a time; a request not answered within its budget (its
 * limit plus a margin) means the function is stuck where V8 cannot interrupt it, so the process is killed and a new
 * one started for the next request. The functions it held are loaded again on their next call.
 */
class SandboxProcess {
  private child?: ChildProcess;
  /** The process said it is ready: starting it is not charged to a request's budget. */
  private ready = false;
  private startTimer?: NodeJS.Timeout;
  private lookups?: Socket;
  private readonly queue: Job[] = [];
  private busy?: { job: Job; started: number; timer: NodeJS.Timeout };
  private changedRows: [string, string][] = [];
  /** The end of the process's standard error, to say why it stopped. */
  private stderr = '';
  /** Functions loaded in the current process. */
  readonly loaded = new Set<number>();
  readonly hosts = new Map<number, SandboxHost>();
  /** Processes killed by the watchdog or lost, for tests and logs. */
  restarts = 0;

  request(message: Record<string, unknown>, budgetMs: number): Promise<ThreadReply> {
    return new Promise((resolve) => {
      this.queue.push({ message, budgetMs, resolve });
      this.pump();
    });
  }

  /** A message that needs no answer (drop, rows), sent now if the process is running; a new process starts empty. */
  notify(message: Record<string, unknown>): void {
    if (this.child?.connected) this.child.send(message);
  }

  rowsChanged(catalog: string, key: string): void {
    if (!this.child) return;
    if (this.changedRows.length === 0) setImmediate(() => this.flushRows());
    this.changedRows.push([catalog, key]);
  }

  private flushRows(): void {
    if (this.changedRows.length) this.notify({ op: 'rows', keys: this.changedRows });
    this.changedRows = [];
  }

  /** Holds the server process open while work is owed, lets it exit while idle. */
  private hold(child: ChildProcess, on: boolean): void {
    const handles = [child, child.channel, this.lookups] as ({ ref(): void; unref(): void } | null | undefined)[];
    for (const h of handles) {
      if (on) h?.ref();
      else h?.unref();
    }
  }

  private pump(): void {
    if (this.busy) return;
    if (this.queue.length === 0) {
      if (this.child) this.hold(this.child, false); // idle: the process does not keep the server alive
      return;
    }
    const child = this.child ?? this.start();
    this.hold(child, true); // work is owed: the server waits for it
    if (!this.ready) return; // pumped again on 'ready'
    const job = this.queue.shift()!;
    this.flushRows(); // a change made before this request reaches the process before it
    const timer = setTimeout(() => this.overran(child), job.budgetMs);
    this.busy = { job, started: performance.now(), timer };
    child.send(job.message);
  }

  private finish(reply: ThreadReply): void {
    const busy = this.busy;
    if (!busy) return;
    clearTimeout(busy.timer);
    this.busy = undefined;
    busy.job.resolve(reply);
    this.pump();
  }

  private start(): ChildProcess {
    // --no-node-snapshot: isolated-vm needs it on Node.js 20. An empty environment: nothing of the server's (secrets in
    // variables, NODE_OPTIONS loaders) reaches the process that runs workspace code.
    const child = fork(SCRIPT, [], { execArgv: ['--no-node-snapshot'], env: {}, serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc', 'pipe'] });
    this.stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => (this.stderr = (this.stderr + text).slice(-2000)));
    (child.stderr as Socket | null)?.unref();
    const lookups = child.stdio[4] as Socket;
    this.serveLookups(child, lookups);
    child.on('message', (message) => {
      const reply = message as ThreadReply | 'ready';
      if (this.child !== child) return;
      if (reply !== 'ready') return this.finish(reply);
      clearTimeout(this.startTimer);
      this.ready = true;
      this.pump();
    });
    child.on('error', () => undefined); // followed by 'close' (or the start timer)
    // 'close', not 'exit': after the process's standard error was read to the end.
    child.on('close', (code, signal) => {
      if (this.child !== child) return; // killed by the watchdog (or stop()): already replaced
      // V8 aborts the process on an allocation it cannot survive: past the heap limit when it cannot unwind, or an
      // array or string longer than it can make at all ("invalid size error").
      const why = /is_heap_oom = 1|out of memory|heap limit|invalid size error/i.test(this.stderr) ? 'out of memory' : this.stderr.trim().split('\n').slice(-1)[0];
      const detail = `${signal ? `signal ${signal}` : `exit code ${code}`}${why ? `: ${why}` : ''}`;
      const wasReady = this.ready;
      this.lost();
      this.restarts++;
      if (this.busy) this.finish({ ok: false, stopped: true, ms: 0, message: `the sandbox process stopped unexpectedly (${detail})` });
      else {
        if (!wasReady) this.queue.shift()?.resolve({ ok: false, stopped: true, ms: 0, message: `the sandbox process could not start (${detail})` });
        this.pump();
      }
    });
    this.startTimer = setTimeout(() => {
      if (this.child === child && !this.ready) child.kill('SIGKILL');
    }, START_MS);
    this.startTimer.unref();
    this.child = child;
    this.lookups = lookups;
    return child;
  }

  /** Catalog lookups: lines `[seq, id, catalog, key]` from the process, answered at once with `seq<TAB>row JSON`. */
  private serveLookups(child: ChildProcess, socket: Socket): void {
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('error', () => undefined); // the process went away: its 'close' says so
    socket.on('data', (text: string) => {
      buffered += text;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let answer = '';
        let seq = 0;
        try {
          const [s, id, catalog, key] = JSON.parse(line) as [number, number, string, string];
          seq = s;
          const row = this.hosts.get(id)?.catalog(catalog, key);
          if (row !== undefined && row !== null) answer = JSON.stringify(row);
        } catch {
          answer = '';
        }
        if (this.child === child) socket.write(`${seq}\t${answer}\n`);
      }
    });
  }

  private lost(): void {
    this.child = undefined;
    this.ready = false;
    clearTimeout(this.startTimer);
    this.lookups?.destroy();
    this.lookups = undefined;
    this.loaded.clear();
    this.changedRows = [];
  }

  /** The watchdog: the request overran its budget, so the process is stuck; it is killed and replaced. */
  private overran(child: ChildProcess): void {
    if (this.child !== child || !this.busy) return;
    const elapsed = performance.now() - this.busy.started;
    if (elapsed < this.busy.job.budgetMs) {
      this.busy.timer = setTimeout(() => this.overran(child), this.busy.job.budgetMs - elapsed);
      return;
    }
    const ms = Math.round(elapsed);
    this.lost();
    this.restarts++;
    child.kill('SIGKILL');
    this.finish({ ok: false, stopped: true, ms, message: `its sandbox process was stopped after ${ms} ms` });
  }

  /** The running process's id (tests). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** CPU seconds (user + system) of the running process, or 0 when none runs (benchmarks). */
  async cpuSeconds(): Promise<number> {
    if (!this.child) return 0;
    const reply = await this.request({ op: 'usage' }, 5000);
    return reply.ok && reply.text ? Number(reply.text) : 0;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.lost();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    if (child.exitCode === null && child.signalCode === null) await exited;
  }
}

interface Entry {
  id: number;
  script: string;
  limits: SandboxLimits;
  process: SandboxProcess;
  loading?: Promise<ThreadReply>;
}

/**
 * The sandbox processes of the server and the functions loaded in them. Each function is pinned to the process with
 * the fewest functions; it keeps its script so that it can be loaded again after its process was replaced.
 */
export class SandboxPool {
  private static instance?: SandboxPool;
  private readonly processes: SandboxProcess[];
  private readonly entries = new Map<number, Entry>();
  private next = 1;

  constructor(size = PROCESSES) {
    this.processes = Array.from({ length: size }, () => new SandboxProcess());
  }

  /** The server's pool (processes start on first use and do not keep the server alive when idle). */
  static shared(): SandboxPool {
    return (SandboxPool.instance ??= new SandboxPool());
  }

  /** Loads a function; resolves to its id, or rejects with an Error naming why it cannot run. */
  async open(script: string, limits: SandboxLimits, host: SandboxHost): Promise<number> {
    const proc = this.processes.reduce((a, b) => (b.hosts.size < a.hosts.size ? b : a));
    const entry: Entry = { id: this.next++, script, limits, process: proc };
    this.entries.set(entry.id, entry);
    proc.hosts.set(entry.id, host);
    const reply = await this.load(entry);
    if (!reply.ok) {
      this.dispose(entry.id);
      throw new Error('stopped' in reply ? (reply.ms === 0 ? reply.message : `loading did not finish within ${bootMs(limits.timeoutMs)} ms (${reply.message})`) : reply.message);
    }
    return entry.id;
  }

  private load(entry: Entry): Promise<ThreadReply> {
    entry.loading ??= entry.process
      .request({ op: 'load', id: entry.id, script: entry.script, limits: { ...entry.limits, attempts: ATTEMPTS } }, bootMs(entry.limits.timeoutMs) + LOAD_MARGIN_MS)
      .then((reply) => {
        if (reply.ok) entry.process.loaded.add(entry.id);
        return reply;
      })
      .finally(() => (entry.loading = undefined));
    return entry.loading;
  }

  /** One call of the function on a JSON array of events; `text` is the isolate's JSON answer. */
  async call(id: number, events: string, info: string): Promise<ThreadReply> {
    const entry = this.entries.get(id);
    if (!entry) return { ok: false, message: 'the sandbox was disposed' };
    for (let attempt = 0; ; attempt++) {
      if (!entry.process.loaded.has(id)) {
        const loaded = await this.load(entry);
        if (!loaded.ok) return 'stopped' in loaded ? loaded : { ok: false, message: `cannot load: ${loaded.message}`, memory: loaded.memory };
      }
      const reply = await entry.process.request({ op: 'call', id, events, info }, callBudgetMs(entry.limits.timeoutMs));
      if ('unloaded' in reply && reply.unloaded) {
        entry.process.loaded.delete(id);
        // Its process was replaced between the load and the call (another function's runaway): load it again once.
        if (!reply.ok && reply.message === 'the function is not loaded' && attempt === 0) continue;
      }
      return reply;
    }
  }

  dispose(id: number): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    entry.process.hosts.delete(id);
    if (entry.process.loaded.delete(id)) entry.process.notify({ op: 'drop', id });
  }

  /** A catalog row changed: the isolates read it again on their next lookup. */
  rowsChanged(catalog: string, key: string): void {
    for (const p of this.processes) p.rowsChanged(catalog, key);
  }

  /** Restarts of the processes (watchdog kills and lost processes) since the pool started. */
  get restarts(): number {
    return this.processes.reduce((n, p) => n + p.restarts, 0);
  }

  /** Ids of the running sandbox processes (tests). */
  get pids(): number[] {
    return this.processes.flatMap((p) => (p.pid === undefined ? [] : [p.pid]));
  }

  /** CPU seconds used so far by the running sandbox processes (benchmarks: the sandbox's work is not this process's). */
  async cpuSeconds(): Promise<number> {
    const each = await Promise.all(this.processes.map((p) => p.cpuSeconds()));
    return each.reduce((a, b) => a + b, 0);
  }

  /** Kills the processes (tests; the shared pool's idle processes never hold the server). */
  async stop(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop()));
  }
}
