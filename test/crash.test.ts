import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Invariant 1 (acknowledged means durable) and 3 (exactly once) under `kill -9`: the real server runs in its own
 * process with the default configuration (storage sync `full`); a client streams batches, the server is SIGKILLed
 * mid-stream, restarted on the same data directory, and the stored events are counted per messageId.
 */

const ADMIN_TOKEN = 'crash-test-admin-token';
const BATCH = 50;
const IN_FLIGHT = 6;
const STREAM_MS = 1_500;
const ROUNDS = 3;

const dataDir = mkdtempSync(join(tmpdir(), 'tandem-crash-'));
let server: Server | undefined;
afterAll(async () => {
  if (server && server.proc.exitCode === null && server.proc.signalCode === null) {
    server.proc.kill('SIGKILL');
    await server.exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

interface Server {
  proc: ChildProcess;
  url: string;
  writeKey?: string;
  exited: Promise<void>;
  output: () => string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Starts `tandem start` as a child process and resolves once it prints that it is running. */
async function startServer(): Promise<Server> {
  const port = await freePort();
  const proc = spawn(process.execPath, ['bin/tandem.js', 'start', '--data-dir', dataDir, '--port', String(port)], {
    cwd: process.cwd(),
    env: { ...process.env, TANDEM_ADMIN_TOKEN: ADMIN_TOKEN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const deadline = Date.now() + 20_000;
  while (!/Tandem is running at (\S+)/.test(out)) {
    if (proc.exitCode !== null) throw new Error(`tandem exited with ${proc.exitCode}:\n${out}`);
    if (Date.now() > deadline) throw new Error(`tandem did not start in time:\n${out}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  const url = /Tandem is running at (\S+)/.exec(out)![1];
  const writeKey = /write key of source 'default' \(shown once\): (\S+)/.exec(out)?.[1];
  return { proc, url, writeKey, exited, output: () => out };
}

const messageOf = (id: string, n: number) => ({ type: 'track', userId: `user-${n % 97}`, event: 'Crash Test', messageId: id, properties: { n } });

/** Sends one batch and answers the status and accepted count; throws only when the connection fails. */
async function send(url: string, writeKey: string, ids: string[]): Promise<{ status: number; accepted?: number }> {
  const res = await fetch(`${url}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` },
    body: JSON.stringify({ batch: ids.map((id) => messageOf(id, Number(id.split('-')[1]))) }),
  });
  const body = (await res.json()) as { accepted?: number };
  return { status: res.status, accepted: body.accepted };
}

/** Counts stored events per messageId, reading the store read-only once the events stage has caught up with the log. */
async function storedCounts(): Promise<Map<string, number>> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const log = new Database(join(dataDir, 'log.db'), { readonly: true, fileMustExist: true });
    const store = new Database(join(dataDir, 'store.db'), { readonly: true, fileMustExist: true });
    try {
      const heads = log.prepare('SELECT partition, MAX(seq) AS seq FROM log GROUP BY partition').all() as { partition: number; seq: number }[];
      const offsets = new Map((store.prepare("SELECT partition, seq FROM consumer_offsets WHERE consumer = 'events'").all() as { partition: number; seq: number }[]).map((r) => [r.partition, r.seq]));
      if (heads.every((h) => (offsets.get(h.partition) ?? 0) >= h.seq)) {
        const rows = store.prepare("SELECT message_id AS id, COUNT(*) AS n FROM events WHERE workspace_id = 'default' AND message_id LIKE 'crash-%' GROUP BY message_id").all() as { id: string; n: number }[];
        return new Map(rows.map((r) => [r.id, r.n]));
      }
    } finally {
      log.close();
      store.close();
    }
    if (Date.now() > deadline) throw new Error('the events stage did not catch up with the log within 30 s');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('kill -9 during collection', () => {
  it('keeps every acknowledged message exactly once, and deduplicates resends, across repeated crashes', async () => {
    server = await startServer();
    const writeKey = server.writeKey!;
    expect(writeKey, server.output()).toBeTruthy();
    let next = 0;
    const sentIds: string[] = [];
    const acked = new Set<string>();

    for (let round = 1; round <= ROUNDS; round++) {
      // Stream batches with several requests in flight until the kill.
      let stop = false;
      let inFlight = 0;
      let ackedThisRound = 0;
      let failedThisRound = 0;
      const url = server.url;
      const worker = async () => {
        while (!stop) {
          const ids = Array.from({ length: BATCH }, () => `crash-${next++}`);
          sentIds.push(...ids);
          inFlight++;
          let answer: { status: number; accepted?: number } | undefined;
          try {
            answer = await send(url, writeKey, ids);
          } catch {
            failedThisRound += ids.length; // connection reset or refused: not acknowledged
          } finally {
            inFlight--;
          }
          if (answer) {
            // Before the kill every answer must be a full acknowledgement; anything else is a bug, not a crash effect.
            expect(answer).toEqual({ status: 200, accepted: ids.length });
            for (const id of ids) acked.add(id);
            ackedThisRound += ids.length;
          }
        }
      };
      const workers = Array.from({ length: IN_FLIGHT }, worker);
      await new Promise((r) => setTimeout(r, STREAM_MS));
      const inFlightAtKill = inFlight;
      server.proc.kill('SIGKILL');
      await server.exited;
      stop = true;
      await Promise.all(workers);
      expect(server.proc.signalCode).toBe('SIGKILL');
      // The kill must land mid-stream, or the test proves nothing about in-flight requests.
      expect(inFlightAtKill).toBeGreaterThan(0);
      expect(ackedThisRound).toBeGreaterThan(0);
      expect(failedThisRound).toBeGreaterThan(0);

      // Restart on the same data directory: every acknowledged message is there, exactly once.
      server = await startServer();
      expect(server.writeKey, 'the write key is printed on first start only').toBeUndefined();
      const afterCrash = await storedCounts();
      const missing = [...acked].filter((id) => afterCrash.get(id) !== 1);
      expect(missing.slice(0, 10), `${missing.length} acknowledged messages missing or duplicated after kill ${round}`).toEqual([]);
      expect([...afterCrash.values()].every((n) => n === 1)).toBe(true);

      // The client resends everything, acknowledged or not; duplicates are dropped, nothing is missing.
      for (let i = 0; i < sentIds.length; i += 500) {
        const chunk: Promise<{ status: number; accepted?: number }>[] = [];
        for (let j = i; j < Math.min(i + 500, sentIds.length); j += BATCH) chunk.push(send(server.url, writeKey, sentIds.slice(j, j + BATCH)));
        for (const answer of await Promise.all(chunk)) expect(answer).toEqual({ status: 200, accepted: BATCH });
      }
      for (const id of sentIds) acked.add(id);
      const afterResend = await storedCounts();
      expect(afterResend.size).toBe(sentIds.length);
      const wrong = sentIds.filter((id) => afterResend.get(id) !== 1);
      expect(wrong.slice(0, 10), `${wrong.length} messages not stored exactly once after resend in round ${round}`).toEqual([]);
    }

    // The stored content is the message that was sent, not just its id.
    const store = new Database(join(dataDir, 'store.db'), { readonly: true, fileMustExist: true });
    try {
      const bad = store
        .prepare("SELECT message_id FROM events WHERE message_id LIKE 'crash-%' AND (json_extract(message, '$.properties.n') != CAST(substr(message_id, 7) AS INTEGER) OR json_extract(message, '$.event') != 'Crash Test') LIMIT 5")
        .all();
      expect(bad).toEqual([]);
    } finally {
      store.close();
    }

    // A graceful stop still works after all that.
    server.proc.kill('SIGTERM');
    await server.exited;
    expect(server.proc.exitCode).toBe(0);
  }, 120_000);
});
