// `npm run bench -- personalize [--rate 2000] [--seconds 10] [--warmup 2] [--visitors 2000] [--niceness 19,0] [--no-write] [--cpu-prof DIR]`
//
// --cpu-prof DIR: the server runs with node --cpu-prof (a .cpuprofile per thread in DIR, written when it stops) and the
// section is not written (a profiled run is slower).
//
// POST /v1/personalize against `tandem start` (a child process: the front thread answers it, the core thread writes the decision log)
// with 20 audiences, 3 decision points (rules with catalog stock and a cap, propensity, a LinUCB bandit with
// context and catalog features) and a geo database, at a fixed open-loop rate; side by side in the same run with
// a bare node:http server (the ceiling: parse the body, answer) at the same rate and bodies.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_ADMIN_TOKEN, startBaselineChild, startTandemChild, stopChild, writeSection, type BenchServer } from './_process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ADMIN_TOKEN = BENCH_ADMIN_TOKEN;
const DECISIONS = ['hero', 'recs', 'banner'];

interface Options { rate: number; seconds: number; warmup: number; visitors: number; niceness: number[]; write: boolean; cpuProf?: string }
interface Paced { requests2xx: number; non2xx: number; errors: number; offeredRate: number; achievedRate: number; p50: number; p90: number; p99: number; p999: number; max: number; maxSendLateMs: number }
type Server = BenchServer;

/** `tandem start` with a geo database and the core thread at the given niceness. */
const startTandem = (niceness: number, cpuProf?: string) =>
  startTandemChild({
    node: cpuProf ? ['--cpu-prof', '--cpu-prof-dir', cpuProf] : [],
    files: { 'geo.csv': 'network,country,region,city,timezone\n1.0.0.0/24,AU,HOT,,Australia/Sydney\n1.0.1.0/24,IS,COLD,,Atlantic/Reykjavik\n' },
    config: (dir) => `storage: { sync: normal }\npersonalize: { geoDatabase: ${JSON.stringify(join(dir, 'geo.csv'))} }\nlogLevel: warn\npipeline: { niceness: ${niceness} }\n`,
  });
const startBaseline = startBaselineChild;
const stop = stopChild;

function parseArgs(args: string[]): Options {
  const o: Options = { rate: 2000, seconds: 10, warmup: 2, visitors: 2000, niceness: [19], write: true };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const v = () => Number(args[++i]);
    if (a === '--rate') o.rate = v();
    else if (a === '--seconds') o.seconds = v();
    else if (a === '--warmup') o.warmup = v();
    else if (a === '--visitors') o.visitors = v();
    else if (a === '--niceness') o.niceness = args[++i].split(',').map(Number);
    else if (a === '--no-write') o.write = false;
    else if (a === '--cpu-prof') (o.cpuProf = args[++i]), (o.write = false);
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}




/**
 * CPU seconds (user + system) a process has used so far, every thread, or only its main thread (`main`: where
 * `tandem start` answers /v1/personalize), from /proc (Linux; 0 elsewhere).
 */
function cpuSeconds(pid: number | undefined, main = false): number {
  try {
    const fields = readFileSync(main ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    // utime and stime are fields 14 and 15 of the line (11 and 12 after the command), in clock ticks (100 per second).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * The load, and the server's CPU per request sent over the whole run (its own warm-up included), after a first load
 * as long as the warm-up that is not measured at all: the first thousands of calls compile and optimise the code
 * (the server had answered one call before), which is not the cost of an answer.
 */
async function measured(s: Server, job: Record<string, unknown>): Promise<Paced & { cpuMsPerRequest: number; mainCpuMsPerRequest: number }> {
  if (Number(job.warmup) > 0) await load({ ...job, seconds: job.warmup, warmup: 0 });
  const before = cpuSeconds(s.child.pid);
  const mainBefore = cpuSeconds(s.child.pid, true);
  const r = await load(job);
  const total = Math.round(Number(job.rate) * (Number(job.seconds) + Number(job.warmup)));
  return { ...r, cpuMsPerRequest: ((cpuSeconds(s.child.pid) - before) * 1000) / total, mainCpuMsPerRequest: ((cpuSeconds(s.child.pid, true) - mainBefore) * 1000) / total };
}

function load(job: Record<string, unknown>): Promise<Paced> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bench/_personalize/load.mjs', JSON.stringify(job)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as Paced) : reject(new Error(`load generator exited with ${code}`))));
  });
}

async function admin(s: Server, path: string, body: unknown, method = 'POST'): Promise<unknown> {
  const r = await fetch(`${s.url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.json();
}

/** 20 audiences, the exposure settings, catalogs, 3 decision points, and `visitors` profiles with traits and events. */
async function setUp(s: Server, o: Options): Promise<void> {
  for (let i = 0; i < 20; i++) {
    const condition = i % 2 === 0 ? { trait: 'score', gte: i * 5 } : { performed: `Viewed ${i % 5}`, within: '30d' };
    await admin(s, '/audiences', { key: `aud_${i}`, name: `Audience ${i}`, condition });
  }
  await admin(s, '/personalization', { audiences: ['*'], computed: ['*'] }, 'PUT');
  await admin(s, '/catalogs', { key: 'products', keyField: 'sku' });
  await admin(s, '/catalogs/products/rows', Array.from({ length: 50 }, (_, i) => ({ sku: `S${i}`, stock: i % 3 })));
  await admin(s, '/catalogs', { key: 'weather', keyField: 'region' });
  await admin(s, '/catalogs/weather/rows', [{ region: 'HOT', temp_c: 31 }, { region: 'COLD', temp_c: 4 }]);
  const inStock = { catalog: 'products', key_from: { trait: 'offer.attributes.sku' }, where: [{ field: 'stock', gt: 0 }] };
  const products = Array.from({ length: 8 }, (_, i) => ({
    key: `p${i}`,
    attributes: { sku: `S${i}` },
    condition: i % 2 ? { all: [inStock, { in_audience: `aud_${i}` }] } : inStock,
    content: { title: `Product ${i}` },
  }));
  await admin(s, '/decisions', {
    key: 'hero',
    policy: { type: 'rules' },
    cap: { max: 3, within: '1d' },
    offers: [...products, { key: 'default', content: { title: 'Welcome' } }],
    holdout: { percent: 10 },
  });
  await admin(s, '/decisions', { key: 'recs', policy: { type: 'propensity' }, offers: [{ key: 'shoes', score: 'p_shoes' }, { key: 'bags', score: 'p_bags' }, { key: 'hats', score: 'p_hats' }] });
  await admin(s, '/decisions', {
    key: 'banner',
    policy: {
      type: 'bandit',
      algorithm: 'linucb',
      features: [
        { key: 'hot', when: { catalog: 'weather', key_from: { trait: 'context.geo.region' }, where: [{ field: 'temp_c', gte: 25 }] } },
        { key: 'mobile', when: { trait: 'context.device.type', eq: 'mobile' } },
        { key: 'hour', value: 'context.time.hour', scale: 0.04 },
        { key: 'temp', catalog: 'weather', key_from: 'context.geo.region', field: 'temp_c', scale: 0.03 },
      ],
    },
    offers: [{ key: 'water' }, { key: 'soda' }, { key: 'coffee' }, { key: 'tea' }],
    holdout: { percent: 10 },
    reward: { events: [{ event: 'Banner Clicked' }] },
  });
  // Profiles: traits and events through /v1/batch, then wait until the pipeline has resolved the last one.
  for (let from = 0; from < o.visitors; from += 500) {
    const batch = [];
    for (let i = from; i < Math.min(o.visitors, from + 500); i++) {
      batch.push({ type: 'identify', anonymousId: `a${i}`, traits: { score: i % 100 } });
      batch.push({ type: 'track', anonymousId: `a${i}`, event: `Viewed ${i % 5}` });
    }
    const r = await fetch(`${s.url}/v1/batch`, { method: 'POST', headers: { authorization: s.auth, 'content-type': 'application/json' }, body: JSON.stringify({ batch }) });
    if (r.status !== 200) throw new Error(`batch: ${r.status} ${await r.text()}`);
  }
  const last = `a${o.visitors - 1}`;
  for (let i = 0; i < 600; i++) {
    const r = await fetch(`${s.url}/api/v1/profiles/lookup?type=anonymous_id&value=${last}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    if (r.status === 200 && ((await r.json()) as { audiences: string[] }).audiences.length > 0) return;
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new Error('the profiles were not processed in 5 minutes');
}

const job = (s: Server, path: string, o: Options) => ({ url: s.url, path, auth: s.auth, rate: o.rate, seconds: o.seconds, warmup: o.warmup, visitors: o.visitors, decisions: DECISIONS });
const n = (v: number, d = 0) => v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

export async function run(args: string[]): Promise<void> {
  const o = parseArgs(args);
  const command = `npm run bench -- personalize${args.length ? ` ${args.join(' ')}` : ''}`;
  const startLoad = loadavg();
  const baseline = await startBaseline();
  const runs: { niceness: number; result: Paced & { cpuMsPerRequest: number; mainCpuMsPerRequest: number } }[] = [];
  let sample: unknown;
  try {
    for (const niceness of o.niceness) {
      const tandem = await startTandem(niceness, o.cpuProf);
      try {
        await setUp(tandem, o);
        const r = await fetch(`${tandem.url}/v1/personalize`, { method: 'POST', headers: { authorization: tandem.auth, 'content-type': 'application/json' }, body: JSON.stringify({ anonymousId: 'a42', decisions: DECISIONS, context: { ip: '1.0.0.7' } }) });
        sample = await r.json();
        // The ceiling just before each Tandem phase, so both see the machine in the same state.
        const b = await measured(baseline, job(baseline, '/v1/track', o));
        console.error(`ceiling: p50 ${n(b.p50, 2)} ms p99 ${n(b.p99, 2)} ms at ${n(b.achievedRate)} req/s`);
        const t = await measured(tandem, job(tandem, '/v1/personalize', o));
        console.error(`tandem (core niceness ${niceness}): p50 ${n(t.p50, 2)} ms p99 ${n(t.p99, 2)} ms at ${n(t.achievedRate)} req/s (${t.non2xx} non-2xx, ${t.errors} errors), ${n(t.cpuMsPerRequest, 3)} ms CPU per request (main thread ${n(t.mainCpuMsPerRequest, 3)}, other threads ${n(t.cpuMsPerRequest - t.mainCpuMsPerRequest, 3)})`);
        runs.push({ niceness, result: t }, { niceness: -1, result: b });
      } finally {
        await stop(tandem);
      }
    }
  } finally {
    await stop(baseline);
  }
  const endLoad = loadavg();
  const row = (name: string, p: Paced & { cpuMsPerRequest: number; mainCpuMsPerRequest: number }) =>
    `| ${name} | ${n(p.offeredRate)} | ${n(p.achievedRate)} | ${n(p.p50, 2)} | ${n(p.p90, 2)} | **${n(p.p99, 2)}** | ${n(p.p999, 2)} | ${n(p.max, 1)} | ${p.non2xx + p.errors} | ${n(p.maxSendLateMs, 1)} | ${n(p.cpuMsPerRequest, 3)} | ${n(p.mainCpuMsPerRequest, 3)} |`;
  const section = [
    '## personalize',
    '',
    `\`${command}\` on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} CPUs (${cpus()[0]?.model.trim()}), shared; load average ${startLoad.map((l) => l.toFixed(2)).join(' ')} before, ${endLoad.map((l) => l.toFixed(2)).join(' ')} after.`,
    '',
    `POST /v1/personalize against \`tandem start\` (answered on the front thread, which reads store.db on its own connection and sends decision-log writes to the core thread; \`pipeline.niceness\` 19 is the default), ${o.visitors} known visitors, 20 audiences,`,
    '3 decision points per call (`hero`: rules over 9 offers with catalog stock conditions, audience conditions and a cap; `recs`: propensity;',
    '`banner`: LinUCB over 4 offers with 4 context and catalog features), a geo database, 10% holdouts; every decision logged in SQLite (by the core, in batches).',
    `Open loop at a fixed rate for ${o.seconds} s after ${o.warmup} s of warm-up, itself after a first load of ${o.warmup} s that is not measured (it compiles and optimises the code); the ceiling is a bare node:http server that parses the same bodies, at the same rate, in the same run.`,
    '',
    'CPU ms/req: CPU time of the whole server process (every thread: front, core, checkpoint, collect threads) during the load, divided by the requests sent; main ms/req: the main thread\'s share (the front, which answers); on a shared machine both are inflated by contention.',
    '',
    '| target | offered req/s | achieved req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | failed | sender late max ms | CPU ms/req | main ms/req |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...runs.map((r) => row(r.niceness < 0 ? 'ceiling (bare node:http), just before' : `Tandem /v1/personalize, core niceness ${r.niceness}`, r.result)),
    '',
    ...runs.filter((r) => r.niceness >= 0).map((r) => `Target p99 under 10 ms at ${n(o.rate)} requests/s, core niceness ${r.niceness}: **${r.result.p99 < 10 && r.result.achievedRate > o.rate * 0.97 ? 'met' : 'not met'}** in this run.`),
    '',
    'One answer (visitor a42):',
    '',
    '```json',
    JSON.stringify(sample),
    '```',
  ].join('\n');
  process.stdout.write(`\n${section}\n`);
  if (o.write) writeSection(join(ROOT, 'docs', 'benchmarks.md'), 'personalize', section);
}
