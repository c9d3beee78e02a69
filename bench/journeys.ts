// `npm run bench -- journeys [--rate 2000] [--seconds 20] [--profiles 1000000] [--spread 600] [--no-fast] [--no-timers] [--no-write]`
//
// (a) Event to message dispatched at a local HTTP sink: a running Tandem (as `tandem start` runs it: collection on
//     this thread, the pipeline on a core thread) with one journey
//     `trigger: Bench Ping -> webhook`, track events offered at a fixed rate from a separate process, the sink in a
//     third process; each event carries the instant it was sent, the sink records the instant the webhook arrived.
//     Baseline, same run: the sender POSTs the same number of requests straight to the same sink.
// (b) Timers: `--profiles` instances waiting on a timer, inserted in bulk through the journey store (the engine's
//     own insertInstance, 20,000 per transaction) on a store.db file, due spread evenly over `--spread` seconds of
//     the system clock; the journeys stage fires them (each firing is a real step: the instance, its trail, the send
//     ledger and an outbox row in one transaction). Lateness = when the step committed - when the timer was due.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pino from 'pino';
import { startFront } from '../src/server/front.js';
import { systemClock } from '../src/core/clock.js';
import { parseConfig } from '../src/core/config.js';
import { createJourneys } from '../src/journeys/journeys.js';
import type { JourneyInstance } from '../src/journeys/ports.js';
import { memoryDefinitions, profile } from '../src/journeys/test-support.js';
import { openSqlite } from '../src/storage/sqlite/database.js';
import { openSqliteJourneyOutbox } from '../src/storage/sqlite/journey-outbox.js';
import { writeSection } from './_process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOKEN = 'bench-admin-token';
const HOUR = 3_600_000;

interface Options { rate: number; seconds: number; profiles: number; spread: number; fast: boolean; timers: boolean; write: boolean; perRequest: number; users: number }

function parseArgs(args: string[]): Options {
  const o: Options = { rate: 2000, seconds: 20, profiles: 1_000_000, spread: 600, fast: true, timers: true, write: true, perRequest: 10, users: 20_000 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const v = () => Number(args[++i]);
    if (a === '--rate') o.rate = v();
    else if (a === '--seconds') o.seconds = v();
    else if (a === '--profiles') o.profiles = v();
    else if (a === '--spread') o.spread = v();
    else if (a === '--per-request') o.perRequest = v();
    else if (a === '--users') o.users = v();
    else if (a === '--no-fast') o.fast = false;
    else if (a === '--no-timers') o.timers = false;
    else if (a === '--no-write') o.write = false;
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

const n = (v: number, digits = 0) => (Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a');
const q = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
const stats = (sorted: number[]) => ({ count: sorted.length, p50: q(sorted, 0.5), p90: q(sorted, 0.9), p99: q(sorted, 0.99), max: sorted[sorted.length - 1] ?? NaN });
type Stats = ReturnType<typeof stats>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function child(args: string[]): { proc: ChildProcess; line: Promise<string> } {
  const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const line = new Promise<string>((resolve, reject) => {
    proc.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
    });
    proc.once('exit', (code) => (out.includes('\n') ? undefined : reject(new Error(`${args.join(' ')} exited with ${code}`))));
  });
  return { proc, line };
}

async function load(job: Record<string, unknown>): Promise<{ achievedRate: number; events: number; failedRequests: number }> {
  const c = child(['bench/_journeys/load.mjs', JSON.stringify(job)]);
  return JSON.parse(await c.line) as { achievedRate: number; events: number; failedRequests: number };
}

interface FastResult { offered: number; achieved: number; baselineAchieved: number; journey: Stats; baseline: Stats; repeats: number; sent: number }

async function fastPath(o: Options): Promise<FastResult> {
  const sink = child(['bench/_journeys/sink.mjs']);
  const sinkUrl = `http://127.0.0.1:${(await sink.line).split(' ')[1]}`;
  const sinkStats = async () => (await (await fetch(`${sinkUrl}/stats`)).json()) as Record<string, { latencies: number[]; repeats: number } | undefined>;
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-journeys-'));
  // The shape `tandem start` runs: collection on this thread, the pipeline and admin API on a core thread.
  const front = await startFront(parseConfig({ dataDir: dir, port: 0, logLevel: 'silent', network: { allowPrivate: ['127.0.0.1/32'] } }), pino({ level: 'silent' }), TOKEN); // the sink is on loopback
  const peek = new Database(join(dir, 'store.db'), { readonly: true });
  const one = (sql: string) => (peek.prepare(sql).pluck().get() as number | null) ?? 0;
  try {
    const url = front.url;
    const admin = async (path: string, body: unknown) => {
      const res = await fetch(`${url}/api/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    };
    await admin('/channels', { key: 'sink', type: 'webhook', settings: { url: `${sinkUrl}/journey` } });
    await admin('/journeys', { key: 'ping', trigger: { type: 'event', event: 'Bench Ping' }, re_entry: { policy: 'always' }, start: 'hook', nodes: { hook: { type: 'webhook', channel: 'sink' } } });
    const auth = `Basic ${Buffer.from(`${front.firstStart.writeKey}:`).toString('base64')}`;
    // Settled: the stored events stop growing, the journeys have read them all and no message is pending.
    const settle = async () => {
      let last = '';
      for (;;) {
        await sleep(500);
        const stored = one('SELECT MAX(id) FROM events');
        const now = `${stored} ${one("SELECT position FROM journey_positions WHERE consumer = 'journeys'")} ${one("SELECT COUNT(*) FROM delivery_messages WHERE state = 'pending'")}`;
        if (now === last && now.startsWith(`${stored} ${stored} 0`)) break;
        last = now;
      }
    };
    const job = { mode: 'tandem', url, auth, rate: o.rate, perRequest: o.perRequest, users: o.users };
    await load({ ...job, seconds: 2 }); // warm-up: JIT, first profiles
    await settle();
    await sinkStats();
    console.error(`(a) offering ${n(o.rate)} events/s for ${o.seconds} s ...`);
    // Where the backlog sits, once a second: events stored, resolved, applied, seen by journeys; messages pending.
    const backlog: string[] = [];
    const sampler = setInterval(() => {
      const stored = one('SELECT MAX(id) FROM events');
      backlog.push(`stored ${stored}, resolved ${one("SELECT event_id FROM identity_positions WHERE consumer = 'resolve'")}, applied ${one("SELECT event_id FROM apply_positions WHERE consumer = 'apply'")}, journeys ${one("SELECT position FROM journey_positions WHERE consumer = 'journeys'")}, pending messages ${one("SELECT COUNT(*) FROM delivery_messages WHERE state = 'pending'")}`);
    }, 1000);
    const run = await load({ ...job, seconds: o.seconds });
    clearInterval(sampler);
    console.error(`(a) backlog, once a second:\n  ${backlog.join('\n  ')}`);
    await settle(); // messages of events still in the pipeline when sending stops count too
    const journey = (await sinkStats()).journey;
    console.error('(a) baseline: direct POSTs to the sink ...');
    const base = await load({ mode: 'direct', url: sinkUrl, rate: o.rate, seconds: o.seconds });
    await sleep(500);
    const direct = (await sinkStats()).direct;
    return {
      offered: o.rate, achieved: run.achievedRate, baselineAchieved: base.achievedRate, sent: run.events,
      journey: stats(journey?.latencies ?? []), baseline: stats(direct?.latencies ?? []), repeats: journey?.repeats ?? 0,
    };
  } finally {
    peek.close();
    await front.close();
    sink.proc.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface TimerResult { profiles: number; insertSeconds: number; fileMb: number; nextWakeMs: number; idleStepMs: number; spread: number; fireSeconds: number; lateness: Stats; startedLate: number }

async function timerPath(o: Options): Promise<TimerResult> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-timers-'));
  const file = join(dir, 'store.db');
  const db = openSqlite(file, 'normal');
  try {
    const outbox = openSqliteJourneyOutbox(db);
    const journeys = createJourneys({ db, store: memoryDefinitions(), clock: systemClock, profiles: { get: async (_ws, id) => profile(id) }, outbox });
    await journeys.save('default', { key: 'timers', trigger: { type: 'event', event: 'Never Sent' }, start: 'wait', nodes: { wait: { type: 'wait', duration: '1h', next: 'hook' }, hook: { type: 'webhook', channel: 'crm' } } }, 'create');
    const store = journeys.store;
    const CHUNK = 20_000;
    const spacing = (o.spread * 1000) / o.profiles;
    // Due times start after the insertion (estimated from the first chunk, with a margin) and spread evenly.
    const t0 = Date.now();
    let base = 0;
    const instance = (i: number, due: number): JourneyInstance => ({
      id: `i${String(i).padStart(8, '0')}`, workspaceId: 'default', journey: 'timers', version: 1, profileId: `p${i}`, node: 'wait', status: 'active',
      wakeAt: due, priority: 0, enteredAt: due - HOUR, updatedAt: t0, exitReason: null, context: { visits: { wait: 1 }, entryKey: `bench:${i}` },
    });
    console.error(`(b) inserting ${n(o.profiles)} waiting instances ...`);
    for (let from = 0; from < o.profiles; from += CHUNK) {
      if (from === CHUNK) base = Date.now() + ((Date.now() - t0) / CHUNK) * o.profiles * 1.5 + 10_000;
      const dueOf = (i: number) => (base === 0 ? Number.MAX_SAFE_INTEGER : base + Math.floor(i * spacing));
      store.transaction(() => {
        for (let i = from; i < Math.min(o.profiles, from + CHUNK); i++) store.insertInstance(instance(i, dueOf(i)));
      });
    }
    if (base === 0) base = Date.now() + 5000;
    // The first chunk was inserted before the estimate: give it its due times now.
    db.prepare(`UPDATE journey_instances SET wake_at = ? + CAST((CAST(substr(id, 2) AS INTEGER)) * ? AS INTEGER), entered_at = ? + CAST((CAST(substr(id, 2) AS INTEGER)) * ? AS INTEGER) - ${HOUR} WHERE wake_at = ?`)
      .run(base, spacing, base, spacing, Number.MAX_SAFE_INTEGER);
    const insertSeconds = (Date.now() - t0) / 1000;
    db.pragma('wal_checkpoint(TRUNCATE)');
    const fileMb = statSync(file).size / 2 ** 20;
    let started = performance.now();
    for (let i = 0; i < 100; i++) store.nextWake();
    const nextWakeMs = (performance.now() - started) / 100;
    started = performance.now();
    await journeys.stage.step(Infinity); // nothing due yet: what an idle turn costs with 1M waiting
    const idleStepMs = performance.now() - started;
    const startedLate = Math.max(0, Date.now() - base);
    console.error(`(b) inserted in ${n(insertSeconds, 1)} s (${n(fileMb)} MB); first timer due in ${n((base - Date.now()) / 1000, 1)} s; firing over ${o.spread} s ...`);
    journeys.start();
    const fireStart = Date.now();
    while (store.nextWake() !== undefined) await sleep(1000);
    await journeys.stop();
    const fireSeconds = (Date.now() - Math.max(fireStart, base)) / 1000;
    const late = (db.prepare(`SELECT updated_at - entered_at - ${HOUR} AS late FROM journey_instances`).pluck().all() as number[]).sort((a, b) => a - b);
    return { profiles: o.profiles, insertSeconds, fileMb, nextWakeMs, idleStepMs, spread: o.spread, fireSeconds, lateness: stats(late), startedLate };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(args: string[]): Promise<void> {
  const o = parseArgs(args);
  const command = `npm run bench -- journeys${args.length ? ` ${args.join(' ')}` : ''}`;
  const startLoad = loadavg()[0];
  const fast = o.fast ? await fastPath(o) : undefined;
  if (fast) console.error(`(a) p99 ${n(fast.journey.p99, 1)} ms (baseline ${n(fast.baseline.p99, 1)} ms) at ${n(fast.achieved)} events/s`);
  const timers = o.timers ? await timerPath(o) : undefined;
  if (timers) console.error(`(b) lateness p99 ${n(timers.lateness.p99)} ms over ${n(timers.profiles)} timers`);

  const cpu = cpus()[0]?.model ?? 'unknown';
  const lines = [
    '## journeys',
    '',
    `${new Date().toISOString().slice(0, 10)}; ${cpu}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; load average ${startLoad.toFixed(1)} when the run started (the machine is shared). Command: \`${command}\``,
    '',
  ];
  if (fast) {
    const row = (name: string, rate: number, s: Stats) => `| ${name} | ${n(rate)} | ${n(s.count)} | ${n(s.p50, 1)} | ${n(s.p90, 1)} | ${n(s.p99, 1)} | ${n(s.max, 1)} |`;
    lines.push(
      '### (a) Event to message dispatched at a local HTTP sink',
      '',
      `Tandem in the benchmark's process (embedded storage, default configuration), one journey \`trigger: Bench Ping -> webhook\` (re-entry always), a webhook channel to a sink in its own process. The sender, in a third process, offers /v1/batch requests of ${o.perRequest} events for ${n(o.users)} users at ${n(o.rate)} events/s for ${o.seconds} s (after a 2 s warm-up); each event carries the instant it was sent and the sink records when its webhook arrived: collect, log, events, resolve, apply, journeys (step + outbox in one transaction), dispatcher, HTTP. Messages of events still in the pipeline when sending stops are waited for and counted. Baseline, same run: the sender POSTs one request per event straight to the same sink at the same rate.`,
      '',
      '| path | achieved events/s | messages at the sink | p50 ms | p90 ms | p99 ms | max ms |',
      '|---|---:|---:|---:|---:|---:|---:|',
      row('event -> journey -> webhook', fast.achieved, fast.journey),
      row('baseline: direct POST', fast.baselineAchieved, fast.baseline),
      '',
      `Events accepted: ${n(fast.sent)}; messages at the sink: ${n(fast.journey.count)} (repeated idempotency keys: ${n(fast.repeats)}). Target: p99 under 50 ms at 2,000 events/s.`,
      '',
    );
  }
  if (timers) {
    lines.push(
      `### (b) ${n(timers.profiles)} profiles waiting on timers; lateness when they come due`,
      '',
      `Instances inserted in bulk through the journey store's insertInstance (20,000 per transaction) on a store.db file (${n(timers.insertSeconds, 1)} s; ${n(timers.fileMb)} MB after a checkpoint), waiting on a 1 h \`wait\` node, their due instants spread evenly over ${n(timers.spread)} s of the system clock. With all of them waiting: finding the next timer (store.nextWake) takes ${n(timers.nextWakeMs, 3)} ms, an idle stage turn ${n(timers.idleStepMs, 1)} ms. The journeys stage then fires them as they come due; each firing is a real step (instance, trail, send ledger and an outbox row for the webhook node after the wait, one transaction) with a synthetic profile reader (no profile lookups). Lateness = commit instant of the step - due instant (ms resolution).`,
      '',
      '| timers | due over s | fired in s | lateness p50 ms | p90 ms | p99 ms | max ms |',
      '|---:|---:|---:|---:|---:|---:|---:|',
      `| ${n(timers.lateness.count)} | ${n(timers.spread)} | ${n(timers.fireSeconds, 1)} | ${n(timers.lateness.p50)} | ${n(timers.lateness.p90)} | ${n(timers.lateness.p99)} | ${n(timers.lateness.max)} |`,
      '',
      `${timers.startedLate > 0 ? `The insertion overran its estimate: the stage started ${n(timers.startedLate)} ms after the first timer was due (counted in the lateness). ` : ''}Target: 1,000,000 profiles waiting; lateness p99 under 1 s.`,
      '',
    );
  }
  const section = lines.join('\n');
  process.stdout.write(`\n${section}\n`);
  if (o.write) writeSection(join(ROOT, 'docs', 'benchmarks.md'), 'journeys', section);
  process.exit(0); // a stopped stage may still hold a timer armed on the system clock (up to 60 s)
}
