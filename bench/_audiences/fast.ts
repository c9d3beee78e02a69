// Part (a) of the audiences benchmark: a running Tandem with 20 audiences and 20 computed traits defined receives
// track events at a sustained rate from a separate process; every committed membership change is timed from the
// instant its event was sent (the event's timestamp, stamped by the sender as it sends) to the instant the apply
// stage committed it. Tandem runs in a child process of its own per rate (fast-server.ts), which times the
// changes as they commit; changes still pending a while after sending stops are reported as not caught up.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AUDIENCES, TRAITS } from './definitions.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface FastLoopRun {
  /** The configuration variant (`default`, or what it changes). */
  variant: string;
  offeredRate: number;
  achievedRate: number;
  changes: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Whether the pipeline had committed every change within the grace period after sending stopped. */
  caughtUp: boolean;
  /** CPU time of the server process (all threads) from the start of sending until the report, per event sent. */
  cpuMsPerEvent: number;
}

/** A configuration to run the fast loop under (merged over the defaults in the server process). */
export interface FastLoopVariant {
  label: string;
  config?: Record<string, unknown>;
}

export interface FastLoopResult {
  description: string;
  audiences: number;
  traits: number;
  runs: FastLoopRun[];
}

const request = <T>(child: ChildProcess, op: string, reply: string): Promise<T> =>
  new Promise((resolve) => {
    const on = (m: { op: string }) => {
      if (m.op !== reply) return;
      child.off('message', on);
      resolve(m as T);
    };
    child.on('message', on);
    child.send({ op });
  });

function send(job: Record<string, unknown>): Promise<{ achievedRate: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bench/_audiences/fast-load.mjs', JSON.stringify(job)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load exited with ${code}`))));
  });
}

async function runOne(rate: number, variant: FastLoopVariant, o: { seconds: number; perRequest: number; users: number; graceSeconds: number }): Promise<FastLoopRun> {
  const server = spawn(process.execPath, [...(process.env.FAST_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.FAST_CPU_PROF}`] : []), '--import', 'tsx', 'bench/_audiences/fast-server.ts'], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, FAST_SERVER_CONFIG: JSON.stringify(variant.config ?? {}) },
  });
  const ready = await new Promise<{ url: string; writeKey: string; dir: string }>((resolve, reject) => {
    server.once('message', resolve);
    server.once('exit', (code) => reject(new Error(`fast-loop server exited with ${code}`)));
  });
  try {
    const auth = `Basic ${Buffer.from(`${ready.writeKey}:`).toString('base64')}`;
    const job = { url: ready.url, auth, rate, perRequest: o.perRequest, users: o.users };
    await send({ ...job, seconds: 2 }); // warm-up: JIT, first profiles
    await request(server, 'measure', 'measuring');
    const result = await send({ ...job, seconds: o.seconds });
    // Wait for the changes of events still in the pipeline, until none has come for 2 s or the grace period ends.
    const until = performance.now() + o.graceSeconds * 1000;
    let report = await request<{ cumulative: [number, number][]; quietMs: number; cpuMs: number }>(server, 'report', 'report');
    while (report.quietMs < 2000 && performance.now() < until) {
      await new Promise((r) => setTimeout(r, 500));
      report = await request(server, 'report', 'report');
    }
    // Quantiles from the histogram: the upper bound of the bucket the quantile falls in (an upper bound, not a point).
    const total = report.cumulative.at(-1)?.[1] ?? 0;
    const q = (p: number) => (total === 0 ? NaN : (report.cumulative.find(([, n]) => n >= Math.ceil(p * total))?.[0] ?? NaN));
    const finite = report.cumulative.filter(([le]) => Number.isFinite(le));
    const max = total === 0 ? NaN : (report.cumulative.find(([, n]) => n >= total)?.[0] ?? NaN);
    const sent = result.achievedRate * o.seconds;
    return { variant: variant.label, cpuMsPerEvent: sent > 0 ? report.cpuMs / sent : NaN, offeredRate: rate, achievedRate: result.achievedRate, changes: total, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: Number.isFinite(max) ? max : (finite.at(-1)?.[0] ?? NaN), caughtUp: report.quietMs >= 2000 };
  } finally {
    if (process.env.FAST_CPU_PROF) server.send({ op: 'exit' });
    else server.kill('SIGKILL');
    await new Promise((r) => server.once('exit', r));
    rmSync(ready.dir, { recursive: true, force: true });
  }
}

export async function runFastLoop(o: { rates: number[]; seconds: number; perRequest?: number; users?: number; graceSeconds?: number; variants?: FastLoopVariant[] }): Promise<FastLoopResult> {
  const opts = { seconds: o.seconds, perRequest: o.perRequest ?? 10, users: o.users ?? 20_000, graceSeconds: o.graceSeconds ?? 60 };
  const runs: FastLoopRun[] = [];
  // Variants run one after another at each rate, so that a change in the machine's load touches both alike.
  for (const rate of o.rates) {
    for (const variant of o.variants ?? [{ label: 'default' }]) {
      const run = await runOne(rate, variant, opts);
      console.error(`fast loop at ${rate} events/s (${variant.label}): p99 ${run.p99.toFixed(1)} ms over ${run.changes} changes${run.caughtUp ? '' : ' (not caught up)'}, ${run.cpuMsPerEvent.toFixed(3)} CPU ms per event`);
      runs.push(run);
    }
  }
  return {
    description: `Tandem in \`tandem start\`'s shape (front thread for collection, core thread for the pipeline; embedded storage, \`storage.sync: full\`) in its own process, the sender in another: /v1/batch requests of ${opts.perRequest} track events for ${opts.users.toLocaleString('en-US')} users, offered at a fixed rate for ${o.seconds} s after a 2 s warm-up, a fresh data directory per rate. Latency of each committed membership change (enter or exit) from the arrival of the event that caused it to the apply stage's commit, as Tandem's histogram \`tandem_audience_change_delay_seconds\` counts it; quantiles are the upper bounds of the histogram's buckets (1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50 ms ...); after sending stops, changes are waited for until none has come for 2 s (at most ${opts.graceSeconds} s): "not caught up" means the pipeline was still behind then.`,
    audiences: AUDIENCES.length,
    traits: TRAITS.length,
    runs,
  };
}
