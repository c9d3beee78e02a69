// `npm run bench -- nats-log [--batches 2000] [--concurrency 16] [--sequential 300] [--events 100] [--no-write]`
//
// The Log port on NATS JetStream against the embedded log, in the same run: appends of 100-event batches (one at a
// time for latency, many in flight for throughput) and sequential reads as the events stage makes them (8 records
// per read). A bare JetStream publish of the same messages (no NatsLog) is the ceiling of the NATS rows. NATS is
// the server at 127.0.0.1:4222 (or NATS_URL), on a stream of the benchmark's own, deleted afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers } from '@nats-io/transport-node';
import type { Log, LogBatch } from '../src/core/ports/log.js';
import { NatsLog } from '../src/storage/nats/log.js';
import { deleteStream, SHARED_NATS_URL, uniqueStream } from '../src/storage/nats/test-servers.js';
import { SqliteLog } from '../src/storage/sqlite/log.js';
import { writeSection } from './_process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PARTITIONS = 4;
const READ_LIMIT = 8;

interface Options { batches: number; concurrency: number; sequential: number; events: number; write: boolean }

function parseArgs(args: string[]): Options {
  const o: Options = { batches: 2000, concurrency: 16, sequential: 300, events: 100, write: true };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const v = () => Number(args[++i]);
    if (a === '--batches') o.batches = v();
    else if (a === '--concurrency') o.concurrency = v();
    else if (a === '--sequential') o.sequential = v();
    else if (a === '--events') o.events = v();
    else if (a === '--no-write') o.write = false;
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

/** `events` track messages shaped like collected ones (about 450 bytes each as JSON). */
function makeBatch(i: number, events: number): LogBatch {
  const entries = Array.from({ length: events }, (_, j) => ({
    kind: 'event',
    message: {
      type: 'track', messageId: `m-${i}-${j}`, userId: `user-${(i * 7 + j) % 5000}`, anonymousId: `anon-${(i * 13 + j) % 9000}`, event: 'Product Viewed',
      properties: { sku: `SKU-${j % 300}`, price: 19.99 + j, currency: 'EUR', category: 'shoes' },
      context: { library: { name: 'analytics.js', version: '5.2.0' }, page: { path: '/products/x', url: 'https://shop.example.com/products/x' }, ip: '203.0.113.9' },
      timestamp: '2026-11-22T10:00:00.000Z', receivedAt: '2026-11-22T10:00:00.010Z', sentAt: '2026-11-22T10:00:00.005Z',
    },
    violations: [],
  }));
  return { partition: i % PARTITIONS, workspaceId: 'default', sourceId: 'src-1', receivedAt: 1_795_000_000_000 + i, count: events, payload: JSON.stringify(entries) };
}

interface AppendResult { batchesPerSecond: number; p50: number; p99: number; max: number }
interface Row { name: string; sequential: AppendResult; concurrent: AppendResult; read?: { batchesPerSecond: number; eventsRead: number } }

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];

/** `total` appends, `inFlight` at a time; latency of each append from call to resolution. */
async function appends(append: (b: LogBatch) => Promise<unknown>, batches: LogBatch[], inFlight: number): Promise<AppendResult> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < batches.length) {
      const b = batches[next++];
      const t = performance.now();
      await append(b);
      latencies.push(performance.now() - t);
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { batchesPerSecond: batches.length / seconds, p50: pct(latencies, 50), p99: pct(latencies, 99), max: latencies[latencies.length - 1] };
}

/** Every partition from the start, READ_LIMIT records per read, as the events stage reads. */
async function readAll(log: Log): Promise<{ batchesPerSecond: number; eventsRead: number; batches: number }> {
  const started = performance.now();
  let batches = 0;
  let eventsRead = 0;
  for (let p = 0; p < log.partitions; p++) {
    for (let from = 0; ;) {
      const records = await log.read(p, from, READ_LIMIT);
      if (records.length === 0) break;
      batches += records.length;
      for (const r of records) eventsRead += r.count;
      from = records[records.length - 1].offset;
    }
  }
  return { batchesPerSecond: batches / ((performance.now() - started) / 1000), eventsRead, batches };
}

async function measureLog(name: string, log: Log, o: Options, seq: LogBatch[], many: LogBatch[]): Promise<Row> {
  const sequential = await appends((b) => log.append([b]), seq, 1);
  const concurrent = await appends((b) => log.append([b]), many, o.concurrency);
  const read = await readAll(log);
  if (read.batches !== seq.length + many.length) throw new Error(`${name}: read ${read.batches} batches, appended ${seq.length + many.length}`);
  return { name, sequential, concurrent, read };
}

/** The ceiling: the same messages through the JetStream client alone (same headers, no NatsLog). */
async function measureBare(o: Options, seq: LogBatch[], many: LogBatch[]): Promise<{ row: Row; serverVersion: string }> {
  const names = uniqueStream('benchbare');
  const nc = await connect({ servers: SHARED_NATS_URL });
  const manager = await jetstreamManager(nc);
  try {
    await manager.streams.add({ name: names.stream, subjects: [`${names.subjectPrefix}.*`] });
    const js = jetstream(nc);
    const publish = (b: LogBatch) => {
      const h = headers();
      h.set('Tandem-Workspace', b.workspaceId);
      h.set('Tandem-Source', b.sourceId);
      h.set('Tandem-Received-At', String(b.receivedAt));
      h.set('Tandem-Count', String(b.count));
      return js.publish(`${names.subjectPrefix}.${b.partition}`, b.payload, { headers: h });
    };
    const sequential = await appends(publish, seq, 1);
    const concurrent = await appends(publish, many, o.concurrency);
    // Reading: the client library's ordered consumer over the whole stream (a filter per partition needs a 2.10 server).
    const total = seq.length + many.length;
    const started = performance.now();
    const messages = await (await js.consumers.get(names.stream)).consume({ max_messages: 64 });
    let batches = 0;
    let eventsRead = 0;
    for await (const m of messages) {
      eventsRead += Number(m.headers?.get('Tandem-Count'));
      if (++batches === total) break;
    }
    const read = { batchesPerSecond: batches / ((performance.now() - started) / 1000), eventsRead };
    return { row: { name: 'bare JetStream (ceiling: publish; ordered consumer)', sequential, concurrent, read }, serverVersion: nc.info?.version ?? '?' };
  } finally {
    await manager.streams.delete(names.stream).catch(() => false);
    await nc.close();
  }
}

const n = (x: number, digits = 0) => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function report(o: Options, rows: Row[], command: string, loads: { start: number; end: number; during: number[] }, bytes: number, serverVersion: string): string {
  const lines = [
    '## nats-log',
    '',
    `${new Date().toISOString().slice(0, 10)}; ${cpus()[0]?.model ?? 'cpu'}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; load average ${n(loads.start, 1)} when the run started, ${loads.during.map((l) => n(l, 1)).join(' / ')} between the measurements, ${n(loads.end, 1)} at the end (the machine is shared with other agents' builds and tests). Command: \`${command}\``,
    '',
    `The Log port with ${o.events}-event batches (${n(bytes / 1024)} KiB of JSON each), ${PARTITIONS} partitions, all in this one process: SqliteLog (the embedded log, storage.sync full: one fsync per group commit) and NatsLog on the NATS ${serverVersion} server at ${SHARED_NATS_URL} (file storage, one replica, the server's default: written, not fsynced per message). The bare JetStream row sends the same messages and headers with the client alone and reads them back with the client library's ordered consumer: the ceiling of NatsLog's appends and reads. Sequential: ${n(o.sequential)} appends one after the other. Concurrent: ${n(o.batches)} appends, ${o.concurrency} in flight (as concurrent collection requests). Reads: every partition from the start, ${READ_LIMIT} records per read (the events stage's reads).`,
    '',
    '| log | sequential p50 ms | sequential p99 ms | concurrent batches/s | concurrent events/s | concurrent p99 ms | read batches/s | read events/s |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(`| ${r.name} | ${n(r.sequential.p50, 2)} | ${n(r.sequential.p99, 2)} | ${n(r.concurrent.batchesPerSecond)} | ${n(r.concurrent.batchesPerSecond * o.events)} | ${n(r.concurrent.p99, 1)} | ${r.read ? n(r.read.batchesPerSecond) : '-'} | ${r.read ? n(r.read.batchesPerSecond * o.events) : '-'} |`);
  }
  const sqlite = rows.find((r) => r.name.startsWith('SqliteLog'));
  const nats = rows.find((r) => r.name.startsWith('NatsLog'));
  const bare = rows.find((r) => r.name.startsWith('bare'));
  if (sqlite && nats && bare) {
    lines.push(
      '',
      `Ratios: NatsLog's concurrent appends are ${n((100 * nats.concurrent.batchesPerSecond) / bare.concurrent.batchesPerSecond)}% of the bare publish and ${n((100 * nats.concurrent.batchesPerSecond) / sqlite.concurrent.batchesPerSecond)}% of SqliteLog's; its reads ${n((100 * (nats.read?.batchesPerSecond ?? 0)) / (bare.read?.batchesPerSecond ?? 1))}% of the ordered consumer's and ${n((100 * (nats.read?.batchesPerSecond ?? 0)) / (sqlite.read?.batchesPerSecond ?? 1))}% of SqliteLog's.`,
    );
  }
  lines.push('');
  return lines.join('\n');
}

export async function run(args: string[]): Promise<void> {
  const o = parseArgs(args);
  const command = `npm run bench -- nats-log${args.length ? ` ${args.join(' ')}` : ''}`;
  const loads = { start: loadavg()[0], end: 0, during: [] as number[] };
  const seq = Array.from({ length: o.sequential }, (_, i) => makeBatch(i, o.events));
  const many = Array.from({ length: o.batches }, (_, i) => makeBatch(o.sequential + i, o.events));
  const rows: Row[] = [];
  let serverVersion = '?';

  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-natslog-'));
  const names = uniqueStream('bench');
  try {
    const sqlite = new SqliteLog(join(dir, 'log.db'), PARTITIONS, 'full');
    rows.push(await measureLog('SqliteLog (embedded, sync full)', sqlite, o, seq, many));
    await sqlite.close();
    loads.during.push(loadavg()[0]);
    console.error(`sqlite: ${n(rows[0].concurrent.batchesPerSecond)} batches/s`);

    const bare = await measureBare(o, seq, many);
    serverVersion = bare.serverVersion;
    rows.push(bare.row);
    loads.during.push(loadavg()[0]);
    console.error(`bare: ${n(rows[1].concurrent.batchesPerSecond)} batches/s`);

    const nats = await NatsLog.open({ servers: SHARED_NATS_URL, partitions: PARTITIONS, ...names });
    rows.push(await measureLog('NatsLog (JetStream)', nats, o, seq, many));
    await nats.close();
    console.error(`nats: ${n(rows[2].concurrent.batchesPerSecond)} batches/s`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await deleteStream(SHARED_NATS_URL, names.stream).catch(() => undefined);
  }
  loads.end = loadavg()[0];
  const section = report(o, rows, command, loads, Buffer.byteLength(seq[0].payload), serverVersion);
  process.stdout.write(`\n${section}\n`);
  if (o.write) writeSection(join(ROOT, 'docs', 'benchmarks.md'), 'nats-log', section);
}
