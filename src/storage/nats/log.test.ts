import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogBatch, LogRecord } from '../../core/ports/log.js';
import { TandemError } from '../../core/errors.js';
import { NatsLog } from './log.js';
import { CLOSED_NATS_URL, LocalNatsServer, uniqueStream } from './test-servers.js';

/**
 * What only the NATS log has: an unreachable or restarted server, and erasure on the server's disk. These tests run
 * a nats-server of their own (never the shared one, which others use), which they stop and start again. Without
 * the nats-server binary they skip, except under CI=true, where they fail.
 */

const T0 = Date.UTC(2026, 2, 1, 12);
/** `traits` gives each message's traits (by default none). */
const batch = (partition: number, messageIds: string[], traits: (id: string) => Record<string, string> = () => ({})): LogBatch => {
  const entries = messageIds.map((messageId) => ({ kind: 'event', message: { type: 'identify', messageId, userId: `user-${messageId}`, traits: traits(messageId) }, violations: [] }));
  return { partition, workspaceId: 'w1', sourceId: 's1', receivedAt: T0, count: entries.length, payload: JSON.stringify(entries) };
};
const ids = (records: LogRecord[]) => records.map((r) => (JSON.parse(r.payload) as { message: { messageId: string } }[]).map((e) => e.message.messageId));

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => join(dir, f)).filter((f) => statSync(f).isFile());
}

describe('NatsLog: server unreachable', () => {
  it('opening against a port nothing listens on fails with a 503 naming the address', async () => {
    const started = Date.now();
    const error = await NatsLog.open({ servers: CLOSED_NATS_URL, partitions: 1, connectTimeoutMs: 1000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TandemError);
    expect((error as TandemError).status).toBe(503);
    expect((error as TandemError).code).toBe('log_unavailable');
    expect((error as TandemError).message).toContain('127.0.0.1:4299');
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe.skipIf(!LocalNatsServer.available() && process.env.CI !== 'true')('NatsLog on a server of its own', () => {
  let server: LocalNatsServer;
  beforeAll(async () => {
    server = await LocalNatsServer.start();
  });
  afterAll(async () => server?.destroy());

  it('refuses appends with 503 while the server is down, and resumes appending and reading when it is back', async () => {
    const log = await NatsLog.open({ servers: server.url, partitions: 2, ...uniqueStream('restart'), publishTimeoutMs: 2000 });
    try {
      await log.append([batch(0, ['before-1']), batch(1, ['before-2'])]);
      expect(ids(await log.read(0, 0, 10))).toEqual([['before-1']]);
      await server.stop();
      // Until the client notices the lost connection an append may wait for its acknowledgement; then it is refused at once.
      const started = Date.now();
      const refused = await log.append([batch(0, ['during'])]).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(TandemError);
      expect((refused as TandemError).status).toBe(503);
      expect(Date.now() - started).toBeLessThan(3000);
      const quick = Date.now();
      expect(((await log.append([batch(0, ['during-2'])]).catch((e: unknown) => e)) as TandemError).status).toBe(503);
      expect(Date.now() - quick).toBeLessThan(100);
      await expect(log.read(0, 0, 10)).rejects.toThrow(/unavailable/);

      await server.start();
      await expect.poll(() => log.append([batch(0, ['after'])]).then(() => true, () => false), { timeout: 10_000, interval: 200 }).toBe(true);
      // The server lost the reading consumers with its memory: reads go on from where they were.
      const p0 = await log.read(0, 0, 10);
      expect(ids(p0)).toEqual([['before-1'], ['after']]);
      expect(ids(await log.read(1, 0, 10))).toEqual([['before-2']]);
      expect(await log.head(0)).toBe(p0[1].offset);
    } finally {
      await log.close();
    }
  });

  it('wakes a listener of another instance after the server came back', async () => {
    const names = uniqueStream('wake');
    const writer = await NatsLog.open({ servers: server.url, partitions: 1, ...names });
    const reader = await NatsLog.open({ servers: server.url, partitions: 1, ...names });
    try {
      await server.stop();
      await server.start();
      await expect.poll(() => writer.append([batch(0, ['x'])]).then(() => true, () => false), { timeout: 10_000, interval: 200 }).toBe(true);
      let woken = 0;
      reader.onAppend(() => woken++);
      await writer.append([batch(0, ['y'])]);
      await expect.poll(() => woken, { timeout: 5000 }).toBeGreaterThan(0);
      expect(ids(await reader.read(0, 0, 10))).toEqual([['x'], ['y']]);
    } finally {
      await writer.close();
      await reader.close();
    }
  });

  it('a listener hears of an append made by another process, which it can then read', async () => {
    const names = uniqueStream('process');
    const log = await NatsLog.open({ servers: server.url, partitions: 1, ...names });
    try {
      let woken = 0;
      log.onAppend(() => woken++);
      const child = new URL('./test-append-process.ts', import.meta.url).pathname;
      await promisify(execFile)(process.execPath, ['--import', 'tsx', child, server.url, names.stream, names.subjectPrefix, 'from-child'], { timeout: 60_000 });
      await expect.poll(() => woken, { timeout: 5000 }).toBeGreaterThan(0);
      expect(ids(await log.read(0, 0, 10))).toEqual([['from-child']]);
    } finally {
      await log.close();
    }
  }, 90_000);

  it("erasure leaves none of the forgotten messages' bytes in the server's files", async () => {
    const log = await NatsLog.open({ servers: server.url, partitions: 1, ...uniqueStream('erase') });
    try {
      for (let i = 0; i < 30; i++) {
        await log.append([batch(0, [`bob-${i}`], () => ({ pad: 'x'.repeat(300) }))]);
        // The person's message shares its batch with someone else's, which must stay.
        if (i % 5 === 0) await log.append([batch(0, [`mid-hopper-${i}`, `bob-shared-${i}`], (id) => (id.startsWith('mid-hopper') ? { email: 'grace.hopper@example.com' } : { email: 'bob@example.com' }))]);
      }
      const removed = await log.forget('w1', Array.from({ length: 30 }, (_, i) => `mid-hopper-${i}`));
      expect(removed).toBe(6);
      const records = await log.read(0, 0, 100);
      expect(records).toHaveLength(36);
      expect(ids(records).flat().filter((id) => id.startsWith('mid-hopper'))).toEqual([]);
      expect(ids(records).flat().filter((id) => id.startsWith('bob-shared'))).toHaveLength(6);
    } finally {
      await log.close();
    }
    // Stopped, so that whatever the server holds in memory has reached its files.
    await server.stop();
    try {
      const all = Buffer.concat(filesUnder(server.storeDir).map((f) => readFileSync(f)));
      expect(all.includes('bob-29')).toBe(true);
      expect(all.includes('bob-shared-25')).toBe(true);
      expect(all.includes('bob@example.com')).toBe(true);
      for (const needle of ['mid-hopper-', 'grace.hopper@example.com', 'user-mid-hopper']) expect(all.includes(needle), `${needle} in ${server.storeDir}`).toBe(false);
    } finally {
      await server.start();
    }
  });

  it('refuses a batch for a partition the log does not have, and stores nothing of that append', async () => {
    const log = await NatsLog.open({ servers: server.url, partitions: 2, ...uniqueStream('range') });
    try {
      const error = await log.append([batch(0, ['x']), batch(2, ['y'])]).catch((e: unknown) => e);
      expect((error as Error).message).toMatch(/partition 2 does not exist/);
      expect(error).not.toBeInstanceOf(TandemError);
      expect(await log.read(0, 0, 10)).toEqual([]);
    } finally {
      await log.close();
    }
  });
});
