// The server side of the audiences benchmark's fast loop, in its own process (spawned by fast.ts with tsx): Tandem
// in `tandem start`'s shape (the front on this thread, the pipeline and admin API on the core thread) with the
// benchmark's definitions. Every committed membership change is timed by Tandem itself, from the arrival of the
// event that caused it to the commit (the histogram tandem_audience_change_delay_seconds on /metrics); this process
// reads the histogram when asked and reports the changes counted since the measurement started, over IPC.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { parseConfig } from '../../src/core/config.js';
import { startFront } from '../../src/server/front.js';
import { AUDIENCES, TRAITS } from './definitions.js';

const TOKEN = 'bench-admin-token';
const METRIC = 'tandem_audience_change_delay_seconds';
const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-fast-'));
// FAST_SERVER_CONFIG: configuration of the variant under test (JSON, merged over the defaults).
const variant = JSON.parse(process.env.FAST_SERVER_CONFIG ?? '{}') as Record<string, unknown>;
const front = await startFront(parseConfig({ ...variant, dataDir: dir, port: 0, logLevel: 'silent' }), pino({ level: 'silent' }), TOKEN);
const url = front.url;
const admin = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<{ data: unknown[] }>;
};
for (const t of TRAITS) await admin('POST', '/traits', t.definition);
for (const a of AUDIENCES) await admin('POST', '/audiences', { key: a.key, condition: a.definition });
while ((await admin('GET', '/backfills')).data.length > 0) await new Promise((r) => setTimeout(r, 100));

/** The histogram's cumulative bucket counts (upper bound in seconds -> count). */
async function histogram(): Promise<Map<number, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const buckets = new Map<number, number>();
  for (const line of text.split('\n')) {
    const m = line.match(new RegExp(`^${METRIC}_bucket\\{le="([^"]+)"\\} (\\S+)`));
    if (m) buckets.set(m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2]));
  }
  return buckets;
}

let start = new Map<number, number>();
let cpuStart = process.cpuUsage();
let lastTotal = 0;
let lastChange = performance.now();

process.on('message', async (m: { op: string }) => {
  if (m.op === 'measure') {
    start = await histogram();
    cpuStart = process.cpuUsage();
    lastTotal = start.get(Infinity) ?? 0;
    process.send!({ op: 'measuring' });
  } else if (m.op === 'exit') {
    await front.close();
    process.exit(0); // with --cpu-prof, the profile is written on the way out
  } else if (m.op === 'report') {
    const now = await histogram();
    const total = now.get(Infinity) ?? 0;
    if (total !== lastTotal) {
      lastTotal = total;
      lastChange = performance.now();
    }
    // Changes counted since 'measure', per bucket: [upper bound in ms, count at or below it].
    const cumulative = [...now].sort((a, b) => a[0] - b[0]).map(([le, n]) => [le * 1000, n - (start.get(le) ?? 0)] as [number, number]);
    // CPU of the whole process (every thread: collection, pipeline) since 'measure'.
    const cpu = process.cpuUsage(cpuStart);
    process.send!({ op: 'report', cumulative, quietMs: performance.now() - lastChange, cpuMs: (cpu.user + cpu.system) / 1000 });
  }
});
process.send!({ op: 'ready', url, writeKey: front.firstStart.writeKey, dir });
