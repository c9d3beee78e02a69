// Part (a) of the audiences benchmark: a running Tandem with 20 audiences and 20 computed traits defined receives
// track events at a sustained rate from a separate process; every committed membership change is timed from the
// instant its event was sent (the event's timestamp, stamped by the sender as it sends) to the instant the apply
// stage has committed the change. Tandem runs in this process so the change can be observed as it commits.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { createApp } from '../../src/app.js';
import { parseConfig } from '../../src/core/config.js';
import { AUDIENCES, TRAITS } from './definitions.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TOKEN = 'bench-admin-token';

export interface FastLoopResult {
  description: string;
  audiences: number;
  traits: number;
  offeredRate: number;
  achievedRate: number;
  changes: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export async function runFastLoop(o: { rate: number; seconds: number; perRequest?: number; users?: number }): Promise<FastLoopResult> {
  const perRequest = o.perRequest ?? 10;
  const users = o.users ?? 20_000;
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-fast-'));
  const app = await createApp({ config: parseConfig({ dataDir: dir, port: 0, logLevel: 'silent' }), adminToken: TOKEN, logger: pino({ level: 'silent' }) });
  try {
    const url = await app.listen();
    const admin = async (path: string, body: unknown) => {
      const res = await fetch(`${url}/api/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    };
    for (const t of TRAITS) await admin('/traits', t.definition);
    for (const a of AUDIENCES) await admin('/audiences', { key: a.key, condition: a.definition });
    await app.apply.drain();

    const latencies: number[] = [];
    let measuring = false;
    app.apply.subscribe((changes) => {
      if (!measuring) return;
      const now = Date.now();
      for (const c of changes) latencies.push(now - c.at);
    });
    const auth = `Basic ${Buffer.from(`${app.firstStart.writeKey}:`).toString('base64')}`;
    const load = (seconds: number) =>
      new Promise<{ achievedRate: number }>((resolve, reject) => {
        const child = spawn(process.execPath, ['bench/_audiences/fast-load.mjs', JSON.stringify({ url, auth, rate: o.rate, perRequest, seconds, users })], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load exited with ${code}`))));
      });
    await load(2); // warm-up: JIT, first profiles
    measuring = true;
    const result = await load(o.seconds);
    // Changes of the last events still in the pipeline count too: wait for them.
    await app.events.drain();
    await app.resolve.drain();
    await app.apply.drain();
    measuring = false;
    latencies.sort((a, b) => a - b);
    const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
    return {
      description: `Tandem in the benchmark's process (embedded storage, \`storage.sync: full\`), the sender in its own process: /v1/batch requests of ${perRequest} track events for ${users.toLocaleString('en-US')} users, offered at a fixed rate for ${o.seconds} s after a 2 s warm-up. Latency of each committed membership change (enter or exit) from the sender's timestamp of the event that caused it to the apply stage's commit; the changes of events still queued when sending stops are waited for and counted.`,
      audiences: AUDIENCES.length,
      traits: TRAITS.length,
      offeredRate: o.rate,
      achievedRate: result.achievedRate,
      changes: latencies.length,
      p50: q(0.5),
      p90: q(0.9),
      p99: q(0.99),
      max: latencies[latencies.length - 1] ?? NaN,
    };
  } finally {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
