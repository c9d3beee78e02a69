// Rate limits per client address (docs/reliability.md): collection and sign-in answer 429 with Retry-After and the
// RateLimit headers once an address's token bucket is empty, and admit again as it refills. The expected numbers
// are the token-bucket arithmetic worked by hand in the comments.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/core/clock.js';
import { startTandem, type Running } from './harness.js';

let t: Running;
const clock = new ManualClock(Date.parse('2026-03-01T10:00:00Z'));

beforeAll(async () => {
  t = await startTandem({
    clock,
    config: {
      collect: { threads: 0, ipRateLimit: { perSecond: 2, burst: 3 } },
      network: { signInRateLimit: { perSecond: 0.5, burst: 2 } },
    },
  });
});
afterAll(async () => t?.stop());

const headers = (res: Response) => ({
  status: res.status,
  limit: res.headers.get('ratelimit-limit'),
  remaining: res.headers.get('ratelimit-remaining'),
  reset: res.headers.get('ratelimit-reset'),
  retryAfter: res.headers.get('retry-after'),
});

describe('rate limits per client address', () => {
  it('collection: a full bucket of 3 admits 3 requests, the 4th gets 429; 1 s at 2/s admits 2 more; other write keys share the address\'s bucket', async () => {
    const track = (n: number, headers: Record<string, string> = {}) => t.collect('/v1/track', { userId: `u${n}`, event: 'Tick', messageId: `ip-${n}` }, headers);
    for (let i = 1; i <= 3; i++) expect((await track(i)).status).toBe(200);
    const refused = await track(4);
    // 0 tokens left; 1 token takes 1/2 s -> Retry-After 1; full again after 3/2 s -> Reset 2.
    expect(headers(refused)).toEqual({ status: 429, limit: '3', remaining: '0', reset: '2', retryAfter: '1' });
    expect(((await refused.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'rate_limited', message: expect.stringMatching(/too many collection requests from 127\.0\.0\.1/) });
    // A second source's write key does not escape the address's limit.
    const created = await t.admin('/sources', { method: 'POST', json: { key: 'second', name: 'Second' } });
    const { writeKey } = (await created.json()) as { writeKey: string };
    expect((await track(5, { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` })).status).toBe(429);
    clock.advance(1000); // + 2 tokens
    expect((await track(6)).status).toBe(200);
    expect((await track(7)).status).toBe(200);
    expect((await track(8)).status).toBe(429);
    await t.settle();
    // Exactly the admitted messages were stored: 1, 2, 3, 6, 7.
    const stored = (await (await t.admin('/events?event=Tick&limit=100')).json()) as { data: { message: { messageId: string } }[] };
    expect(stored.data.map((e) => e.message.messageId).sort()).toEqual(['ip-1', 'ip-2', 'ip-3', 'ip-6', 'ip-7']);
  });

  it('sign-in: a bucket of 2 at 0.5/s; the 3rd attempt waits 2 s; the limit is per address (the front\'s X-Forwarded-For entry)', async () => {
    const signIn = (headers: Record<string, string> = {}) =>
      fetch(`${t.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ name: 'nobody', password: 'not-the-password' }) });
    // Reset = (2 - tokens) / 0.5 rounded up: 1 token left -> 2 s, 0 left -> 4 s.
    expect(headers(await signIn())).toEqual({ status: 401, limit: '2', remaining: '1', reset: '2', retryAfter: null });
    expect(headers(await signIn())).toEqual({ status: 401, limit: '2', remaining: '0', reset: '4', retryAfter: null });
    const refused = await signIn();
    expect(headers(refused)).toEqual({ status: 429, limit: '2', remaining: '0', reset: '4', retryAfter: '2' });
    // Another client behind the front (which appends the peer's address to X-Forwarded-For) has its own bucket.
    expect((await signIn({ 'x-forwarded-for': '203.0.113.9' })).status).toBe(401);
    // A client's own X-Forwarded-For is followed by the front's entry: forging the first entry does not help.
    expect((await signIn({ 'x-forwarded-for': '198.51.100.1, 127.0.0.1' })).status).toBe(429);
    clock.advance(2000); // + 1 token
    expect((await signIn()).status).toBe(401);
    expect((await signIn()).status).toBe(429);
  });
});
