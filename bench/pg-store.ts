// `npm run bench -- pg-store [--events 30000] [--batch 100] [--writers 4] [--page 1000] [--no-write]`
//
// The Store port's event path on PostgreSQL against the embedded SQLite store, in the same run on the same
// messages: accept throughput (log records of `--batch` events, one record per accept and eight, as the events
// stage reads them), PostgreSQL with `--writers` writers at once (each its own pool, as separate processes would
// be), and after() reads of the whole history a page at a time. Each measurement starts from an empty store.
// PostgreSQL: 127.0.0.1:5432 database `test` (or TANDEM_TEST_POSTGRES_URL), in a schema of its own, dropped after.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSection } from './_process.js';
import type { LogEntry, Message } from '../src/collect/message.js';
import { systemClock } from '../src/core/clock.js';
import type { AcceptBatch, Store } from '../src/core/ports/store.js';
import { openPostgresStore } from '../src/storage/postgres/store.js';
import { createTestSchema, postgresReachable, type TestSchema } from '../src/storage/postgres/test-schema.js';
import { openSqlite } from '../src/storage/sqlite/database.js';
import { openSqliteStore } from '../src/storage/sqlite/store.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WORKSPACE = 'default';
const DAY = 86_400_000;

interface Options { events: number; batch: number; writers: number; page: number; write: boolean }

function parseArgs(args: string[]): Options {
  const o: Options = { events: 30_000, batch: 100, writers: 4, page: 1000, write: true };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const v = () => Number(args[++i]);
    if (a === '--events') o.events = v();
    else if (a === '--batch') o.batch = v();
    else if (a === '--writers') o.writers = v();
    else if (a === '--page') o.page = v();
    else if (a === '--no-write') o.write = false;
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

/** Messages shaped like the collect benchmark's: a track call with properties and a full context, about 600 bytes. */
function messages(n: number): Message[] {
  const at = Date.UTC(2026, 0, 1);
  return Array.from({ length: n }, (_, i) => ({
    type: 'track',
    messageId: `bench-${i}-${(i * 2654435761) % 1_000_000}`,
    userId: `user-${i % 5000}`,
    anonymousId: `anon-${i % 9000}`,
    event: ['Product Viewed', 'Product Added', 'Order Completed'][i % 3],
    properties: { product_id: `p-${i % 700}`, price: (i % 1000) / 10, currency: 'EUR', category: 'shoes', position: i % 20 },
    context: {
      library: { name: 'analytics.js', version: '5.2.0' },
      page: { path: '/products/shoes', url: 'https://shop.example.com/products/shoes', referrer: 'https://www.example.org/' },
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
      ip: '203.0.113.7',
      locale: 'fr-FR',
    },
    integrations: {},
    timestamp: new Date(at + i * 1000).toISOString(),
    receivedAt: new Date(at + i * 1000).toISOString(),
  }));
}

/** The history cut into log records of `batch` events for one partition, offsets 1, 2, ... */
function records(all: Message[], batch: number, partition = 0): AcceptBatch[] {
  const out: AcceptBatch[] = [];
  for (let i = 0; i < all.length; i += batch) {
    const entries: LogEntry[] = all.slice(i, i + batch).map((message) => ({ kind: 'event', message, violations: [] }));
    out.push({ consumer: 'events', partition, offset: out.length + 1, workspaceId: WORKSPACE, sourceId: 'bench', receivedAt: systemClock.now(), entries, dedupWindowMs: DAY });
  }
  return out;
}

interface Opened { store: Store; another(): Promise<Store>; close(): Promise<void> }

async function openSqliteBench(): Promise<Opened> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-pg-store-bench-'));
  // 'normal' sync, as `tandem start` opens store.db.
  const store = openSqliteStore(openSqlite(join(dir, 'store.db'), 'normal'), systemClock);
  await store.workspaces.ensure(WORKSPACE, 'Bench');
  return {
    store,
    another: () => Promise.reject(new Error('one SQLite writer per data directory')),
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function openPostgresBench(): Promise<Opened> {
  const schema: TestSchema = await createTestSchema({ max: 2 });
  const store = await openPostgresStore(schema.pool, systemClock);
  await store.workspaces.ensure(WORKSPACE, 'Bench');
  const others: Store[] = [];
  return {
    store,
    async another() {
      const s = await openPostgresStore(schema.another(2), systemClock);
      others.push(s);
      return s;
    },
    async close() {
      for (const s of others) await s.close();
      await store.close();
      await schema.drop();
    },
  };
}

interface Measure { seconds: number; events: number; accepts: number; msPerCall?: number }

/** Accepts the records in order, `perAccept` records per call, one writer. */
async function acceptAll(store: Store, recs: AcceptBatch[], perAccept: number): Promise<Measure> {
  const started = performance.now();
  let events = 0;
  let accepts = 0;
  for (let i = 0; i < recs.length; i += perAccept) {
    const r = await store.events.accept(recs.slice(i, i + perAccept));
    events += r.stored.length;
    accepts++;
  }
  return { seconds: (performance.now() - started) / 1000, events, accepts };
}

async function readAll(store: Store, page: number): Promise<Measure> {
  const started = performance.now();
  let events = 0;
  let accepts = 0;
  for (let cursor = 0; ;) {
    const got = await store.events.after(cursor, page);
    if (got.length === 0) break;
    events += got.length;
    accepts++;
    cursor = got[got.length - 1].id;
  }
  return { seconds: (performance.now() - started) / 1000, events, accepts };
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const rate = (m: Measure) => m.events / m.seconds;

export async function run(args: string[]): Promise<void> {
  const o = parseArgs(args);
  if (!(await postgresReachable())) throw new Error('PostgreSQL is not reachable at 127.0.0.1:5432 (database test); set TANDEM_TEST_POSTGRES_URL');
  const loadBefore = loadavg().map((x) => x.toFixed(2)).join(' ');
  const all = messages(o.events);
  const recs = records(all, o.batch);
  const rows: { what: string; sqlite?: Measure; postgres?: Measure; unit: string }[] = [];

  // Alternating SQLite and PostgreSQL, each from an empty store, so that a change in the machine's load hits both.
  for (const perAccept of [1, 8]) {
    const row: (typeof rows)[number] = { what: `accept: ${perAccept} record${perAccept > 1 ? 's' : ''} of ${o.batch} events per call, one writer`, unit: 'events/s' };
    for (const [name, open] of [['sqlite', openSqliteBench], ['postgres', openPostgresBench]] as const) {
      const s = await open();
      try {
        row[name] = await acceptAll(s.store, recs, perAccept);
        if (row[name]!.events !== o.events) throw new Error(`${name} stored ${row[name]!.events} of ${o.events}`);
        if (perAccept === 1) {
          const read = await readAll(s.store, o.page);
          if (read.events !== o.events) throw new Error(`${name} read ${read.events} of ${o.events}`);
          const readRow = rows.find((r) => r.what.startsWith('after()')) ?? { what: `after(): the whole history, ${o.page} events a page`, unit: 'events/s' };
          readRow[name] = read;
          if (!rows.includes(readRow)) rows.push(readRow);
        }
      } finally {
        await s.close();
      }
    }
    rows.push(row);
  }

  // Several writers at once on PostgreSQL (the scale-out shape): each its own partition and pool.
  const concurrent: (typeof rows)[number] = { what: `accept: ${o.writers} writers at once (own pools and partitions), 1 record of ${o.batch} per call`, unit: 'events/s' };
  {
    const s = await openPostgresBench();
    try {
      const stores = [s.store, ...(await Promise.all(Array.from({ length: o.writers - 1 }, () => s.another())))];
      const share = Math.ceil(all.length / o.writers);
      const started = performance.now();
      const results = await Promise.all(stores.map((store, w) => acceptAll(store, records(all.slice(w * share, (w + 1) * share), o.batch, w), 1)));
      const events = results.reduce((n, r) => n + r.events, 0);
      if (events !== o.events) throw new Error(`concurrent writers stored ${events} of ${o.events}`);
      // Wall time for the rate; each writer's own time per call for the latency.
      concurrent.postgres = { seconds: (performance.now() - started) / 1000, events, accepts: results.reduce((n, r) => n + r.accepts, 0), msPerCall: results.reduce((n, r) => n + (r.seconds * 1000) / r.accepts, 0) / results.length };
    } finally {
      await s.close();
    }
  }
  rows.push(concurrent);
  const loadAfter = loadavg().map((x) => x.toFixed(2)).join(' ');

  const cell = (m: Measure | undefined) => (m ? `${fmt(rate(m))} (${fmt(m.seconds, 2)} s, ${fmt(m.msPerCall ?? (m.seconds * 1000) / m.accepts, 2)} ms a call)` : '—');
  const table = [
    '| measure | SQLite store | PostgreSQL store | PostgreSQL / SQLite |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.what} (${r.unit}) | ${cell(r.sqlite)} | ${cell(r.postgres)} | ${r.sqlite && r.postgres ? `${(rate(r.postgres) / rate(r.sqlite)).toFixed(2)}×` : '—'} |`),
  ].join('\n');
  const section = `## pg-store

Generated by \`npm run bench -- pg-store${args.length ? ` ${args.filter((a) => a !== '--no-write').join(' ')}` : ''}\` on ${new Date().toISOString().slice(0, 10)}; load average before ${loadBefore}, after ${loadAfter} (${cpus().length} shared cores).
PostgreSQL ${await serverVersion()} on the same machine (127.0.0.1, fsync and synchronous_commit on); SQLite store.db in WAL mode with synchronous=NORMAL, as \`tandem start\` opens it.
${fmt(o.events)} track events of about 600 bytes, stored through the Store port (\`events.accept\`: dedup lookup, insert, dedup entries, offset, one transaction a call); every measurement starts from an empty store.

${table}

PostgreSQL's accept holds one advisory lock from its first statement to its commit, so that event ids become visible in id order (docs/scale-out.md): writers at once share the commit rate rather than add to it.
`;
  console.log(section);
  if (o.write) writeSection(join(ROOT, 'docs', 'benchmarks.md'), 'pg-store', section);
}

async function serverVersion(): Promise<string> {
  const schema = await createTestSchema({ max: 1 });
  try {
    return (await schema.pool.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0].v.split(' ')[0];
  } finally {
    await schema.drop();
  }
}
