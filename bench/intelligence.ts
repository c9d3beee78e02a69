// `npm run bench -- intelligence [--profiles 1000000] [--events-per-profile 5] [--write 50000] [--no-write-docs]`
//
// Scoring a propensity model over every profile, against a floor measured in the same run: the feature rows are
// computed by the same SQL the models use (src/models/features.ts) on the embedded DuckDB warehouse, read back,
// and scored by the logistic regression and the boosted trees; the floor is reading the same rows, already
// materialised, through the same path. Then the latency of one `decide`-style scoring call (one profile's
// features in memory -> a probability) and of one profile's feature query, and the apply stage's throughput for
// writing model outputs as computed traits (setComputed) on a smaller count.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { writeSection } from './_process.js';
import { createApp } from '../src/app.js';
import { parseConfig } from '../src/core/config.js';
import { featureNames, featureQuery, featureRows, type FeatureSpec } from '../src/models/features.js';
import { fitBoostedTrees, predictBoostedTrees } from '../src/models/gbt.js';
import { fitLogistic, predictLogistic } from '../src/models/logistic.js';
import { DuckDbWarehouse } from '../src/storage/duckdb/warehouse.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DAY = 86_400_000;
const AS_OF = Date.UTC(2025, 5, 1);

interface Options { profiles: number; eventsPerProfile: number; write: number; docs: boolean }

function parseArgs(args: string[]): Options {
  const o: Options = { profiles: 1_000_000, eventsPerProfile: 5, write: 50_000, docs: true };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--profiles') o.profiles = Number(args[++i]);
    else if (a === '--events-per-profile') o.eventsPerProfile = Number(args[++i]);
    else if (a === '--write') o.write = Number(args[++i]);
    else if (a === '--no-write-docs') o.docs = false;
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

export async function run(args: string[]): Promise<void> {
  const o = parseArgs(args);
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-intelligence-'));
  const startLoad = loadavg()[0];
  const wh = await DuckDbWarehouse.open(join(dir, 'warehouse.duckdb'), join(dir, 'store.db'));
  try {
    const n = o.profiles;
    const events = n * o.eventsPerProfile;
    console.log(`generating ${n.toLocaleString()} profiles and ${events.toLocaleString()} events in the warehouse`);
    let t0 = process.hrtime.bigint();
    // Deterministic synthetic history: event name and time from hashes of the event number.
    await wh.query(`INSERT INTO m_profiles SELECT 'default', 'p' || k, '{}', '{}' FROM range(${n}) t(k)`);
    await wh.query(`INSERT INTO m_events SELECT i, 'default', 'p' || (i % ${n}), 'track',
      ['Page Viewed', 'Product Added', 'Order Completed', 'Message Opened'][CAST(hash(i) % 4 AS BIGINT) + 1], ${AS_OF} - CAST(hash(i * 7 + 1) % ${180 * DAY} AS BIGINT)
      FROM range(${events}) t(i)`);
    await wh.query(`INSERT INTO events SELECT m.event_id, 'default', 'bench', 'm' || m.event_id, 'track', m.event, NULL, NULL, m.ts, m.ts,
      json_object('properties', json_object('revenue', (m.event_id % 97) + 1)) FROM m_events m`);
    const generate = seconds(t0);

    const spec: FeatureSpec = { events: ['Page Viewed', 'Product Added', 'Order Completed', 'Message Opened'], windows: ['7d', '30d', '90d'], target: 'Order Completed', revenueProperty: 'revenue', traits: [] };
    const names = featureNames(spec);
    const q = featureQuery(spec, AS_OF);

    // 1. The models' path: compute the features in SQL, read them back, score.
    t0 = process.hrtime.bigint();
    const raw = await wh.inputsQuery({ workspaceId: 'default', sql: q.sql, params: q.params, readOnly: true });
    const featuresSeconds = seconds(t0);
    const { ids, rows } = featureRows(raw, names.length);
    const convertSeconds = seconds(t0) - featuresSeconds;
    if (ids.length !== n) throw new Error(`expected ${n} feature rows, got ${ids.length}`);

    // A model to score with: fitted on 50,000 rows (labels: bought in the last 30 days, from a feature, plus noise).
    const sample = rows.slice(0, 50_000);
    const label = (r: Float64Array, i: number) => (r[names.indexOf('count(Order Completed, 30d)')] + ((i * 2654435761) % 1000) / 1000 > 1.2 ? 1 : 0);
    const labels = sample.map(label);
    t0 = process.hrtime.bigint();
    const lr = fitLogistic(sample, labels, names);
    const fitLr = seconds(t0);
    t0 = process.hrtime.bigint();
    const trees = fitBoostedTrees(sample, labels, names, { trees: 100 });
    const fitTrees = seconds(t0);

    t0 = process.hrtime.bigint();
    let sink = 0;
    for (const r of rows) sink += predictLogistic(lr, r);
    const predictLr = seconds(t0);
    t0 = process.hrtime.bigint();
    for (const r of rows) sink += predictBoostedTrees(trees, r);
    const predictTrees = seconds(t0);

    // 2. The floor: the same rows materialised, read through the same path (no feature computation, no scoring).
    t0 = process.hrtime.bigint();
    await wh.inputsQuery({ workspaceId: 'default', sql: `CREATE TABLE bench_features AS ${q.sql.replace(/\$(\d+)/g, (_, k: string) => sqlLiteral(q.params[Number(k) - 1]))}` });
    const materialise = seconds(t0);
    t0 = process.hrtime.bigint();
    const floorRows = await wh.inputsQuery({ workspaceId: 'default', sql: 'SELECT * FROM bench_features ORDER BY profile_id', readOnly: true });
    const floorSeconds = seconds(t0);
    if (floorRows.length !== n) throw new Error('floor read a different number of rows');

    // 3. decide-style latency: one profile's features in memory -> a probability.
    const lat: number[] = [];
    const latTrees: number[] = [];
    for (let i = 0; i < 100_000; i++) {
      const r = rows[(i * 7919) % rows.length];
      let s = process.hrtime.bigint();
      sink += predictLogistic(lr, r);
      lat.push(Number(process.hrtime.bigint() - s) / 1e3);
      s = process.hrtime.bigint();
      sink += predictBoostedTrees(trees, r);
      latTrees.push(Number(process.hrtime.bigint() - s) / 1e3);
    }
    // One profile's feature query (what GET /api/v1/models/<key>/profiles/<id> runs).
    const one: number[] = [];
    for (let i = 0; i < 50; i++) {
      const oq = featureQuery(spec, AS_OF, `p${(i * 104729) % n}`);
      const s = process.hrtime.bigint();
      await wh.inputsQuery({ workspaceId: 'default', sql: oq.sql, params: oq.params, readOnly: true });
      one.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
    await wh.close();

    // 4. Writing outputs as computed traits through the apply stage (setComputed), on a real app.
    let writeSeconds = NaN;
    if (o.write > 0) {
      const appDir = join(dir, 'app');
      const app = await createApp({ config: parseConfig({ port: 0, logLevel: 'silent', dataDir: appDir }), adminToken: 'bench', logger: pino({ level: 'silent' }) });
      const values = new Map(ids.slice(0, o.write).map((id, i) => [id, { score: Math.round(predictLogistic(lr, rows[i]) * 1e6) / 1e6 }]));
      t0 = process.hrtime.bigint();
      await app.apply.setComputed('default', 'bench_model', values, AS_OF);
      writeSeconds = seconds(t0);
      await app.close();
    }

    const scoringTotal = featuresSeconds + convertSeconds + predictLr;
    const endLoad = loadavg()[0];
    const f = (x: number) => x.toFixed(2);
    const section = [
      '## intelligence',
      '',
      `Written by \`npm run bench -- intelligence\` (${new Date().toISOString().slice(0, 10)}; ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GB; load average ${startLoad.toFixed(2)} at the start, ${endLoad.toFixed(2)} at the end; other work was running on the machine).`,
      `${n.toLocaleString()} profiles, ${events.toLocaleString()} events in the embedded DuckDB warehouse (generated in ${f(generate)} s), ${names.length} features per profile.`,
      '',
      '| step | seconds |',
      '|---|---:|',
      `| feature SQL over the events and reading the rows back (the models' path) | ${f(featuresSeconds)} |`,
      `| converting rows to feature vectors | ${f(convertSeconds)} |`,
      `| scoring every profile, logistic regression | ${f(predictLr)} |`,
      `| scoring every profile, 100 boosted trees of depth 3 | ${f(predictTrees)} |`,
      `| **total, logistic (target under 60 s)** | **${f(scoringTotal)}** |`,
      `| floor: reading the same rows, already materialised, through the same path | ${f(floorSeconds)} |`,
      `| (materialising them: the feature SQL alone, inside DuckDB) | ${f(materialise)} |`,
      `| fitting: logistic regression / boosted trees on ${sample.length.toLocaleString()} rows | ${f(fitLr)} / ${f(fitTrees)} |`,
      o.write > 0 ? `| writing ${o.write.toLocaleString()} values as a computed trait through the apply stage (setComputed) | ${f(writeSeconds)} (${Math.round(o.write / writeSeconds).toLocaleString()} profiles/s) |` : '',
      '',
      `\`decide\`-style single scoring call (features in memory -> probability), 100,000 calls: logistic p50 ${quantile(lat, 0.5).toFixed(2)} µs, p99 ${quantile(lat, 0.99).toFixed(2)} µs; boosted trees p50 ${quantile(latTrees, 0.5).toFixed(2)} µs, p99 ${quantile(latTrees, 0.99).toFixed(2)} µs (target under 1 ms). One profile's feature query on the warehouse (the explanation route): p50 ${quantile(one, 0.5).toFixed(1)} ms, p99 ${quantile(one, 0.99).toFixed(1)} ms over 50 calls.`,
      '',
    ].filter((l) => l !== '').join('\n').replace('| step', '\n| step').replace('\n`decide`', '\n\n`decide`');
    console.log(section);
    if (sink === 42) console.log('');
    if (o.docs) writeSection(join(ROOT, 'docs', 'benchmarks.md'), 'intelligence', `${section}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function sqlLiteral(v: unknown): string {
  return typeof v === 'number' ? String(v) : `'${String(v).replaceAll("'", "''")}'`;
}
