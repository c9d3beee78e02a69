import { SandboxPool, type SandboxHost, type SandboxLimits, type ThreadReply } from './sandbox-pool.js';

export type { SandboxHost, SandboxLimits } from './sandbox-pool.js';

export const DEFAULT_LIMITS: SandboxLimits = { timeoutMs: 50, memoryBytes: 32 * 1024 * 1024 };

/** The `ctx` a call sees (besides `ctx.catalog(name, key)`). */
export type CallInfo = Record<string, unknown>;

export type CallFailure = { ok: false; reason: 'error' | 'timeout' | 'memory'; message: string };
export type CallOutcome = { ok: true; value: unknown } | CallFailure;

/** Events per crossing into the isolate, and the JSON size that ends a chunk early (the batch counts against memory). */
const CHUNK_EVENTS = 256;
const CHUNK_CHARS = 512 * 1024;

/** An event's own failure that is about size: V8's longest string, or a buffer it could not allocate. */
const isMemoryError = (message: string) => /^RangeError: (Invalid string length|Array buffer allocation failed)/.test(message);

/**
 * One event function in a V8 isolate (isolated-vm) in a sandbox process (sandbox-pool.ts, sandbox-process.mjs): no
 * process, require, file system, network or timers; only the event, `ctx` and catalog lookups. Each call has a time
 * limit (isolated-vm terminates the isolate's execution), the isolate a heap limit (it is disposed when it passes it,
 * and built again), and the process a watchdog for what V8 cannot interrupt, so that no function can hold up the event
 * loop. Events run in chunks for speed; when a chunk is stopped as a whole (a timeout, memory, the watchdog) each of
 * its events runs again alone with the full limits, so only the culprit fails.
 */
export class FunctionSandbox {
  private constructor(
    private readonly pool: SandboxPool,
    private readonly id: number,
    readonly limits: SandboxLimits,
  ) {}

  /** Loads the function in its VM; throws an Error naming what is wrong with it. */
  static async create(script: string, limits: SandboxLimits, host: SandboxHost, pool = SandboxPool.shared()): Promise<FunctionSandbox> {
    return new FunctionSandbox(pool, await pool.open(script, limits, host), limits);
  }

  dispose(): void {
    this.pool.dispose(this.id);
  }

  /** Runs the function on each event; one outcome per event, in order. */
  async run(events: unknown[], info: CallInfo = {}): Promise<CallOutcome[]> {
    const infoJson = JSON.stringify(info);
    const out: CallOutcome[] = [];
    for (let i = 0; i < events.length; i += CHUNK_EVENTS) {
      for (const outcome of await this.runChunk(events.slice(i, i + CHUNK_EVENTS), infoJson)) out.push(outcome);
    }
    return out;
  }

  /** One chunk in one crossing (one JSON string for all its events), halved while its JSON is too large. */
  private async runChunk(events: unknown[], infoJson: string): Promise<CallOutcome[]> {
    const json = JSON.stringify(events);
    if (json.length > CHUNK_CHARS && events.length > 1) {
      const half = Math.ceil(events.length / 2);
      return [...(await this.runChunk(events.slice(0, half), infoJson)), ...(await this.runChunk(events.slice(half), infoJson))];
    }
    const whole = await this.call(json, infoJson);
    if (Array.isArray(whole)) return whole;
    if (events.length === 1) return [whole];
    // Stopped as a whole: each event alone, with its own budget, so that only the culprit fails.
    const out: CallOutcome[] = [];
    for (const e of events) {
      const alone = await this.call(JSON.stringify([e]), infoJson);
      out.push(Array.isArray(alone) ? alone[0] : alone);
    }
    return out;
  }

  private async call(json: string, infoJson: string): Promise<CallOutcome[] | CallFailure> {
    const reply: ThreadReply = await this.pool.call(this.id, json, infoJson);
    if (!reply.ok) return this.failure(reply);
    const rows = JSON.parse(reply.text!) as ([1, unknown] | [0, string])[];
    return rows.map((r) => (r[0] === 1 ? { ok: true, value: r[1] } : isMemoryError(r[1]) ? this.memory() : { ok: false, reason: 'error', message: r[1] }));
  }

  private failure(reply: Exclude<ThreadReply, { ok: true }>): CallFailure {
    const { timeoutMs } = this.limits;
    if ('stopped' in reply) {
      // ms 0: the process died on its own (it is replaced all the same): V8 aborts the whole process on an allocation it
      // cannot unwind from; else the watchdog killed it.
      if (reply.ms === 0 && /out of memory|heap limit/i.test(reply.message)) return this.memory();
      return reply.ms === 0 ? { ok: false, reason: 'error', message: reply.message } : { ok: false, reason: 'timeout', message: `exceeded its time limit of ${timeoutMs} ms (${reply.message})` };
    }
    if (reply.timedOut) return { ok: false, reason: 'timeout', message: `exceeded its CPU time limit of ${timeoutMs} ms` };
    if (reply.memory) return this.memory();
    return { ok: false, reason: 'error', message: reply.message };
  }

  private memory(): CallFailure {
    return { ok: false, reason: 'memory', message: `exceeded its memory limit of ${Math.round(this.limits.memoryBytes / 1048576)} MB` };
  }
}
