// A journey through the real server process (`bin/tandem.js start`), killed with SIGKILL while messages are being
// dispatched and while instances wait on their timers, then restarted: at the webhook sink every profile gets each
// message exactly once, counted by idempotency key (a repeat of an in-flight request carries the same key).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const TOKEN = 'journey-crash-admin';
const PROFILES = 30;

const freePort = () => new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address() as AddressInfo;
    s.close(() => resolve(port));
  });
});

interface Server { proc: ChildProcess; url: string; writeKey?: string; exited: Promise<NodeJS.Signals | number | null> }

async function start(dataDir: string, port: number): Promise<Server> {
  // The webhook sink is on loopback: the SSRF guard is told so explicitly.
  const config = join(dataDir, 'tandem.yaml');
  writeFileSync(config, 'network:\n  allowPrivate: ["127.0.0.1/32"]\n');
  const proc = spawn(process.execPath, ['bin/tandem.js', 'start', '--data-dir', dataDir, '--port', String(port), '--config', config], {
    env: { ...process.env, TANDEM_ADMIN_TOKEN: TOKEN, TANDEM_TEST_CRASH_HOOK: 'hook-secret' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<NodeJS.Signals | number | null>((r) => proc.on('exit', (code, signal) => r(signal ?? code)));
  let out = '';
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const started = await new Promise<string>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/API reference/.test(out)) resolve(out);
    });
    void exited.then((how) => reject(new Error(`tandem exited (${String(how)}) before starting:\n${out}`)));
  });
  return { proc, url: /running at (\S+)/.exec(started)![1], writeKey: /write key of source 'default' \(shown once\): (\S+)/.exec(started)?.[1], exited };
}

const until = async (what: string, ok: () => boolean, timeoutMs = 60_000) => {
  const end = performance.now() + timeoutMs;
  while (!ok()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('journeys through the server process: kill -9 during dispatch and during waits', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tandem-journey-e2e-crash-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('after restarts every profile gets each message exactly once (counted at the sink by idempotency key)', async () => {
    const hits: { key: string; profile: string; node: string }[] = [];
    const sink = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { profile_id: string; node: string };
        hits.push({ key: String(req.headers['idempotency-key']), profile: body.profile_id, node: body.node });
        setTimeout(() => res.writeHead(200).end('{}'), 20); // answers late, so a kill lands with requests in flight
      });
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
    const port = await freePort();

    let server = await start(dataDir, port);
    const admin = (path: string, json: unknown) =>
      fetch(`${server.url}/api/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(json) });
    expect((await admin('/channels', { key: 'hook', type: 'webhook', settings: { url: sinkUrl, secret: { env: 'TANDEM_TEST_CRASH_HOOK' } }, retry: { maxAttempts: 20, base: '100ms', max: '500ms' } })).status).toBe(201);
    const journey = {
      key: 'welcome', trigger: { type: 'event', event: 'Signed Up' }, start: 'hello',
      nodes: { hello: { type: 'webhook', channel: 'hook', next: 'wait' }, wait: { type: 'wait', duration: '45s', next: 'reminder' }, reminder: { type: 'webhook', channel: 'hook' } },
    };
    expect((await admin('/journeys', journey)).status).toBe(201);
    const batch = Array.from({ length: PROFILES }, (_, i) => ({ type: 'track', userId: `crash-${i}`, event: 'Signed Up', messageId: `signup-${i}` }));
    const sent = await fetch(`${server.url}/v1/batch`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${server.writeKey}:`).toString('base64')}` }, body: JSON.stringify({ batch }),
    });
    expect(sent.status).toBe(200);

    // Kill 1: while the first messages are being dispatched (some answered, others in flight or still queued).
    await until('the first webhooks', () => hits.length >= 3);
    server.proc.kill('SIGKILL');
    expect(await server.exited).toBe('SIGKILL');
    const atKill1 = new Set(hits.map((h) => h.key)).size;

    // Kill 2: after the restart, while instances wait on their 45 s timers (longer than two restarts take on a loaded machine).
    server = await start(dataDir, port);
    await until('every first webhook', () => new Set(hits.filter((h) => h.node === 'hello').map((h) => h.key)).size === PROFILES);
    const reminders = hits.filter((h) => h.node === 'reminder').length;
    server.proc.kill('SIGKILL');
    expect(await server.exited).toBe('SIGKILL');

    // Run to the end: the timers that fell due while it was down fire after the restart.
    server = await start(dataDir, port);
    await until('every reminder', () => new Set(hits.filter((h) => h.node === 'reminder').map((h) => h.key)).size === PROFILES);
    await new Promise((r) => setTimeout(r, 1500)); // anything repeated late would arrive now
    server.proc.kill('SIGTERM');
    await server.exited;
    await new Promise<void>((r) => sink.close(() => r()));

    // The kills really landed mid-run.
    expect(atKill1).toBeLessThan(PROFILES);
    expect(reminders).toBeLessThan(PROFILES);
    // Counted by idempotency key: each profile got `hello` once and `reminder` once, nothing else.
    const byKey = new Map(hits.map((h) => [h.key, h]));
    expect(byKey.size).toBe(2 * PROFILES);
    const perProfile = new Map<string, string[]>();
    for (const h of byKey.values()) perProfile.set(h.profile, [...(perProfile.get(h.profile) ?? []), h.node].sort());
    expect(perProfile.size).toBe(PROFILES);
    for (const nodes of perProfile.values()) expect(nodes).toEqual(['hello', 'reminder']);
    // Repeats of a key are requests in flight at a kill, resent with the same key: at most the dispatcher's
    // concurrency (delivery.concurrency, 16 by default) per kill.
    expect(hits.length - byKey.size).toBeLessThanOrEqual(2 * 16);
  }, 180_000);
});
