// `npm run bench -- analytics [--events 10000000] [--profiles 1000000] [--runs 2] [--trials 10] [--no-fresh] [--no-write] [--warehouse FILE] [--no-old] [--append N]`
//
// --warehouse FILE: keep the generated warehouse in FILE, or reuse FILE if it exists (generating 10,000,000 events
// takes about 95 s; the file must have been generated with the same --events and --profiles).
// --no-old: leave out the same reports by the SQL over m_events and the raw messages (the SQL before the compact
// event sequence, src/analytics/sequence.ts), otherwise run beside each report as its baseline.
// --append N: at the end, N new events (new ids, existing profiles, times inside the history) are added and a funnel
// is timed: the incremental upkeep of the extracted fields and the sequence, plus the report. The warehouse keeps them.
//
// (a) Each report type over a synthetic history of N events, generated straight into a DuckDB warehouse (the real
// warehouse thread, src/storage/duckdb/warehouse-worker.mjs, with its real tables; the rows are made by SQL inside
// DuckDB, NOT sent through HTTP, which would take hours at this size), run through the same Analytics class the
// routes call, side by side in the same run with two baselines over the same table: a plain COUNT(*) GROUP BY event,
// and a COUNT(*) GROUP BY profile (one pass that touches every profile, as every report must).
// (b) Freshness: a running Tandem (test/harness.ts) receives one track event through POST /v1/track, and the
// funnel endpoint is polled until the event is counted; the time from sending to the first answer that counts it.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Analytics } from '../src/analytics/analytics.js';
import type { AttributionAnswer } from '../src/analytics/attribution/report.js';
import { systemClock } from '../src/core/clock.js';
import { DuckDbWarehouse } from '../src/storage/duckdb/warehouse.js';
import { openSqlite } from '../src/storage/sqlite/database.js';
import { openSqliteSpendStore } from '../src/storage/sqlite/spend-store.js';
import { writeSection } from './_process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DAY = 86_400_000;
const WS = 'default';

interface Options { events: number; profiles: number; runs: number; trials: number; fresh: boolean; write: boolean; warehouse?: string; old: boolean; append: number }

function parseArgs(args: string[]): Options {
  const o: Options = { events: 10_000_000, profiles: 1_000_000, runs: 2, trials: 10, fresh: true, write: true, old: true, append: 0 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const v = () => Number(args[++i]);
    if (a === '--events') o.events = v();
    else if (a === '--profiles') o.profiles = v();
    else if (a === '--runs') o.runs = v();
    else if (a === '--trials') o.trials = v();
    else if (a === '--no-fresh') o.fresh = false;
    else if (a === '--no-write') o.write = false;
    else if (a === '--warehouse') o.warehouse = args[++i];
    else if (a === '--no-old') o.old = false;
    else if (a === '--append') o.append = v();
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

const NAMES = ['Page Viewed', 'Page Viewed', 'Page Viewed', 'Product Viewed', 'Product Viewed', 'Product Added', 'Checkout Started', 'Order Completed', 'Ad Clicked', 'Message Sent', 'Session Started', 'Session Started'];

/**
 * The history, from seeded hashes so every run sees the same data: events of 12 kinds over 90 days spread over
 * the profiles. Each draw hashes its own integer (row * 16 + draw number): DuckDB's hash(row, k) combines the two
 * hashes so that draws of one row are correlated (with it, a profile had at most 3 kinds of events and no profile
 * both clicked an ad and ordered, so attribution credited nothing). A fifth of page views carry UTM parameters (3 sources, 20 campaigns), ad clicks a channel and a
 * campaign, messages a channel and a journey, orders a revenue. m_events maps each event to its profile, as the
 * mirror does; m_profiles holds a plan trait.
 */
async function generate(w: DuckDbWarehouse, o: Options, start: number): Promise<void> {
  const N = o.events;
  const P = o.profiles;
  const names = `[${NAMES.map((n) => `'${n}'`).join(', ')}]`;
  await w.query(`
    CREATE TEMP TABLE g AS
    SELECT i AS id, 'p' || CAST((hash(i * 16 + 1) >> 32) % ${P} AS VARCHAR) AS pid,
           ${names}[1 + CAST((hash(i * 16 + 2) >> 32) % ${NAMES.length} AS INTEGER)] AS ev,
           ${start} + CAST(hash(i * 16 + 3) % ${90 * DAY} AS BIGINT) AS ts
    FROM range(1, ${N} + 1) t(i)`);
  await w.query(`
    INSERT INTO events
    SELECT id, '${WS}', 'bench', 'm' || id, 'track', ev, pid, NULL, ts, ts,
      CAST(json_object('type', 'track', 'event', ev, 'userId', pid, 'messageId', 'm' || id,
        'properties', CASE
          WHEN ev = 'Order Completed' THEN json_object('revenue', 5 + (hash(id * 16 + 4) >> 32) % 200)
          WHEN ev = 'Ad Clicked' THEN json_object('channel', ['facebook', 'google'][1 + CAST((hash(id * 16 + 5) >> 32) % 2 AS INTEGER)], 'campaign', 'c' || ((hash(id * 16 + 6) >> 32) % 20))
          WHEN ev = 'Message Sent' THEN json_object('channel', ['mail', 'sms'][1 + CAST((hash(id * 16 + 5) >> 32) % 2 AS INTEGER)], 'journey', 'j' || ((hash(id * 16 + 6) >> 32) % 5))
          ELSE json_object('path', '/p/' || ((hash(id * 16 + 7) >> 32) % 1000)) END,
        'context', CASE WHEN ev = 'Page Viewed' AND (hash(id * 16 + 8) >> 32) % 5 = 0
          THEN json_object('campaign', json_object('source', ['google', 'newsletter', 'facebook'][1 + CAST((hash(id * 16 + 9) >> 32) % 3 AS INTEGER)], 'medium', 'cpc', 'name', 'c' || ((hash(id * 16 + 10) >> 32) % 20)))
          ELSE json_object('ip', '10.0.0.1') END) AS JSON)
    FROM g`);
  await w.query(`INSERT INTO m_events SELECT id, '${WS}', pid, 'track', ev, ts FROM g`);
  await w.query(`INSERT INTO m_profiles SELECT '${WS}', 'p' || i, CAST(json_object('plan', ['free', 'pro', 'team'][1 + CAST((hash(i * 16 + 11) >> 32) % 3 AS INTEGER)]) AS JSON), '{}' FROM range(${P}) t(i)`);
  await w.query('DROP TABLE g; CHECKPOINT');
}

/** For profiling scripts: the same history into an open warehouse. */
export const generateForProfiling = (w: DuckDbWarehouse, events: number, profiles: number, start: number) =>
  generate(w, { events, profiles, runs: 1, trials: 0, fresh: false, write: false, old: false, append: 0 }, start);

/** Where two answers differ (numbers to 1e-9 relative), or undefined when they are equal. */
function difference(a: unknown, b: unknown, path = '$'): string | undefined {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b)) ? undefined : `${path}: ${a} != ${b}`;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${path}: length ${a.length} != ${b.length}`;
    for (let i = 0; i < a.length; i++) {
      const d = difference(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const k of keys) {
      const d = difference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
      if (d) return d;
    }
    return undefined;
  }
  return a === b ? undefined : `${path}: ${JSON.stringify(a)} != ${JSON.stringify(b)}`;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const s = performance.now();
  const result = await fn();
  return { ms: performance.now() - s, result };
}

interface Line { name: string; runs: number[]; note: string }

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function freshness(trials: number): Promise<number[]> {
  // Loaded here: the whole server is needed only for this part (--no-fresh runs the reports alone).
  const { startTandem } = await import('../test/harness.js');
  const t = await startTandem();
  try {
    const times: number[] = [];
    for (let i = 0; i < trials; i++) {
      const body = { steps: [{ event: 'Fresh Entry' }, { event: 'Fresh Next' }], from: new Date(Date.now() - DAY).toISOString(), to: new Date(Date.now() + DAY).toISOString() };
      const sent = performance.now();
      const res = await t.collect('/v1/track', { userId: `fresh-${i}`, event: 'Fresh Entry', properties: {} });
      if (res.status !== 200) throw new Error(`track answered ${res.status}`);
      for (;;) {
        const answer = (await (await t.admin('/analytics/funnel', { method: 'POST', json: body })).json()) as { steps: { count: number }[] };
        if (answer.steps[0].count === i + 1) break;
        if (performance.now() - sent > 30_000) throw new Error('event not counted within 30 s');
      }
      times.push(performance.now() - sent);
    }
    return times;
  } finally {
    await t.stop();
  }
}

export async function run(args: string[]): Promise<void> {
  const o = parseArgs(args);
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-analytics-'));
  const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
  const loadBefore = load();
  const reused = o.warehouse !== undefined && existsSync(o.warehouse);
  const warehouse = await DuckDbWarehouse.open(o.warehouse ?? join(dir, 'warehouse.duckdb'), join(dir, 'no-store.db'));
  const db = openSqlite(join(dir, 'store.db'), 'normal');
  const lines: Line[] = [];
  let generationMs = 0;
  let fieldsMs = 0;
  let sequenceMs = 0;
  let appended: { events: number; ms: number } | undefined;
  let fresh: number[] = [];
  let attributed: AttributionAnswer['totals'] | undefined;
  const differences: string[] = [];
  let compared = 0;
  try {
    const start = Date.UTC(2026, 0, 1);
    const from = new Date(start).toISOString();
    const to = new Date(start + 90 * DAY).toISOString();
    if (reused) console.log(`reusing the history in ${o.warehouse}`);
    else {
      console.log(`generating ${o.events.toLocaleString('en')} events over ${o.profiles.toLocaleString('en')} profiles in DuckDB ...`);
      generationMs = (await timed(() => generate(warehouse, o, start))).ms;
      console.log(`generated in ${(generationMs / 1000).toFixed(1)} s`);
    }
    const spend = openSqliteSpendStore(db);
    spend.upsert(WS, Array.from({ length: 20 * 90 }, (_, i) => ({ date: new Date(start + (i % 90) * DAY).toISOString().slice(0, 10), campaign: `c${Math.floor(i / 90)}`, channel: '', spend: 10 + (i % 7) })), Date.now());
    const analytics = new Analytics({ warehouse, sync: async () => undefined, spend, clock: systemClock });
    // The one-off extraction of the fields attribution reads (later reports parse only new events).
    fieldsMs = (await timed(() => analytics.refreshFields())).ms;
    console.log(`event fields extracted in ${(fieldsMs / 1000).toFixed(1)} s`);
    // The one-off build of the compact event sequence (a no-op when a reused warehouse holds it already).
    sequenceMs = (await timed(() => analytics.refreshSequence())).ms;
    console.log(`event sequence built in ${(sequenceMs / 1000).toFixed(1)} s`);
    const before = new Analytics({ warehouse, sync: async () => undefined, spend, clock: systemClock, compact: false });

    const range = { from, to };
    const conversion = { event: 'Order Completed' };
    const reports: [string, string, (a: Analytics) => Promise<unknown>][] = [
      ['funnel, 3 steps', 'Product Viewed > Product Added > Order Completed, 7d window', (a) => a.funnel(WS, { steps: [{ event: 'Product Viewed' }, { event: 'Product Added' }, conversion], window: '7d', ...range })],
      ['funnel, 3 steps, breakdown by trait', 'plan', (a) => a.funnel(WS, { steps: [{ event: 'Product Viewed' }, { event: 'Product Added' }, conversion], window: '7d', breakdown: { trait: 'plan' }, ...range })],
      ['funnel, property filter', 'Order Completed where revenue >= 100', (a) => a.funnel(WS, { steps: [{ event: 'Product Viewed' }, { event: 'Order Completed', where: [{ property: 'revenue', gte: 100 }] }], ...range })],
      ['retention', 'weekly cohorts on first event, return on Session Started, 8 weeks', (a) => a.retention(WS, { return: { event: 'Session Started' }, period: 'week', periods: 8, ...range })],
      ['paths', 'top 10 paths of 3 events after Product Added, within 1d', (a) => a.paths(WS, { anchor: { event: 'Product Added' }, steps: 3, top: 10, within: '1d', ...range })],
      ['attribution, 6 models', 'UTM + ad clicks + messages, 30d lookback, by campaign', (a) => a.attribution(WS, { conversion, lookback: '30d', ...range })],
      ['campaigns', 'attribution by campaign + spend, CPA and ROAS', (a) => a.campaigns(WS, { conversion, lookback: '30d', ...range })],
    ];
    const cases: [string, string, () => Promise<unknown>][] = [
      ['baseline: COUNT(*) GROUP BY event', 'm_events, one workspace', () => warehouse.query('SELECT event, count(*) FROM m_events WHERE workspace_id = $1 GROUP BY event', [WS])],
      ['baseline: COUNT(*) GROUP BY profile', 'm_events, one workspace', () => warehouse.query('SELECT count(*) FROM (SELECT profile_id, count(*) FROM m_events WHERE workspace_id = $1 GROUP BY profile_id)', [WS])],
      ...reports.flatMap(([name, note, fn]): [string, string, () => Promise<unknown>][] => [
        [name, note, () => fn(analytics)],
        ...(o.old ? [[`${name} (before: SQL over m_events)`, 'same request, compact: false', () => fn(before)] as [string, string, () => Promise<unknown>]] : []),
      ]),
    ];
    const answers = new Map<string, unknown>();
    for (const [name, note, fn] of cases) {
      const runs: number[] = [];
      for (let r = 0; r < o.runs; r++) {
        const { ms, result } = await timed(fn);
        runs.push(ms);
        answers.set(name, result);
        if (name === 'attribution, 6 models') attributed = (result as AttributionAnswer).totals;
      }
      const beforeName = name.replace(/ \(before: SQL over m_events\)$/, '');
      if (beforeName !== name) {
        const problem = difference(answers.get(name), answers.get(beforeName));
        if (problem) {
          differences.push(`${beforeName}: ${problem}`);
          console.log(`  DIFFERENT ANSWERS: ${problem}`);
        }
        compared++;
      }
      lines.push({ name, runs, note });
      console.log(`${name.padEnd(60)} ${runs.map((ms) => `${Math.round(ms)} ms`).join(', ')}`);
    }
    if (o.append > 0) {
      const last = Number((await warehouse.query('SELECT max(id) AS id FROM events'))[0].id);
      const k = o.append;
      // Existing profiles, times inside the history (so places in their sequences shift), a few kinds.
      await warehouse.query(`
        CREATE TEMP TABLE g2 AS SELECT i AS id, 'p' || CAST((hash(i * 16 + 1) >> 32) % ${o.profiles} AS VARCHAR) AS pid,
          ${`[${NAMES.map((n) => `'${n}'`).join(', ')}]`}[1 + CAST((hash(i * 16 + 2) >> 32) % ${NAMES.length} AS INTEGER)] AS ev,
          ${start} + CAST(hash(i * 16 + 3) % ${90 * DAY} AS BIGINT) AS ts FROM range(${last + 1}, ${last + k + 1}) t(i);
        INSERT INTO events SELECT id, '${WS}', 'bench', 'm' || id, 'track', ev, pid, NULL, ts, ts,
          CAST(json_object('type', 'track', 'event', ev, 'userId', pid, 'properties', json_object('revenue', 10)) AS JSON) FROM g2;
        INSERT INTO m_events SELECT id, '${WS}', pid, 'track', ev, ts FROM g2;
        DROP TABLE g2`);
      const { ms } = await timed(() => analytics.funnel(WS, { steps: [{ event: 'Product Viewed' }, { event: 'Product Added' }, conversion], window: '7d', ...range }));
      appended = { events: k, ms };
      console.log(`after ${k} new events: funnel, 3 steps (fields and sequence kept up to date first) ${Math.round(ms)} ms`);
    }
  } finally {
    await warehouse.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
  if (o.fresh) {
    fresh = await freshness(o.trials);
    console.log(`freshness (send -> counted in a funnel): median ${Math.round(median(fresh))} ms, max ${Math.round(Math.max(...fresh))} ms over ${fresh.length} events`);
  }
  const loadAfter = load();
  const section = [
    '## analytics',
    '',
    '`npm run bench -- analytics` (bench/analytics.ts). Reports over a synthetic history generated **straight into the DuckDB',
    'warehouse** (the real warehouse thread and tables; rows made by SQL inside DuckDB, not sent through HTTP), run',
    'through the same `Analytics` class the routes call, beside two baselines over the same table in the same run.',
    `Each report ran ${o.runs} times in a row; the first run includes DuckDB's cold caches.`,
    '',
    `- Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GB; load average before ${loadBefore}, after ${loadAfter} (shared with other work).`,
    `- History: ${o.events.toLocaleString('en')} events, ${o.profiles.toLocaleString('en')} profiles, 90 days; ${reused ? 'generated by an earlier run (--warehouse), its fields already extracted' : `generated in ${(generationMs / 1000).toFixed(1)} s`}.`,
    ...(reused ? [] : [`- One-off extraction of the attribution fields (a_event_fields) over all ${o.events.toLocaleString('en')} events: ${(fieldsMs / 1000).toFixed(1)} s (afterwards only new events are parsed, at each report).`]),
    `- Compact event sequence (a_event_seq): ${sequenceMs > 1000 ? `built in ${(sequenceMs / 1000).toFixed(1)} s (one-off; afterwards only profiles with changes are recomputed, at each report)` : `already built (${Math.round(sequenceMs)} ms to check)`}.`,
    ...(appended ? [`- After ${appended.events.toLocaleString('en')} new events (existing profiles, times inside the history): the 3-step funnel, fields and sequence brought up to date first, ${Math.round(appended.ms)} ms.`] : []),
    ...(o.old ? [`- "(before: SQL over m_events)": the same request with \`compact: false\`, the SQL the reports ran before the compact sequence (reads m_events, a_event_fields and the raw messages), in the same run. Answers compared: ${compared}, ${differences.length ? `**differing: ${differences.join('; ')}**` : 'all equal (numbers to 1e-9 relative)'}.`] : []),
    ...(attributed
      ? [`- Attribution shares out ${attributed.attributed.toLocaleString('en')} of ${attributed.conversions.toLocaleString('en')} conversions (the others have no touchpoint in their lookback); the Markov chain is fitted on ${attributed.convertingJourneys.toLocaleString('en')} converting and ${attributed.nonConvertingJourneys.toLocaleString('en')} non-converting journeys.`]
      : []),
    '',
    '| report | what | runs (ms) |',
    '|---|---|---|',
    ...lines.map((l) => `| ${l.name} | ${l.note} | ${l.runs.map((ms) => Math.round(ms)).join(', ')} |`),
    '',
    ...(fresh.length
      ? [`Freshness: a running Tandem received one track event through \`POST /v1/track\`; \`POST /api/v1/analytics/funnel\` was polled until it counted it. Over ${fresh.length} events: median ${Math.round(median(fresh))} ms, max ${Math.round(Math.max(...fresh))} ms from sending to the first answer that counted it.`, '']
      : []),
  ].join('\n');
  if (o.write) writeSection(join(ROOT, 'docs', 'benchmarks.md'), 'analytics', section);
  console.log(`\n${section}`);
}
