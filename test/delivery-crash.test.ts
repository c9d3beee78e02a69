import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { startTandem } from './harness.js';

const PROFILES = 20;
const PER_PROFILE = 10;

function runDispatcher(dataDir: string): { proc: ChildProcess; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>; output: () => string } {
  let out = '';
  const proc = spawn(process.execPath, ['--import', 'tsx', 'test/delivery-crash.child.ts', dataDir], {
    env: { ...process.env, TANDEM_TEST_HOOK_SECRET: 'crash-secret' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.on('exit', (code, signal) => r({ code, signal })));
  return { proc, exited, output: () => out };
}

describe('dispatcher crash safety', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tandem-delivery-crash-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('SIGKILL mid-dispatch loses no message; repeats carry the same idempotency key, so a deduplicating sink gets each exactly once', async () => {
    // The sink: answers after a short delay so that a kill lands while requests are in flight; dedups by key.
    const hits: { key: string; profile: string; n: number }[] = [];
    const delivered = new Map<string, number>();
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const key = String(req.headers['idempotency-key']);
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { payload: { profile: string; n: number } };
        hits.push({ key, profile: body.payload.profile, n: body.payload.n });
        setTimeout(() => {
          delivered.set(key, (delivered.get(key) ?? 0) + 1);
          res.writeHead(200).end('{}');
        }, 25);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    // Set up: profiles, a webhook channel and the messages, then stop (the child processes dispatch them).
    const setup = await startTandem({ dataDir, config: { collect: { threads: 0 }, network: { allowPrivate: ['127.0.0.1/32'] } } }); // the sink is on loopback
    await setup.app.delivery.stop(); // only the child dispatches
    for (let p = 0; p < PROFILES; p++) await setup.collect('/v1/identify', { userId: `u${p}`, traits: { n: p } });
    await setup.settle();
    expect((await setup.admin('/channels', { method: 'POST', json: { key: 'hook', type: 'webhook', settings: { url, secret: { env: 'TANDEM_TEST_HOOK_SECRET' } }, retry: { maxAttempts: 20 } } })).status).toBe(201);
    const ids: string[] = [];
    for (let p = 0; p < PROFILES; p++) {
      const profile = ((await (await setup.admin(`/profiles/lookup?type=user_id&value=u${p}`)).json()) as { id: string }).id;
      ids.push(profile);
    }
    for (let n = 0; n < PER_PROFILE; n++) {
      for (let p = 0; p < PROFILES; p++) {
        setup.app.delivery.outbox.enqueue({ workspaceId: 'default', profileId: ids[p], channel: 'hook', payload: { profile: `u${p}`, n }, idempotencyKey: `u${p}:${n}` });
      }
    }
    await setup.stop();

    // Run, kill with SIGKILL twice while messages are in flight, then run to the end.
    for (const killAt of [40, 110]) {
      const run = runDispatcher(dataDir);
      while (hits.length < killAt) {
        const done = await Promise.race([run.exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 10))]);
        if (done) throw new Error(`dispatcher exited before the kill:\n${run.output()}`);
      }
      run.proc.kill('SIGKILL');
      expect((await run.exited).signal).toBe('SIGKILL');
    }
    const last = runDispatcher(dataDir);
    const end = await last.exited;
    expect(end.code, last.output()).toBe(0);
    await new Promise((r) => setTimeout(r, 50)); // the sink's last delayed answers
    server.close();

    const total = PROFILES * PER_PROFILE;
    // Each message reached the sink; with the sink's dedup by idempotency key, each exactly once.
    expect(new Set(hits.map((h) => h.key)).size).toBe(total);
    expect(delivered.size).toBe(total);
    // Repeats are only messages that were in flight at a kill (at most the dispatcher's concurrency per kill).
    const repeats = hits.length - total;
    expect(repeats).toBeLessThanOrEqual(2 * 8);
    // Each profile's messages first reached the sink in order, across the crashes.
    for (let p = 0; p < PROFILES; p++) {
      const seen: number[] = [];
      for (const h of hits) if (h.profile === `u${p}` && !seen.includes(h.n)) seen.push(h.n);
      expect(seen).toEqual([...Array(PER_PROFILE).keys()]);
    }
    // The store agrees: every message delivered, nothing pending or dead.
    const db = new Database(join(dataDir, 'store.db'), { readonly: true });
    const states = db.prepare('SELECT state, status, COUNT(*) AS n FROM delivery_messages GROUP BY state, status').all();
    db.close();
    expect(states).toEqual([{ state: 'done', status: 'delivered', n: total }]);
  }, 120_000);
});
