import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/core/config.js';
import { startFront, type Front } from '../src/server/front.js';
import { NatsLog } from '../src/storage/nats/log.js';
import { deleteStream, LocalNatsServer, mustRunNats, natsReachable, SHARED_NATS_URL, uniqueStream } from '../src/storage/nats/test-servers.js';
import { ADMIN_TOKEN, startTandem, type Running } from './harness.js';

/**
 * Tandem with its event log on NATS JetStream (storage.log: nats://...): collection, the pipeline and the admin API
 * behave as with the embedded log, and a NATS server that goes away turns collection into 503 + Retry-After, never
 * a 2xx for data not stored. Skips without NATS, except under CI=true, where it fails.
 */

const USERS = ['ada', 'grace', 'linus'];
/** One /v1/batch: per user an identify with traits and three tracks. */
const traffic = () => ({
  batch: USERS.flatMap((u, i) => [
    { type: 'identify', userId: u, messageId: `${u}-id`, traits: { email: `${u}@example.com`, plan: i % 2 ? 'pro' : 'free', seats: i + 1 } },
    ...[1, 2, 3].map((n) => ({ type: 'track', userId: u, messageId: `${u}-t${n}`, event: 'Viewed', properties: { n } })),
  ]),
});

interface ProfileSummary { traits: Record<string, unknown>; identifiers: { type: string; value: string }[]; events: string[] }

async function summary(admin: (path: string) => Promise<Response>, userId: string): Promise<ProfileSummary | undefined> {
  const found = await admin(`/profiles/lookup?type=user_id&value=${userId}`);
  if (found.status !== 200) return undefined;
  const profile = (await found.json()) as { id: string; traits: Record<string, unknown>; identifiers: { type: string; value: string }[] };
  const events = (await (await admin(`/profiles/${profile.id}/events`)).json()) as { data: { message: { messageId: string } }[] };
  return {
    traits: profile.traits,
    identifiers: profile.identifiers.map((i) => ({ type: i.type, value: i.value })).sort((a, b) => `${a.type}${a.value}`.localeCompare(`${b.type}${b.value}`)),
    events: events.data.map((e) => e.message.messageId).sort(),
  };
}

const reachable = await natsReachable();

describe.skipIf(!mustRunNats(reachable))('tandem start with the NATS log', () => {
  const names = uniqueStream('e2e');
  let dir: string;
  let front: Front;
  let embedded: Running;
  const admin = (path: string) => fetch(`${front.url}/api/v1${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-nats-e2e-'));
    // The threaded start: the front appends to its NatsLog, the core thread reads with its own.
    front = await startFront(parseConfig({ dataDir: dir, port: 0, logLevel: 'silent', storage: { sync: 'normal', log: SHARED_NATS_URL, nats: names }, collect: { partitions: 2 } }), pino({ level: 'silent' }), ADMIN_TOKEN);
    embedded = await startTandem({ config: { collect: { partitions: 2 } } });
  }, 180_000);
  afterAll(async () => {
    await front?.close();
    await embedded?.stop();
    rmSync(dir, { recursive: true, force: true });
    if (reachable) await deleteStream(SHARED_NATS_URL, names.stream);
  }, 60_000);

  it('events sent to /v1/batch become the same profiles as with the embedded log', async () => {
    const key = front.firstStart.writeKey!;
    const answer = await fetch(`${front.url}/v1/batch`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` }, body: JSON.stringify(traffic()) });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ accepted: 12 });
    expect((await embedded.collect('/v1/batch', traffic())).status).toBe(200);
    await embedded.settle();

    for (const user of USERS) {
      const expected = await summary(embedded.admin, user);
      expect(expected?.events).toHaveLength(4);
      await expect.poll(() => summary(admin, user), { timeout: 15_000, interval: 100 }).toEqual(expected);
    }
    // The batches are in the stream, and no embedded log file was made.
    const reader = await NatsLog.open({ servers: SHARED_NATS_URL, partitions: 2, ...names });
    try {
      const entries = (await reader.read(0, 0, 100)).concat(await reader.read(1, 0, 100)).reduce((n, r) => n + r.count, 0);
      expect(entries).toBe(12);
    } finally {
      await reader.close();
    }
    expect(existsSync(join(dir, 'log.db'))).toBe(false);
  }, 60_000);
});

describe.skipIf(!LocalNatsServer.available() && process.env.CI !== 'true')('collection when the NATS server goes away', () => {
  let server: LocalNatsServer;
  let t: Running;
  beforeAll(async () => {
    server = await LocalNatsServer.start();
    t = await startTandem({ config: { storage: { sync: 'normal', log: server.url, nats: { ...uniqueStream('outage') } } } });
  }, 120_000);
  afterAll(async () => {
    await server?.start();
    await t?.stop();
    await server?.destroy();
  }, 60_000);

  it('answers 503 with Retry-After while the log cannot store, and stores again once it is back', async () => {
    const track = (id: string) => t.collect('/v1/track', { userId: 'outage-user', event: 'Viewed', messageId: id });
    expect((await track('before')).status).toBe(200);
    await server.stop();
    // The first request may wait for the acknowledgement until the client notices; none is answered 2xx.
    for (const id of ['during-1', 'during-2', 'during-3']) {
      const refused = await track(id);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('log_unavailable');
    }
    await server.start();
    await expect.poll(async () => (await track('after')).status, { timeout: 15_000, interval: 250 }).toBe(200);
    await t.settle();
    const profile = (await (await t.admin('/profiles/lookup?type=user_id&value=outage-user')).json()) as { id: string };
    const events = (await (await t.admin(`/profiles/${profile.id}/events`)).json()) as { data: { message: { messageId: string } }[] };
    expect(events.data.map((e) => e.message.messageId).sort()).toEqual(['after', 'before']);
  }, 60_000);
});
