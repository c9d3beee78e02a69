import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Log, LogBatch, LogRecord } from '../core/ports/log.js';
import { NatsLog } from './nats/log.js';
import { deleteStream, mustRunNats, natsReachable, SHARED_NATS_URL, uniqueStream } from './nats/test-servers.js';
import { SqliteLog } from './sqlite/log.js';

/**
 * The Log port's contract: every assertion runs against the embedded log (SQLite) and the scale-out log (NATS
 * JetStream at 127.0.0.1:4222, each test on a stream of its own, deleted afterwards). The NATS tests skip when the
 * server does not answer, except under CI=true, where they fail.
 */

const PARTITIONS = 2;
const T0 = Date.UTC(2026, 2, 1, 12);

interface Opened {
  log: Log;
  /** Another log on the same storage: another process's view (a fresh NatsLog; SqliteLog on the same file). */
  another(): Promise<Log>;
  cleanup(): Promise<void>;
  /** Whether an append through one instance runs the other instances' onAppend listeners by itself. */
  wakesOthers: boolean;
}

interface Adapter {
  name: string;
  run: boolean;
  open(): Promise<Opened>;
}

const reachable = await natsReachable();
const adapters: Adapter[] = [
  {
    name: 'sqlite',
    run: true,
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'tandem-log-contract-'));
      const file = join(dir, 'log.db');
      const logs: Log[] = [new SqliteLog(file, PARTITIONS, 'normal')];
      return {
        log: logs[0],
        wakesOthers: false,
        async another() {
          const log = new SqliteLog(file, PARTITIONS, 'normal');
          logs.push(log);
          return log;
        },
        async cleanup() {
          for (const log of logs) await log.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'nats',
    run: mustRunNats(reachable),
    async open() {
      const names = uniqueStream('contract');
      const open = () => NatsLog.open({ servers: SHARED_NATS_URL, partitions: PARTITIONS, ...names });
      const logs: Log[] = [await open()];
      return {
        log: logs[0],
        wakesOthers: true,
        async another() {
          const log = await open();
          logs.push(log);
          return log;
        },
        async cleanup() {
          for (const log of logs) await log.close();
          await deleteStream(SHARED_NATS_URL, names.stream);
        },
      };
    },
  },
];

/** A batch of track messages with these ids; the payload is what collection writes (JSON LogEntry[]). */
const batch = (partition: number, messageIds: string[], over: Partial<LogBatch> = {}): LogBatch => {
  const entries = messageIds.map((messageId) => ({ kind: 'event', message: { type: 'track', messageId, userId: `u-${messageId}`, event: 'Viewed', properties: { note: 'ünïcødé ✓ "quoted"' } }, violations: [] }));
  return { partition, workspaceId: 'w1', sourceId: 's1', receivedAt: T0, count: entries.length, payload: JSON.stringify(entries), ...over };
};
const idsOf = (r: LogRecord) => (JSON.parse(r.payload) as { message: { messageId: string } }[]).map((e) => e.message.messageId);
const ids = (records: LogRecord[]) => records.map(idsOf);
const offsets = (records: LogRecord[]) => records.map((r) => r.offset);
const increasing = (xs: number[]) => xs.every((x, i) => i === 0 || x > xs[i - 1]);

for (const adapter of adapters) {
  describe.skipIf(!adapter.run)(`Log contract: ${adapter.name}`, () => {
    let opened: Opened;
    let log: Log;

    beforeEach(async () => {
      opened = await adapter.open();
      log = opened.log;
    });
    afterEach(async () => opened.cleanup());

    it('reads each partition in append order with strictly increasing offsets, every field as appended', async () => {
      await log.append([batch(0, ['a1', 'a2']), batch(1, ['b1'], { workspaceId: 'w2', sourceId: 's9', receivedAt: T0 + 5 })]);
      await log.append([batch(0, ['a3'], { receivedAt: T0 + 7 })]);
      await log.append([batch(1, ['b2', 'b3', 'b4'])]);
      const p0 = await log.read(0, 0, 100);
      const p1 = await log.read(1, 0, 100);
      expect(ids(p0)).toEqual([['a1', 'a2'], ['a3']]);
      expect(ids(p1)).toEqual([['b1'], ['b2', 'b3', 'b4']]);
      expect(increasing(offsets(p0))).toBe(true);
      expect(increasing(offsets(p1))).toBe(true);
      expect(p0.every((r) => r.offset > 0 && r.partition === 0)).toBe(true);
      const { offset: _o, ...fields } = p1[0];
      expect(fields).toEqual(batch(1, ['b1'], { workspaceId: 'w2', sourceId: 's9', receivedAt: T0 + 5 }));
      expect(p0.map((r) => [r.count, r.receivedAt])).toEqual([[2, T0], [1, T0 + 7]]);
      expect(p0[0].payload).toBe(batch(0, ['a1', 'a2']).payload);
    });

    it('reads after an offset, at most `limit` records, and pages through a partition exactly once', async () => {
      for (let i = 0; i < 7; i++) await log.append([batch(0, [`m${i}`]), batch(1, [`other${i}`])]);
      const all = await log.read(0, 0, 100);
      expect(all).toHaveLength(7);
      expect(ids(await log.read(0, all[2].offset, 100)).flat()).toEqual(['m3', 'm4', 'm5', 'm6']);
      expect(ids(await log.read(0, 0, 3)).flat()).toEqual(['m0', 'm1', 'm2']);
      expect(await log.read(0, all[6].offset, 100)).toEqual([]);
      const paged: string[] = [];
      for (let from = 0; ;) {
        const page = await log.read(0, from, 2);
        expect(page.length).toBeLessThanOrEqual(2);
        if (page.length === 0) break;
        paged.push(...ids(page).flat());
        from = page[page.length - 1].offset;
      }
      expect(paged).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6']);
      // Going back is allowed (a consumer restarting from its committed offset).
      expect(ids(await log.read(0, all[0].offset, 2)).flat()).toEqual(['m1', 'm2']);
    });

    it('a read sees batches appended after the previous read returned nothing', async () => {
      expect(await log.read(0, 0, 10)).toEqual([]);
      await log.append([batch(0, ['late'])]);
      const got = await log.read(0, 0, 10);
      expect(ids(got)).toEqual([['late']]);
      expect(await log.read(0, got[0].offset, 10)).toEqual([]);
      await log.append([batch(0, ['later'])]);
      expect(ids(await log.read(0, got[0].offset, 10))).toEqual([['later']]);
    });

    it('head is 0 for an empty partition and the last offset written otherwise', async () => {
      expect(await log.head(0)).toBe(0);
      expect(await log.head(1)).toBe(0);
      await log.append([batch(0, ['x']), batch(0, ['y'])]);
      const p0 = await log.read(0, 0, 10);
      expect(await log.head(0)).toBe(p0[1].offset);
      expect(await log.head(1)).toBe(0);
      await log.append([batch(1, ['z'])]);
      expect(await log.head(1)).toBe((await log.read(1, 0, 10))[0].offset);
      expect(await log.head(0)).toBe(p0[1].offset);
    });

    it('concurrent appends are all stored, each once, with distinct offsets', async () => {
      await Promise.all(Array.from({ length: 40 }, (_, i) => log.append([batch(i % 2, [`c${i}`])])));
      const records = [...(await log.read(0, 0, 100)), ...(await log.read(1, 0, 100))];
      expect(ids(records).flat().sort()).toEqual(Array.from({ length: 40 }, (_, i) => `c${i}`).sort());
      expect(new Set(offsets(records)).size).toBe(40);
    });

    it('trim deletes only batches at or below the offset that were received before the time, and counts them', async () => {
      // Received times out of offset order, as with several collect nodes.
      const received = [T0, T0 + 1, T0 + 50, T0 + 2, T0 + 3, T0 + 60, T0 + 4];
      for (const [i, receivedAt] of received.entries()) await log.append([batch(0, [`t${i}`], { receivedAt }), batch(1, [`keep${i}`], { receivedAt })]);
      const before = await log.read(0, 0, 100);
      // Up to t5's offset, received before T0 + 10: t0, t1, t3, t4 (not t2 nor t5: too recent; not t6: past the offset).
      expect(await log.trim(0, before[5].offset, T0 + 10)).toBe(4);
      expect(ids(await log.read(0, 0, 100)).flat()).toEqual(['t2', 't5', 't6']);
      expect(await log.read(1, 0, 100)).toHaveLength(7);
      expect(await log.trim(0, before[5].offset, T0 + 10)).toBe(0);
      expect(await log.head(0)).toBe(before[6].offset);
    });

    it('forget removes the messages from their batches, which keep their offsets, other messages and order', async () => {
      await log.append([batch(0, ['a', 'gone', 'b'])]);
      await log.append([batch(0, ['gone'], { workspaceId: 'w2' })]);
      await log.append([batch(0, ['only-gone', 'gone-too'])]);
      await log.append([batch(0, ['c'])]);
      const before = await log.read(0, 0, 100);
      expect(await log.forget('w1', ['gone', 'only-gone', 'gone-too', 'never-logged'])).toBe(3);
      const after = await log.read(0, 0, 100);
      expect(offsets(after)).toEqual(offsets(before));
      expect(ids(after)).toEqual([['a', 'b'], ['gone'], [], ['c']]);
      expect(after.map((r) => r.count)).toEqual([2, 1, 0, 1]);
      expect(after.map((r) => [r.workspaceId, r.sourceId, r.receivedAt])).toEqual(before.map((r) => [r.workspaceId, r.sourceId, r.receivedAt]));
      // A consumer that had passed the batch does not get it again; one that had not gets the rewritten batch.
      expect(ids(await log.read(0, before[0].offset, 100))).toEqual([['gone'], [], ['c']]);
      expect(ids(await log.read(0, 0, 1))).toEqual([['a', 'b']]);
      // Paging in small reads crosses rewritten batches in order.
      const paged: string[][] = [];
      for (let from = 0; ;) {
        const page = await log.read(0, from, 1);
        if (page.length === 0) break;
        paged.push(...ids(page));
        from = page[0].offset;
      }
      expect(paged).toEqual([['a', 'b'], ['gone'], [], ['c']]);
      // A batch already rewritten can be rewritten again.
      expect(await log.forget('w1', ['a'])).toBe(1);
      expect(ids(await log.read(0, 0, 100))).toEqual([['b'], ['gone'], [], ['c']]);
      expect(offsets(await log.read(0, 0, 100))).toEqual(offsets(before));
      expect(await log.forget('w1', [])).toBe(0);
      expect(await log.head(0)).toBe(before[3].offset);
    });

    it('forget of the last batch keeps the head; trim deletes rewritten batches like others', async () => {
      await log.append([batch(0, ['x', 'y'])]);
      await log.append([batch(0, ['z'], { receivedAt: T0 + 100 })]);
      const before = await log.read(0, 0, 10);
      await log.forget('w1', ['z']);
      expect(await log.head(0)).toBe(before[1].offset);
      await log.forget('w1', ['x']);
      expect(await log.trim(0, before[1].offset, T0 + 10)).toBe(1);
      expect(ids(await log.read(0, 0, 10))).toEqual([[]]);
      expect(offsets(await log.read(0, 0, 10))).toEqual([before[1].offset]);
    });

    it('a listener runs after a durable append: the batch is readable when it runs', async () => {
      const seen: number[] = [];
      log.onAppend(() => void log.read(0, 0, 10).then((r) => seen.push(r.length), () => undefined));
      await log.append([batch(0, ['w'])]);
      await expect.poll(() => seen[0]).toBe(1);
      let relayed = 0;
      log.onAppend(() => relayed++);
      log.notifyAppended();
      expect(relayed).toBe(1);
    });

    it('another instance on the same storage reads what this one appended, and hears of it', async () => {
      const other = await opened.another();
      let woken = 0;
      other.onAppend(() => woken++);
      await log.append([batch(1, ['shared'])]);
      expect(ids(await other.read(1, 0, 10))).toEqual([['shared']]);
      // The NATS log tells other processes itself; the embedded one is told by the front thread (notifyAppended).
      if (opened.wakesOthers) await expect.poll(() => woken, { timeout: 3000 }).toBeGreaterThan(0);
      else {
        expect(woken).toBe(0);
        other.notifyAppended();
        expect(woken).toBe(1);
      }
      await log.forget('w1', ['shared']);
      await expect.poll(async () => ids(await other.read(1, 0, 10)), { timeout: 3000 }).toEqual([[]]);
    });

    it('a resolved append survives the instance: a fresh one reads it', async () => {
      await log.append([batch(0, ['durable-1', 'durable-2'])]);
      await log.close();
      const fresh = await opened.another();
      expect(ids(await fresh.read(0, 0, 10))).toEqual([['durable-1', 'durable-2']]);
    });
  });
}
