// `npm run bench -- identity [--events 1000000] [--people 300000] [--rate 1000] [--seconds 10] [--no-lookup] [--no-write]`
//
// Identity resolution over a realistic history, against a floor. Events are stored through the Store port (as the
// events stage stores them), then the real ResolveStage drains them over the real SQLite identity store; in the
// same run a bare SQLite union-find resolves the same identifiers (the cheapest resolution possible on this
// machine). Then `tandem start` serves the result and an open-loop client looks profiles up by email at a fixed
// rate, right after doing the same against a bare node:http server that answers a fixed JSON.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor, writeSection } from './_process.js';
import type { LogEntry, Message } from '../src/collect/message.js';
import { systemClock } from '../src/core/clock.js';
import { sha256 } from '../src/core/ids.js';
import { LoadShare } from '../src/core/stage-loop.js';
import { ResolveStage } from '../src/identity/resolve-stage.js';
import { ActiveIdentityRules } from '../src/identity/rules.js';
import { openSqlite, type Sqlite } from '../src/storage/sqlite/database.js';
import { openSqliteIdentityStore } from '../src/storage/sqlite/identity-store.js';
import { openSqliteStore } from '../src/storage/sqlite/store.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ADMIN_TOKEN = 'bench-admin-token';
const WORKSPACE = 'default';
const ACCEPT_BATCH = 1000;

interface Options { events: number; people: number; rate: number; seconds: number; warmup: number; lookup: boolean; write: boolean; seed: number }

function parseArgs(args: string[]): Options {
  const o: Options = { events: 1_000_000, people: 300_000, rate: 1000, seconds: 10, warmup: 2, lookup: true, write: true, seed: 1 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const v = () => Number(args[++i]);
    if (a === '--events') o.events = v();
    else if (a === '--people') o.people = v();
    else if (a === '--rate') o.rate = v();
    else if (a === '--seconds') o.seconds = v();
    else if (a === '--warmup') o.warmup = v();
    else if (a === '--seed') o.seed = v();
    else if (a === '--no-lookup') o.lookup = false;
    else if (a === '--no-write') o.write = false;
    else throw new Error(`unknown option ${a}`);
  }
  if (!(o.events >= o.people && o.people > 0)) throw new Error('--events must be at least --people, and --people positive');
  return o;
}

// ---- the history -----------------------------------------------------------------------------------------------

/** A small seeded generator, so every run resolves the same history. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface History {
  messages: Message[];
  /** Each event's identifiers as `type:value` keys, for the union-find floor (no parsing, no normalising). */
  keys: string[][];
  /** Emails of people who logged in, for lookups. */
  emails: string[];
  stats: { identify: number; anonymous: number; loggedInPeople: number; devices: number; withPhone: number };
}

const START = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;
const PAGES = ['/', '/pricing', '/docs', '/blog/launch', '/signup', '/product/42'];
const EVENTS = ['Product Viewed', 'Product Added', 'Checkout Started', 'Order Completed', 'Video Played'];

/**
 * Each person browses on one to three devices (each with its own cookie and device id) over about a week; 75%
 * log in on each device they use, a bit under half of the way into that device's events (identify with userId,
 * email and, for 30%, a phone), after which events carry the userId too. Before login, events are anonymous
 * page views and tracks. People's events interleave in time order, as the events table would hold them.
 */
function generate(o: Options): History {
  const rnd = random(o.seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
  const slots: { at: number; m: Message; keys: string[] }[] = [];
  const emails: string[] = [];
  const stats = { identify: 0, anonymous: 0, loggedInPeople: 0, devices: 0, withPhone: 0 };
  let remaining = o.events;
  for (let p = 0; p < o.people; p++) {
    const peopleLeft = o.people - p;
    // Events per person: exponential around the mean, at least one, and the total comes out exact.
    const mean = remaining / peopleLeft;
    const n = p === o.people - 1 ? remaining : Math.max(1, Math.min(remaining - (peopleLeft - 1), Math.round(-Math.log(1 - rnd()) * mean) || 1));
    remaining -= n;
    const devices = Math.min(n, 1 + (rnd() < 0.5 ? 1 : 0) + (rnd() < 0.2 ? 1 : 0));
    const loggedIn = rnd() < 0.75;
    const phone = loggedIn && rnd() < 0.3 ? `+1415${String(1_000_000 + p).slice(-7)}` : undefined;
    const userId = `u${p}`;
    const email = `person${p}@example.com`;
    stats.devices += devices;
    if (loggedIn) (stats.loggedInPeople++, emails.push(email));
    if (phone) stats.withPhone++;
    let at = START + rnd() * 30 * DAY;
    for (let d = 0; d < devices; d++) {
      const cookie = `c${p}-${d}-${Math.floor(rnd() * 1e9).toString(36)}`;
      const device = `d${p}-${d}-${Math.floor(rnd() * 1e9).toString(36)}`;
      const len = Math.floor(n / devices) + (d < n % devices ? 1 : 0);
      const login = loggedIn ? Math.floor(len * 0.4) : -1;
      for (let i = 0; i < len; i++) {
        at += rnd() * 6 * 3_600_000;
        const base = { messageId: `m${slots.length}-${p}`, anonymousId: cookie, context: { device: { id: device, type: 'mobile' }, library: { name: 'bench', version: '1' }, userAgent: 'Mozilla/5.0' }, integrations: {}, timestamp: new Date(at).toISOString(), receivedAt: new Date(at).toISOString() };
        const keys = [`anonymous_id:${cookie}`, `device_id:${device}`];
        let m: Message;
        if (i === login) {
          m = { ...base, type: 'identify', userId, traits: { email: i % 2 ? email.toUpperCase() : email, ...(phone ? { phone } : {}), name: `Person ${p}`, plan: pick(['free', 'pro', 'team']) } };
          keys.unshift(`user_id:${userId}`);
          keys.push(`email:${email}`);
          if (phone) keys.push(`phone:${phone}`);
          stats.identify++;
        } else {
          const track = rnd() < 0.5;
          m = track ? { ...base, type: 'track', event: pick(EVENTS), properties: { price: Math.round(rnd() * 10000) / 100 } } : { ...base, type: 'page', name: pick(PAGES), properties: { path: pick(PAGES) } };
          if (login >= 0 && i > login) (m.userId = userId, keys.unshift(`user_id:${userId}`));
          else stats.anonymous++;
        }
        slots.push({ at, m, keys });
      }
    }
  }
  slots.sort((a, b) => a.at - b.at);
  return { messages: slots.map((s) => s.m), keys: slots.map((s) => s.keys), emails, stats };
}

// ---- resolution ------------------------------------------------------------------------------------------------

const mb = (bytes: number) => bytes / 2 ** 20;

/** A full collection before each heap reading, so the delta is what the stage retains, not garbage. */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Bytes the identity tables and indexes take in the file (SQLite's dbstat), or NaN where it is not compiled in. */
function identityBytes(db: Sqlite): number {
  try {
    const r = db.prepare("SELECT sum(pgsize) AS b FROM dbstat WHERE name LIKE 'identity%' OR name LIKE 'profile%' OR name LIKE 'sqlite_autoindex_identity%' OR name LIKE 'sqlite_autoindex_profile%'").get() as { b: number };
    return r.b;
  } catch {
    return NaN;
  }
}

interface ResolveResult {
  storeSeconds: number;
  seconds: number;
  eventsPerSecond: number;
  floorSeconds: number;
  floorEventsPerSecond: number;
  floorProfiles: number;
  profiles: number;
  merged: number;
  conflicts: number;
  heapDeltaBytes: number;
  rssDeltaBytes: number;
  diskBytes: number;
  /** Profiles and identifiers the stage holds in memory at the end (its resident graph). */
  resident: { profiles: number; identifiers: number };
  /** Shares of the stage's time: reading stored events (query and JSON parse), reading the graph slice, the commit. */
  split: { read: number; slice: number; commit: number };
}

/** Stores the history through the Store port, as the events stage does, one accept per log record of 1,000. */
async function storeHistory(db: Sqlite, h: History): Promise<string> {
  const store = openSqliteStore(db, systemClock);
  await store.workspaces.ensure(WORKSPACE, 'Default workspace');
  const source = await store.sources.create(WORKSPACE, 'default', sha256('bench-write-key'), 'bench', { name: 'Bench' });
  for (let i = 0, offset = 1; i < h.messages.length; i += ACCEPT_BATCH, offset++) {
    const entries: LogEntry[] = h.messages.slice(i, i + ACCEPT_BATCH).map((message) => ({ kind: 'event', message, violations: [] }));
    await store.events.accept([{ consumer: 'events', partition: 0, offset, workspaceId: WORKSPACE, sourceId: source.id, receivedAt: systemClock.now(), entries, dedupWindowMs: DAY }]);
  }
  return source.id;
}

/**
 * The floor: union-find in SQLite over the same identifier keys, one transaction per 1,000 events, with every
 * statement prepared once. No parsing, normalising, limits, merge records, timelines or traits: the least any
 * persistent resolution must do (find each identifier's root, link the event's roots, store the event's root).
 */
function unionFindFloor(file: string, keys: string[][]): { seconds: number; profiles: number } {
  const db = openSqlite(file, 'normal');
  db.exec('CREATE TABLE node (key TEXT PRIMARY KEY, parent TEXT NOT NULL) WITHOUT ROWID; CREATE TABLE event_root (event_id INTEGER PRIMARY KEY, root TEXT NOT NULL)');
  const get = db.prepare('SELECT parent FROM node WHERE key = ?').pluck();
  const put = db.prepare('INSERT OR REPLACE INTO node (key, parent) VALUES (?, ?)');
  const eventRoot = db.prepare('INSERT INTO event_root (event_id, root) VALUES (?, ?)');
  const find = (key: string): string | undefined => {
    let k = key;
    let parent = get.get(k) as string | undefined;
    if (parent === undefined) return undefined;
    while (parent !== k) (k = parent!, parent = get.get(k) as string);
    return k;
  };
  const tx = db.transaction((from: number, to: number) => {
    for (let e = from; e < to; e++) {
      let root: string | undefined;
      for (const key of keys[e]) {
        const r = find(key);
        if (r === undefined) put.run(key, root ?? key);
        else if (root === undefined) root = r;
        else if (r !== root) put.run(r, root);
        root ??= key;
        if (r !== undefined && r !== key && r !== root) put.run(key, root); // path compression
      }
      eventRoot.run(e + 1, root!);
    }
  });
  const t0 = performance.now();
  for (let i = 0; i < keys.length; i += ACCEPT_BATCH) tx(i, Math.min(keys.length, i + ACCEPT_BATCH));
  const seconds = (performance.now() - t0) / 1000;
  const profiles = (db.prepare('SELECT count(*) FROM node WHERE key = parent').pluck().get() as number);
  db.close();
  return { seconds, profiles };
}

async function resolvePhase(dataDir: string, h: History): Promise<ResolveResult> {
  const db = openSqlite(join(dataDir, 'store.db'), 'normal');
  const t0 = performance.now();
  await storeHistory(db, h);
  const storeSeconds = (performance.now() - t0) / 1000;
  const store = openSqliteStore(db, systemClock);

  const floor = unionFindFloor(join(dataDir, '..', 'floor.db'), h.keys);
  console.error(`floor: ${Math.round(h.messages.length / floor.seconds)} events/s, ${floor.profiles} profiles`);

  // The stage runs over the real adapters; the wrappers only time the calls, to split the stage's time.
  const split = { read: 0, slice: 0, commit: 0 };
  const timed = <A extends unknown[], R>(part: keyof typeof split, f: (...a: A) => Promise<R>) => async (...a: A): Promise<R> => {
    const t = performance.now();
    try {
      return await f(...a);
    } finally {
      split[part] += performance.now() - t;
    }
  };
  const identity = openSqliteIdentityStore(db);
  const events = { after: timed('read', store.events.after.bind(store.events)) };
  const graph = { ...identity, eachIdentifier: timed('slice', identity.eachIdentifier.bind(identity)), commit: timed('commit', identity.commit.bind(identity)) };
  const stage = new ResolveStage(events, graph, new ActiveIdentityRules(store.definitions), systemClock, new LoadShare());
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const rss0 = process.memoryUsage().rss;
  const t1 = performance.now();
  await stage.drain();
  const seconds = (performance.now() - t1) / 1000;
  const rss1 = process.memoryUsage().rss;
  gc();
  // The stage is still referenced here: the heap it retains (its graph in memory) is part of the delta.
  const heapDeltaBytes = process.memoryUsage().heapUsed - heap0;
  const resident = stage.residentSize();
  const count = (sql: string) => db.prepare(sql).pluck().get() as number;
  const profiles = count('SELECT count(*) FROM identity_profiles WHERE merged_into IS NULL');
  const result: ResolveResult = {
    storeSeconds,
    seconds,
    eventsPerSecond: h.messages.length / seconds,
    floorSeconds: floor.seconds,
    floorEventsPerSecond: h.messages.length / floor.seconds,
    floorProfiles: floor.profiles,
    profiles,
    merged: count('SELECT count(*) FROM identity_profiles WHERE merged_into IS NOT NULL'),
    conflicts: count('SELECT count(*) FROM identity_conflicts'),
    heapDeltaBytes,
    rssDeltaBytes: rss1 - rss0,
    diskBytes: identityBytes(db),
    resident,
    split: { read: split.read / 1000 / seconds, slice: split.slice / 1000 / seconds, commit: split.commit / 1000 / seconds },
  };
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return result;
}

// ---- lookups ---------------------------------------------------------------------------------------------------

interface Server { url: string; child: ChildProcess }
interface Paced { ok: number; notFound: number; non2xx: number; errors: number; achievedRate: number; p50: number; p90: number; p99: number; max: number; maxSendLateMs: number }



async function stop(server: Server): Promise<void> {
  const exited = new Promise((r) => server.child.once('exit', r));
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssBytes(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * 4096;
}

/** Waits until the process has used under 5% of a core for 3 s in a row (the warehouse copy of the history has finished), at most 5 min. */
async function settle(pid: number): Promise<number> {
  const t0 = performance.now();
  for (let quiet = 0; quiet < 3 && performance.now() - t0 < 300_000; ) {
    const c0 = cpuSeconds(pid);
    await new Promise((r) => setTimeout(r, 1000));
    quiet = cpuSeconds(pid) - c0 < 0.05 ? quiet + 1 : 0;
  }
  return (performance.now() - t0) / 1000;
}

function lookupLoad(url: string, auth: string, valuesFile: string, o: Options): Promise<Paced> {
  const job = { url, auth, valuesFile, rate: o.rate, seconds: o.seconds, warmup: o.warmup };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bench/_identity/lookup-load.mjs', JSON.stringify(job)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as Paced) : reject(new Error(`lookup client exited with ${code}`))));
  });
}

interface LookupResult { baseline: Paced; tandem: Paced; settleSeconds: number; rssBytes: number }

async function lookupPhase(dir: string, dataDir: string, h: History, o: Options): Promise<LookupResult> {
  // Shuffled, so that lookups hit the whole graph rather than a warm corner of it.
  const rnd = random(o.seed + 1);
  const sample = Array.from({ length: Math.min(20_000, h.emails.length) }, () => h.emails[Math.floor(rnd() * h.emails.length)]);
  const valuesFile = join(dir, 'emails.txt');
  writeFileSync(valuesFile, sample.join('\n'));

  const baseChild = spawn(process.execPath, ['bench/_identity/baseline.mjs'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const [, basePort] = await waitFor(baseChild, /listening (\d+)/, 'baseline');
  const base = { url: `http://127.0.0.1:${basePort}`, child: baseChild };
  let baseline: Paced;
  try {
    baseline = await lookupLoad(base.url, 'Bearer x', valuesFile, o);
  } finally {
    await stop(base);
  }

  const port = await freePort();
  const child = spawn(process.execPath, ['bin/tandem.js', 'start', '--data-dir', dataDir, '--port', String(port)], { cwd: ROOT, env: { ...process.env, TANDEM_ADMIN_TOKEN: ADMIN_TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] });
  await waitFor(child, /Tandem is running at/, 'tandem');
  child.stdout!.resume();
  const tandem = { url: `http://127.0.0.1:${port}`, child };
  try {
    const settleSeconds = await settle(child.pid!);
    const result = await lookupLoad(tandem.url, `Bearer ${ADMIN_TOKEN}`, valuesFile, o);
    return { baseline, tandem: result, settleSeconds, rssBytes: rssBytes(child.pid!) };
  } finally {
    await stop(tandem);
  }
}

// ---- report ----------------------------------------------------------------------------------------------------

const n = (v: number, digits = 0) => (Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a');

function report(o: Options, h: History, r: ResolveResult, l: LookupResult | undefined, command: string, load: number): string {
  const cpu = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.+)/)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const s = h.stats;
  const lines = [
    '## identity',
    '',
    `${new Date().toISOString().slice(0, 10)}; ${cpu}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; load average ${load.toFixed(1)} when the run started (the machine is shared). Command: \`${command}\``,
    '',
    `History: ${n(h.messages.length)} events over ${n(o.people)} people (seed ${o.seed}) on ${n(s.devices)} devices, each device with its own cookie and device id; ${n(s.loggedInPeople)} people log in (${n(s.identify)} identify calls with userId and email, ${n(s.withPhone)} of the people with a phone too), after which their events carry the userId; ${n(s.anonymous)} events are anonymous. Events are in time order, people interleaved, stored through the Store port (${n(r.storeSeconds, 1)} s).`,
    '',
    '### Resolution',
    '',
    `Tandem: the real \`ResolveStage\` drains the stored events over the SQLite identity store (reading stored events, extracting and normalising identifiers, limits, merges, timelines, trait sightings, one transaction per batch with its position). Floor: union-find in SQLite over the same identifier keys, prepared statements, one transaction per ${n(ACCEPT_BATCH)} events, nothing else (no parsing, normalising, limits, merge records, timelines or traits). Both run in the benchmark's process, one after the other, in the same run.`,
    '',
    '| | events/s | seconds | profiles | ratio to floor |',
    '|---|---:|---:|---:|---:|',
    `| floor (bare union-find) | ${n(r.floorEventsPerSecond)} | ${n(r.floorSeconds, 1)} | ${n(r.floorProfiles)} | 100% |`,
    `| Tandem resolve stage | ${n(r.eventsPerSecond)} | ${n(r.seconds, 1)} | ${n(r.profiles)} | ${n((r.eventsPerSecond / r.floorEventsPerSecond) * 100, 1)}% |`,
    '',
    `Where the stage's time goes: commit (one transaction per batch) ${n(r.split.commit * 100)}%, loading the graph from the store (once, at the first batch) ${n(r.split.slice * 100)}%, reading stored events (query and JSON parse) ${n(r.split.read * 100)}%, the rest (identifier extraction, resolution in memory, trait sightings) ${n((1 - r.split.commit - r.split.slice - r.split.read) * 100)}%.`,
    '',
    `Profiles: ${n(r.profiles)} surviving, ${n(r.merged)} merged into another, ${n(r.conflicts)} conflicts. Memory per profile: the stage keeps the identifier-to-profile graph in memory between batches (${n(r.resident.profiles)} profiles, ${n(r.resident.identifiers)} identifiers at the end); the heap the process retains after a full collection, with the stage still alive, grew by ${n(mb(r.heapDeltaBytes))} MiB while it ran: ${n(r.heapDeltaBytes / r.profiles)} bytes per surviving profile (${n(r.heapDeltaBytes / Math.max(1, r.resident.identifiers))} per identifier). Its RSS changed by ${n(mb(r.rssDeltaBytes))} MiB (SQLite's page cache is at most 64 MiB). On disk: ${n(r.diskBytes / r.profiles)} bytes of identity tables and indexes per profile in store.db (${n(mb(r.diskBytes))} MiB).`,
    '',
  ];
  if (l) {
    const row = (name: string, p: Paced) => `| ${name} | ${n(p.achievedRate)} | ${n(p.p50, 2)} | ${n(p.p90, 2)} | ${n(p.p99, 2)} | ${n(p.max, 2)} | ${p.notFound + p.non2xx + p.errors} |`;
    lines.push(
      `### Profile lookup, \`GET /api/v1/profiles/lookup?type=email&value=...\` at ${n(o.rate)} requests/s offered (open loop), ${o.seconds} s after ${o.warmup} s warm-up`,
      '',
      `Tandem: \`tandem start\` on the resolved data directory, in its own process, measured once it had settled (${n(l.settleSeconds)} s, while the warehouse copied the history); emails drawn at random from ${n(h.emails.length)} logged-in people, some written in upper case at login. Ceiling: a bare \`node:http\` server answering a fixed profile-sized JSON. The client is its own process.`,
      '',
      '| target | achieved req/s | p50 ms | p90 ms | p99 ms | max ms | not 200 |',
      '|---|---:|---:|---:|---:|---:|---:|',
      row('ceiling', l.baseline),
      row('Tandem', l.tandem),
      '',
      `Tandem's RSS after the lookups: ${n(mb(l.rssBytes))} MiB for ${n(r.profiles)} profiles.`,
      '',
    );
  }
  lines.push('Targets: at least 50,000 events/s resolved; lookup p99 under 5 ms at 1,000 requests/s.', '');
  return lines.join('\n');
}


export async function run(args: string[]): Promise<void> {
  const o = parseArgs(args);
  const command = `npm run bench -- identity${args.length ? ` ${args.join(' ')}` : ''}`;
  const startLoad = loadavg()[0];
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-identity-'));
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  try {
    const t0 = performance.now();
    const h = generate(o);
    console.error(`generated ${h.messages.length} events in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const r = await resolvePhase(dataDir, h);
    console.error(`resolve: ${n(r.eventsPerSecond)} events/s (floor ${n(r.floorEventsPerSecond)}), ${n(r.profiles)} profiles; store.db ${n(mb(statSync(join(dataDir, 'store.db')).size))} MiB`);
    let l: LookupResult | undefined;
    if (o.lookup) {
      l = await lookupPhase(dir, dataDir, h, o);
      console.error(`lookup: tandem p99 ${n(l.tandem.p99, 2)} ms at ${n(l.tandem.achievedRate)} req/s; ceiling p99 ${n(l.baseline.p99, 2)} ms`);
    }
    const section = report(o, h, r, l, command, startLoad);
    process.stdout.write(`\n${section}\n`);
    if (o.write) writeSection(join(ROOT, 'docs', 'benchmarks.md'), 'identity', section);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
