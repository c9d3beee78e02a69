import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTandem, type Running } from '../../test/harness.js';
import { formatSummary, runDemo, type DemoOptions } from './command.js';
import { generateHistory, type DemoMessage } from './generate.js';
import { sendMessages } from './send.js';

/** A port that nothing listens on: bound once, then released. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const NOW = Date.parse('2026-03-15T12:00:00.000Z');

interface StoredView {
  id: number;
  source: string;
  message: { type: string; event?: string; messageId: string; timestamp: string; userId?: string };
}

/** Every stored event of a source, following the `next` cursor of GET /api/v1/events. */
async function storedEvents(t: Running, source: string): Promise<StoredView[]> {
  const out: StoredView[] = [];
  let before: number | undefined;
  for (;;) {
    const res = await t.admin(`/events?source=${source}&limit=1000${before !== undefined ? `&before=${before}` : ''}`);
    expect(res.status).toBe(200);
    const page = (await res.json()) as { data: StoredView[]; next?: number };
    out.push(...page.data);
    if (page.next === undefined) return out;
    before = page.next;
  }
}

function countsOf(messages: { type: string; event?: string }[]) {
  const byType: Record<string, number> = {};
  const byEvent: Record<string, number> = {};
  for (const m of messages) {
    byType[m.type] = (byType[m.type] ?? 0) + 1;
    if (m.type === 'track') byEvent[m.event!] = (byEvent[m.event!] ?? 0) + 1;
  }
  return { byType, byEvent };
}

const quiet = { now: NOW, note: () => {}, progress: false };

describe('tandem demo against a running Tandem', () => {
  let t: Running;
  beforeAll(async () => {
    t = await startTandem();
  });
  afterAll(async () => t.stop());

  it('stores exactly the generated history, with its historical timestamps', async () => {
    const options = { profiles: 50, days: 30, seed: 7, now: NOW };
    const expected = [...generateHistory(options)];
    // Small batches so that the run takes several requests, some in parallel.
    const result = await sendMessages(generateHistory(options), { url: t.url, writeKey: t.writeKey, batchMessages: 200, concurrency: 3 });
    expect(result).toMatchObject({ sent: expected.length, accepted: expected.length, refused: 0, failedRequests: 0 });
    expect(result.requests).toBe(Math.ceil(expected.length / 200));

    await t.settle();
    const stored = await storedEvents(t, 'default');
    expect(stored).toHaveLength(expected.length);
    expect(countsOf(stored.map((e) => e.message))).toEqual(countsOf(expected));

    const byId = new Map(stored.map((e) => [e.message.messageId, e.message]));
    for (const m of expected) {
      const s = byId.get(m.messageId);
      expect(s, m.messageId).toBeDefined();
      expect(s!.timestamp).toBe(m.timestamp);
      expect(s!.userId).toBe(m.userId);
    }
    const order = expected.find((m): m is Extract<DemoMessage, { type: 'track' }> => m.type === 'track' && m.event === 'Order Completed')!;
    const [event] = (await (await t.admin(`/events?messageId=${order.messageId}`)).json()).data;
    expect(event.message.properties).toEqual(order.properties);
  });

  it('creates the source demo with the admin token, and explains what to do when it exists', async () => {
    const opts: DemoOptions = { profiles: 5, days: 7, seed: 1, url: t.url, adminToken: ADMIN_TOKEN, concurrency: 2 };
    const summary = await runDemo(opts, quiet);
    expect(summary.createdWriteKey).toMatch(/^wk_/);
    expect(summary.send.accepted).toBe(summary.messages);
    expect(summary.messages).toBe([...generateHistory({ profiles: 5, days: 7, seed: 1, now: NOW })].length);
    const text = formatSummary(summary);
    expect(text).toContain('5 profiles over 7 days (seed 1)');
    expect(text).toContain('Product Viewed');

    await t.settle();
    const stored = await storedEvents(t, 'demo');
    expect(stored).toHaveLength(summary.messages);
    expect(countsOf(stored.map((e) => e.message))).toEqual({ byType: summary.byType, byEvent: summary.byEvent });

    await expect(runDemo(opts, quiet)).rejects.toThrow(/source 'demo' already exists.*--write-key/);
    const again = await runDemo({ ...opts, adminToken: undefined, writeKey: summary.createdWriteKey, seed: 2 }, quiet);
    expect(again.send.accepted).toBe(again.messages);
  });

  it('fails with clear messages: no write key, a wrong write key, a wrong admin token, nothing listening', async () => {
    const base: DemoOptions = { profiles: 3, days: 7, seed: 1, url: t.url, concurrency: 2 };
    await expect(runDemo(base, quiet)).rejects.toThrow(/no write key: pass --write-key/);
    await expect(runDemo({ ...base, writeKey: 'wk_wrong' }, quiet)).rejects.toThrow(/refused the write key \(HTTP 401\): the write key is not valid/);
    await expect(runDemo({ ...base, adminToken: 'nope' }, quiet)).rejects.toThrow(/admin token was refused \(HTTP 401\)/);
    const closed = await freePort();
    await expect(runDemo({ ...base, url: `http://127.0.0.1:${closed}`, writeKey: 'x' }, quiet)).rejects.toThrow(new RegExp(`cannot reach Tandem at http://127.0.0.1:${closed} \\(ECONNREFUSED.*tandem start`));
  });

  it('waits out rate limiting (429 with Retry-After) and loses nothing', async () => {
    const created = await t.admin('/sources', { method: 'POST', json: { key: 'limited', rateLimit: { eventsPerSecond: 400, burst: 400 } } });
    expect(created.status).toBe(201);
    const { writeKey } = (await created.json()) as { writeKey: string };
    const options = { profiles: 20, days: 30, seed: 11, now: NOW };
    const expected = [...generateHistory(options)];
    const result = await sendMessages(expected, { url: t.url, writeKey, batchMessages: 200, concurrency: 4 });
    expect(result.retries).toBeGreaterThan(0);
    expect(result).toMatchObject({ accepted: expected.length, refused: 0, failedRequests: 0 });
    await t.settle();
    expect(await storedEvents(t, 'limited')).toHaveLength(expected.length);
  });

  it('reports refused messages and carries on', async () => {
    const [good, ...rest] = [...generateHistory({ profiles: 2, days: 7, seed: 3, now: NOW })];
    const bad = { ...good, messageId: 'bad-1', timestamp: 'yesterday' } as DemoMessage;
    const problems: string[] = [];
    const result = await sendMessages([bad, good, ...rest], { url: t.url, writeKey: t.writeKey, onProblem: (line) => problems.push(line) });
    expect(result).toMatchObject({ accepted: rest.length + 1, refused: 1, failedRequests: 0 });
    expect(result.problems[0]).toMatchObject({ code: 'invalid_timestamp', messageId: 'bad-1' });
    expect(problems[0]).toContain('batch[0].timestamp');
  });
});
