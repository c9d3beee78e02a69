// `npm run bench -- transforms [--events N] [--function-events N] [--function-only]`: the same enrichment function and
// SQL model DAG on the live stream and on a backfill. Function: the sandbox (a V8 isolate, isolated-vm, in a sandbox
// process) against the same enrichment as plain JS in this process, in the chunks the events stage uses, as events/s
// per core (CPU time of this process, every thread, plus that of the sandbox processes), which holds on a shared
// machine better than wall time. Models: N historical events (default 10,000,000) generated
// straight into the DuckDB warehouse (events, m_events and the mapped watermark; not through collection), a full
// build of the DAG, then a live increment of 1% new events run incrementally.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { systemClock } from '../src/core/clock.js';
import { DuckDbWarehouse } from '../src/storage/duckdb/warehouse.js';
import { compileFunction } from '../src/transforms/compile.js';
import { FunctionSandbox, DEFAULT_LIMITS } from '../src/transforms/sandbox.js';
import { SandboxPool } from '../src/transforms/sandbox-pool.js';
import { SqlModels } from '../src/transforms/sql-models.js';
import type { SqlModelDefinition } from '../src/transforms/sql-model-definition.js';

const arg = (args: string[], name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const rss = () => Math.round(process.memoryUsage().rss / 1048576);

const SKUS = 500;
const category = (i: number) => ['shoes', 'hats', 'bags', 'coats', 'socks'][i % 5];
const catalogRow = (i: number) => ({ sku: `S${i}`, category: category(Math.floor(i / 10)) });
const ENRICH = `export default (event, ctx) => {
  const product = ctx.catalog('products', event.properties.sku);
  event.properties.category = product ? product.category : 'unknown';
  return event;
};`;
const baseline = (event: { properties: Record<string, unknown> }, rows: Map<string, { category: string }>) => {
  const product = rows.get(event.properties.sku as string);
  event.properties.category = product ? product.category : 'unknown';
  return event;
};
const eventOf = (i: number) => ({
  type: 'track', messageId: `m${i}`, userId: `u${i % 100_000}`, event: 'Order Completed', timestamp: '2024-03-01T10:00:00.000Z', receivedAt: '2024-03-01T10:00:01.000Z',
  context: { library: { name: 'analytics.js', version: '2.0' }, ip: '10.0.0.1' }, integrations: {}, properties: { sku: `S${i % SKUS}`, total: (i % 97) + 1, currency: 'EUR' },
});

/** CPU time of this process (every thread) and of the sandbox processes, where the function runs, in seconds. */
const cpuSeconds = async () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6 + (await SandboxPool.shared().cpuSeconds());
};

async function functionThroughput(count: number): Promise<void> {
  const rows = new Map(Array.from({ length: SKUS }, (_, i) => [`S${i}`, catalogRow(i)]));
  const sandbox = await FunctionSandbox.create(await compileFunction(ENRICH, 'javascript'), DEFAULT_LIMITS, { catalog: (_c, k) => rows.get(k) });
  // The chunks the events stage hands over: a log read of 8 records of up to 256 events each.
  const CHUNK = 256;
  const chunks: ReturnType<typeof eventOf>[][] = [];
  for (let i = 0; i < count; i += CHUNK) chunks.push(Array.from({ length: Math.min(CHUNK, count - i) }, (_, j) => eventOf(i + j)));
  const measure = async (label: string, run: (chunk: ReturnType<typeof eventOf>[]) => Promise<unknown> | unknown) => {
    for (const chunk of chunks.slice(0, 20)) await run(structuredClone(chunk)); // warm: the VM loaded, rows cached, JIT
    const copies = chunks.map((c) => structuredClone(c));
    const cpu = await cpuSeconds();
    const wall = performance.now();
    for (const chunk of copies) await run(chunk);
    const wallS = (performance.now() - wall) / 1000;
    const cpuS = (await cpuSeconds()) - cpu;
    return { label, perCore: count / cpuS, wall: count / wallS, cpuS, wallS };
  };
  const box = await measure('sandbox', async (chunk) => {
    const out = await sandbox.run(chunk, { source: 'bench' });
    const failed = out.find((o) => !o.ok);
    if (failed) throw new Error(`the function failed: ${JSON.stringify(failed)}`);
  });
  // The baseline: the same enrichment as plain JavaScript in this thread, copying each event as the sandbox boundary
  // does (JSON both ways).
  const base = await measure('plain JS', (chunk) => JSON.parse(JSON.stringify(chunk.map((e) => baseline(JSON.parse(JSON.stringify(e)), rows)))));
  sandbox.dispose();
  const fmt = (n: number) => Math.round(n).toLocaleString('en');
  for (const r of [box, base]) {
    console.log(`function  ${r.label.padEnd(8)} ${count.toLocaleString('en')} events: ${fmt(r.perCore)} events/s per core (CPU ${r.cpuS.toFixed(2)} s, this process and the sandbox processes), ${fmt(r.wall)} events/s wall`);
  }
  console.log(`function  sandbox / plain JS per core: ${(box.perCore / base.perCore).toFixed(3)}; load average now ${readFileSync('/proc/loadavg', 'utf8').trim()}; rss ${rss()} MB`);
}

async function modelBackfill(count: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-transforms-'));
  try {
    const storeFile = join(dir, 'store.db');
    const store = new Database(storeFile);
    store.exec('CREATE TABLE catalog_rows (workspace_id TEXT, catalog TEXT, key TEXT, row TEXT, updated_at INTEGER)');
    const insert = store.prepare("INSERT INTO catalog_rows VALUES ('default', 'products', ?, ?, 0)");
    for (let i = 0; i < SKUS; i++) insert.run(`S${i}`, JSON.stringify(catalogRow(i)));
    store.close();
    const warehouse = await DuckDbWarehouse.open(join(dir, 'warehouse.duckdb'), storeFile);
    const generate = async (from: number, to: number) => {
      await warehouse.query(`INSERT INTO events SELECT i, 'default', 'src', 'm' || i, 'track', CASE WHEN i % 10 = 0 THEN 'Order Completed' ELSE 'Page Viewed' END, 'u' || (i % 100000), NULL,
        1700000000000 + i * 1000, 1700000000000 + i * 1000, json_object('properties', json_object('sku', 'S' || (i % ${SKUS}), 'total', (i % 97) + 1)) FROM range(${from}, ${to} + 1) t(i)`);
      await warehouse.query(`INSERT INTO m_events SELECT i, 'default', 'p' || (i % 100000), 'track', CASE WHEN i % 10 = 0 THEN 'Order Completed' ELSE 'Page Viewed' END, 1700000000000 + i * 1000 FROM range(${from}, ${to} + 1) t(i)`);
      await warehouse.setMeta('mapped', to);
    };
    let t = performance.now();
    await generate(1, count);
    console.log(`generated ${count.toLocaleString('en')} events into the warehouse in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const defs: SqlModelDefinition[] = [
      {
        key: 'orders', materialized: 'incremental', uniqueKey: ['event_id'], timeout: '30m',
        sql: `SELECT e.event_id, e.profile_id, e.ts, e.properties->>'sku' AS sku, CAST(e.properties->>'total' AS DOUBLE) AS total, c."row"->>'category' AS category
FROM events e LEFT JOIN catalogs c ON c.catalog = 'products' AND c.key = (e.properties->>'sku') WHERE e.event = 'Order Completed'`,
      },
      { key: 'first_purchase_category', sql: 'SELECT profile_id, arg_min(category, ts) AS value FROM orders GROUP BY profile_id', timeout: '30m' },
      { key: 'order_value_percentiles', sql: 'SELECT category, quantile_cont(total, 0.5) AS p50, quantile_cont(total, 0.9) AS p90, count(*) AS orders FROM orders GROUP BY category', timeout: '30m' },
    ];
    const definitions = { list: async () => defs.map((body) => ({ key: body.key, version: 1, body })) } as never;
    const unused = async () => {
      throw new Error('no outputs in this benchmark');
    };
    const models = new SqlModels({ store: { definitions }, warehouse, sync: async () => undefined, apply: { setComputed: unused }, catalogs: { upsert: unused, page: unused, remove: unused }, clock: systemClock });
    t = performance.now();
    const full = await models.run('default', undefined);
    const fullS = (performance.now() - t) / 1000;
    console.log(`backfill  full DAG over ${count.toLocaleString('en')} events: ${fullS.toFixed(1)} s, ${Math.round(count / fullS).toLocaleString('en')} events/s; ${full.map((r) => `${r.key} ${r.rows} rows ${r.ms} ms`).join(', ')}; rss ${rss()} MB (this process; DuckDB runs in its worker thread)`);
    const live = Math.max(1, Math.round(count / 100));
    await generate(count + 1, count + live);
    t = performance.now();
    const inc = await models.run('default', undefined);
    const incS = (performance.now() - t) / 1000;
    console.log(`live      ${live.toLocaleString('en')} new events, incremental DAG: ${incS.toFixed(2)} s; ${inc.map((r) => `${r.key} ${r.mode} +${r.added}`).join(', ')}`);
    await warehouse.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(args: string[]): Promise<void> {
  console.log(`load average before: ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
  await functionThroughput(arg(args, '--function-events', 200_000));
  if (!args.includes('--function-only')) await modelBackfill(arg(args, '--events', 10_000_000));
}
