// The server side of the audiences benchmark's fast loop, in its own process (spawned by fast.ts with tsx): a
// Tandem with the benchmark's definitions, which times every committed membership change from its event's sent
// instant and reports the figures over IPC when asked. Runs until killed.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createApp } from '../../src/app.js';
import { parseConfig } from '../../src/core/config.js';
import { AUDIENCES, TRAITS } from './definitions.js';

const TOKEN = 'bench-admin-token';
const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-fast-'));
const app = await createApp({ config: parseConfig({ dataDir: dir, port: 0, logLevel: 'silent' }), adminToken: TOKEN, logger: pino({ level: 'silent' }) });
const url = await app.listen();
const admin = async (path: string, body: unknown) => {
  const res = await fetch(`${url}/api/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
};
for (const t of TRAITS) await admin('/traits', t.definition);
for (const a of AUDIENCES) await admin('/audiences', { key: a.key, condition: a.definition });
await app.apply.drain();

let latencies: number[] = [];
let measuring = false;
let lastChange = 0;
app.apply.subscribe((changes) => {
  if (!measuring) return;
  const now = Date.now();
  lastChange = performance.now();
  for (const c of changes) latencies.push(now - c.at);
});

process.on('message', (m: { op: string }) => {
  if (m.op === 'measure') {
    latencies = [];
    measuring = true;
    process.send!({ op: 'measuring' });
  } else if (m.op === 'exit') {
    process.exit(0); // with --cpu-prof, the profile is written on the way out
  } else if (m.op === 'report') {
    process.send!({ op: 'report', latencies, quietMs: performance.now() - lastChange });
  }
});
process.send!({ op: 'ready', url, writeKey: app.firstStart.writeKey, dir });
