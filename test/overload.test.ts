// Overload (docs/reliability.md, "Overload"): a burst over a write key's limit and a pipeline that falls behind its
// bound. Excess requests are refused with 429 (rate limit) or 503 (backlog), each with Retry-After and, for the rate
// limit, the RateLimit headers; everything acknowledged with a 2xx is stored, nothing refused is; collection admits
// again once the bucket refills or the backlog drains. The expected numbers are the token-bucket arithmetic worked by
// hand in the comments. The figures under real load (memory, throughput at twice the sustainable rate) come from
// `npm run bench -- overload`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/core/clock.js';
import type { AcceptBatch } from '../src/core/ports/store.js';
import { startTandem, type Running } from './harness.js';

let t: Running;
const clock = new ManualClock(Date.parse('2026-03-02T10:00:00Z'));

beforeAll(async () => {
  t = await startTandem({
    clock,
    // 50 events/s with a bucket of 100 per write key; at most 3 unprocessed log records before collection pushes back.
    config: { collect: { threads: 0, rateLimit: { eventsPerSecond: 50, burst: 100 }, maxBacklog: 3 } },
  });
}, 120_000);
afterAll(async () => t?.stop());

const batchOf = (prefix: string, n: number) => ({ batch: Array.from({ length: 10 }, (_, i) => ({ type: 'track', userId: `u${n}`, event: 'Overload', messageId: `${prefix}-${n}-${i}` })) });

/** Stored messageIds with a prefix, once the pipeline has caught up. */
async function stored(prefix: string): Promise<string[]> {
  await t.settle();
  const body = (await (await t.admin('/events?event=Overload&limit=1000')).json()) as { data: { message: { messageId: string } }[] };
  return body.data.map((e) => e.message.messageId).filter((id) => id.startsWith(`${prefix}-`)).sort();
}

describe('overload', () => {
  it('a burst over the write key\'s limit: 429 with Retry-After and RateLimit headers, exactly the acknowledged events stored, admitted again after the refill', async () => {
    // 20 batches of 10 events at once: the bucket of 100 admits 10 batches, refuses 10.
    const answers = await Promise.all(Array.from({ length: 20 }, (_, n) => t.collect('/v1/batch', batchOf('burst', n))));
    const acked = answers.flatMap((res, n) => (res.status === 200 ? batchOf('burst', n).batch.map((m) => m.messageId) : []));
    const refused = answers.filter((res) => res.status !== 200);
    expect(answers.filter((res) => res.status === 200)).toHaveLength(10);
    expect(refused).toHaveLength(10);
    for (const res of refused) {
      // 0 tokens left; 10 tokens take 10/50 s -> Retry-After 1 (rounded up); full again after 100/50 s -> Reset 2.
      expect({ status: res.status, retryAfter: res.headers.get('retry-after'), limit: res.headers.get('ratelimit-limit'), remaining: res.headers.get('ratelimit-remaining'), reset: res.headers.get('ratelimit-reset') })
        .toEqual({ status: 429, retryAfter: '1', limit: '100', remaining: '0', reset: '2' });
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
    }
    // Admitted requests carry the headers too: the last admitted one left 0 tokens.
    expect(answers.find((res) => res.status === 200)!.headers.get('ratelimit-limit')).toBe('100');

    // Recovery: Retry-After (1 s) later the bucket holds 50 tokens: 5 more batches, the 6th refused. The pipeline
    // first takes in the burst, so that the backlog bound (maxBacklog 3, the next test's subject) does not answer.
    await t.app.events.drain();
    clock.advance(1000);
    const again: Response[] = [];
    for (let n = 20; n < 26; n++) again.push(await t.collect('/v1/batch', batchOf('burst', n)));
    expect(again.map((res) => res.status)).toEqual([200, 200, 200, 200, 200, 429]);
    for (let n = 20; n < 25; n++) acked.push(...batchOf('burst', n).batch.map((m) => m.messageId));

    // Nothing acknowledged lost, nothing refused stored.
    expect(await stored('burst')).toEqual(acked.sort());
  });

  it('a pipeline behind its bound (collect.maxBacklog): 503 with Retry-After, nothing refused stored; admitted again once the backlog drains', async () => {
    clock.advance(10_000); // a full bucket again
    // Hold the events stage (the first stage after the log) as a slow pipeline would: the log grows behind it.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    t.app.events.transformWith((batches: AcceptBatch[]) => gate.then(() => batches));
    const answers: number[] = [];
    const acked: string[] = [];
    for (let n = 0; n < 7; n++) {
      clock.advance(300); // past the guard's 250 ms measurement cache: each request sees the backlog as it is
      const res = await t.collect('/v1/batch', batchOf('backlog', n));
      answers.push(res.status);
      if (res.status === 200) acked.push(...batchOf('backlog', n).batch.map((m) => m.messageId));
      else {
        expect(res.headers.get('retry-after')).toBe('1');
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('backlogged');
      }
    }
    // Each admitted request is one log record. The first is read by the held stage (it is waiting in the gate with
    // it, offset not committed), so records 1-4 are admitted with a backlog of 0-3; the 5th sees 4 > 3.
    expect(answers).toEqual([200, 200, 200, 200, 503, 503, 503]);

    // The pipeline catches up: collection admits again.
    release();
    await t.settle();
    clock.advance(300);
    const after = await t.collect('/v1/batch', batchOf('backlog', 7));
    expect(after.status).toBe(200);
    acked.push(...batchOf('backlog', 7).batch.map((m) => m.messageId));
    expect(await stored('backlog')).toEqual(acked.sort());
  });
});
