import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTandem, type Running } from './harness.js';

// Erasure and the log file's raw bytes when the person's messages came in requests of their own: each is a log
// batch of its own, rewritten by the erasure, and no copy of it may survive in the file's free space.
const NEEDLES = ['uid-hopper-4401', 'anon-hopper-2207', 'grace.hopper@example.com', 'mid-hopper-'];

describe('erasure leaves no bytes in the log file', () => {
  let t: Running;
  beforeEach(async () => {
    t = await startTandem();
  });
  afterEach(async () => t.stop());

  it('after separate requests, interleaved with another person', async () => {
    for (let i = 0; i < 40; i++) {
      await t.collect('/v1/track', { userId: 'bob-1', event: 'Viewed', properties: { n: i, pad: 'x'.repeat(300) }, messageId: `bob-${i}` });
      if (i % 4 === 0) {
        await t.collect('/v1/identify', { userId: 'uid-hopper-4401', anonymousId: 'anon-hopper-2207', traits: { email: 'grace.hopper@example.com' }, messageId: `mid-hopper-i${i}` });
        await t.collect('/v1/group', { userId: 'uid-hopper-4401', groupId: 'navy', traits: { name: 'Navy' }, messageId: `mid-hopper-g${i}` });
      }
    }
    await t.settle();
    const ada = (await (await t.admin('/profiles/lookup?type=email&value=grace.hopper%40example.com')).json()).id as string;
    expect((await t.admin(`/profiles/${ada}`, { method: 'DELETE' })).status).toBe(200);
    await t.app.privacy.idle();
    const logFile = join(t.dataDir, 'log.db');
    const db = new Database(logFile);
    try {
      expect((db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[])[0].busy).toBe(0);
    } finally {
      db.close();
    }
    for (const file of [logFile, `${logFile}-wal`]) {
      if (!existsSync(file)) continue;
      const bytes = readFileSync(file);
      for (const needle of NEEDLES) expect(bytes.includes(needle), `${needle} in the bytes of ${file}`).toBe(false);
    }
    expect(readFileSync(logFile).includes('bob-39')).toBe(true);
  });
});
