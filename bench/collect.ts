// `npm run bench -- collect [--seconds 10] [--single-seconds 12] [--connections 16] [--rate 1000] [--sync full,normal] [--no-write]`
//
// Durable ingest through /v1 against a ceiling. Tandem, the ceiling (a bare node:http server that parses the
// body) and the load generator each run in their own process; Tandem and the ceiling are measured alternately in
// the same run, so the ratio holds even when the shared machine is noisy.
import { spawn } from 'node:child_process';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_ADMIN_TOKEN, startBaselineChild, startTandemChild, stopChild, writeSection, type BenchServer } from './_process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ADMIN_TOKEN = BENCH_ADMIN_TOKEN;
const BATCH = 100;

export interface Options { seconds: number; singleSeconds: number; warmup: number; connections: number; rate: number; syncs: ('full' | 'normal')[]; drainSeconds: number; write: boolean }

export function parseArgs(args: string[]): Options {
  const o: Options = { seconds: 10, singleSeconds: 12, warmup: 2, connections: 16, rate: 1000, syncs: ['full', 'normal'], drainSeconds: 15, write: true };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const v = () => args[++i];
    if (a === '--seconds') o.seconds = Number(v());
    else if (a === '--single-seconds') o.singleSeconds = Number(v());
    else if (a === '--warmup') o.warmup = Number(v());
    else if (a === '--connections') o.connections = Number(v());
    else if (a === '--rate') o.rate = Number(v());
    else if (a === '--drain-seconds') o.drainSeconds = Number(v());
    else if (a === '--sync') o.syncs = v().split(',') as Options['syncs'];
    else if (a === '--no-write') o.write = false;
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

// ---- processes -------------------------------------------------------------------------------------------------

type Server = BenchServer;

/** `tandem start` with the given log durability, optionally writing CPU profiles. */
const startTandem = (sync: 'full' | 'normal', cpuProf: boolean, extraConfig = '') =>
  startTandemChild({
    ...(sync !== 'full' || extraConfig ? { config: `storage: { sync: ${sync} }\n${extraConfig}` } : {}),
    ...(cpuProf ? { node: ['--cpu-prof', `--cpu-prof-dir=${join(tmpdir(), 'tandem-bench-profiles')}`] } : {}),
  });
const startBaseline = startBaselineChild;
const stop = stopChild;






function load<T>(job: Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bench/_collect/load.mjs', JSON.stringify(job)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as T) : reject(new Error(`load generator exited with ${code}`))));
  });
}

/** User + system CPU seconds of a process so far (Linux). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name) && (line[name.length] === ' ' || line[name.length] === '{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

// ---- phases ----------------------------------------------------------------------------------------------------

interface Closed { requests2xx: number; non2xx: number; errors: number; timeouts: number; seconds: number; eventsPerSecond: number; meanEventBytes: number; meanBodyBytes: number }
interface Paced { requests2xx: number; non2xx: number; errors: number; offeredRate: number; achievedRate: number; p50: number; p90: number; p99: number; max: number; maxSendLateMs: number }

const batchJob = (s: Server, o: Options) => ({ mode: 'closed', url: s.url, auth: s.auth, path: '/v1/batch', perRequest: BATCH, connections: o.connections, seconds: o.seconds, warmup: o.warmup });
const singleJob = (s: Server, o: Options) => ({ mode: 'paced', url: s.url, auth: s.auth, path: '/v1/track', perRequest: 1, rate: o.rate, seconds: o.singleSeconds, warmup: o.warmup });

interface BatchResult {
  sync: string;
  baseline: Closed;
  tandem: Closed;
  ratio: number;
  cpuMsPer1kEvents: number;
  storedDuringIngestPerSecond: number;
  drainPerSecond: number;
  drainSeconds: number;
  backlogLeft: number;
  /** Server CPU from the start of ingest until every accepted event was stored (or the drain window ended). */
  cpuMsPer1kEventsToDrain: number;
}

/** One ingest run against a fresh `tandem start` (with `extraConfig` YAML appended to its config), after its ceiling. */
export async function batchPhase(sync: 'full' | 'normal', baseline: Server, o: Options, cpuProf: boolean, extraConfig = ''): Promise<BatchResult> {
  const base = await load<Closed>(batchJob(baseline, o));
  const tandem = await startTandem(sync, cpuProf, extraConfig);
  const cpu0 = cpuSeconds(tandem.child.pid!);
  const t0 = performance.now();
  const result = await load<Closed>(batchJob(tandem, o));
  const t1 = performance.now();
  const cpu1 = cpuSeconds(tandem.child.pid!);
  const accepted = await metric(tandem.url, 'tandem_collect_accepted_total');
  const storedAtEnd = (await metric(tandem.url, 'tandem_events_stored_total')) + (await metric(tandem.url, 'tandem_events_duplicates_total'));
  // After ingest the events stage has the core to itself: time it until it has caught up, or for a bounded window.
  let stored = storedAtEnd;
  let t2 = performance.now();
  while (stored < accepted && performance.now() - t1 < o.drainSeconds * 1000) {
    await new Promise((r) => setTimeout(r, 250));
    stored = (await metric(tandem.url, 'tandem_events_stored_total')) + (await metric(tandem.url, 'tandem_events_duplicates_total'));
    t2 = performance.now();
  }
  const cpu2 = cpuSeconds(tandem.child.pid!);
  await stop(tandem);
  const drainSeconds = (t2 - t1) / 1000;
  return {
    sync,
    baseline: base,
    tandem: result,
    ratio: result.eventsPerSecond / base.eventsPerSecond,
    cpuMsPer1kEvents: ((cpu1 - cpu0) * 1000) / ((result.requests2xx * BATCH) / 1000 || 1),
    storedDuringIngestPerSecond: storedAtEnd / ((t1 - t0) / 1000),
    drainPerSecond: drainSeconds > 0 ? (stored - storedAtEnd) / drainSeconds : NaN,
    drainSeconds,
    backlogLeft: accepted - stored,
    cpuMsPer1kEventsToDrain: ((cpu2 - cpu0) * 1000) / (stored / 1000 || 1),
  };
}

async function singlePhase(sync: 'full' | 'normal', baseline: Server, o: Options): Promise<{ sync: string; baseline: Paced; tandem: Paced }> {
  const base = await load<Paced>(singleJob(baseline, o));
  const tandem = await startTandem(sync, false);
  const result = await load<Paced>(singleJob(tandem, o));
  await stop(tandem);
  return { sync, baseline: base, tandem: result };
}

// ---- report ----------------------------------------------------------------------------------------------------

const n = (v: number, digits = 0) => (Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a');

function report(o: Options, batches: BatchResult[], singles: Awaited<ReturnType<typeof singlePhase>>[], command: string, load: number): string {
  const cpu = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.+)/)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const bytes = batches[0]?.tandem.meanEventBytes ?? 0;
  const lines = [
    '## collect',
    '',
    `${new Date().toISOString().slice(0, 10)}; ${cpu}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; load average ${load.toFixed(1)} when the run started (the machine is shared). Command: \`${command}\``,
    '',
    `Tandem (\`tandem start\`, fresh data directory), the ceiling (a bare \`node:http\` server that reads and \`JSON.parse\`s the body, answers 200) and the load generator each run in their own process on the same machine; each Tandem figure is measured right after its ceiling in the same run, so the ratio is the figure to compare across machines.`,
    '',
    `### Durable ingest, /v1/batch of ${BATCH} track events (~${bytes} bytes each), ${o.connections} keep-alive connections, ${o.seconds} s after ${o.warmup} s warm-up`,
    '',
    'Only 2xx responses count; a 2xx means the batch is committed to the log. Drain: events stored by the events stage per second once ingest stops (it shares the process and the cores with ingest while ingest runs).',
    '',
    '| storage.sync | Tandem events/s | ceiling events/s | ratio | non-2xx | server CPU ms / 1k events | stored during ingest /s | drain after ingest /s | backlog left |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...batches.map((b) => `| ${b.sync} | ${n(b.tandem.eventsPerSecond)} | ${n(b.baseline.eventsPerSecond)} | ${n(b.ratio * 100, 1)}% | ${b.tandem.non2xx + b.tandem.errors} | ${n(b.cpuMsPer1kEvents, 1)} | ${n(b.storedDuringIngestPerSecond)} | ${n(b.drainPerSecond)} (${n(b.drainSeconds, 1)} s) | ${n(b.backlogLeft)} |`),
    '',
    `### Single events, /v1/track at ${o.rate} requests/s offered (open loop), ${o.singleSeconds} s after ${o.warmup} s warm-up`,
    '',
    '| target | storage.sync | achieved req/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...singles.flatMap((s) => [
      `| ceiling | | ${n(s.baseline.achievedRate)} | ${n(s.baseline.p50, 2)} | ${n(s.baseline.p90, 2)} | ${n(s.baseline.p99, 2)} | ${n(s.baseline.max, 2)} | ${s.baseline.non2xx + s.baseline.errors} |`,
      `| Tandem | ${s.sync} | ${n(s.tandem.achievedRate)} | ${n(s.tandem.p50, 2)} | ${n(s.tandem.p90, 2)} | ${n(s.tandem.p99, 2)} | ${n(s.tandem.max, 2)} | ${s.tandem.non2xx + s.tandem.errors} |`,
    ]),
    '',
    `Targets: at least 100,000 events/s and 30% of the ceiling with ${BATCH}-event batches; p99 under 5 ms for single events at 1,000 requests/s.`,
    '',
  ];
  return lines.join('\n');
}


export async function run(args: string[]): Promise<void> {
  const o = parseArgs(args.filter((a) => a !== '--cpu-prof'));
  const cpuProf = args.includes('--cpu-prof');
  const command = `npm run bench -- collect${args.length ? ` ${args.join(' ')}` : ''}`;
  const startLoad = loadavg()[0];
  const baseline = await startBaseline();
  const batches: BatchResult[] = [];
  const singles: Awaited<ReturnType<typeof singlePhase>>[] = [];
  try {
    for (const sync of o.syncs) {
      const b = await batchPhase(sync, baseline, o, cpuProf);
      console.error(`batch ${sync}: tandem ${n(b.tandem.eventsPerSecond)} ev/s, ceiling ${n(b.baseline.eventsPerSecond)} ev/s, ${n(b.ratio * 100, 1)}%; drain ${n(b.drainPerSecond)} ev/s`);
      batches.push(b);
    }
    if (o.singleSeconds > 0) {
      for (const sync of o.syncs) {
        const s = await singlePhase(sync, baseline, o);
        console.error(`single ${sync}: tandem p50 ${n(s.tandem.p50, 2)} ms p99 ${n(s.tandem.p99, 2)} ms at ${n(s.tandem.achievedRate)} req/s; ceiling p99 ${n(s.baseline.p99, 2)} ms`);
        singles.push(s);
      }
    }
  } finally {
    await stop(baseline);
  }
  const section = report(o, batches, singles, command, startLoad);
  process.stdout.write(`\n${section}\n`);
  if (o.write) writeSection(join(ROOT, 'docs', 'benchmarks.md'), 'collect', section);
}
