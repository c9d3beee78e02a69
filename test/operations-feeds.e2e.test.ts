// The journey, delivery and audience feeds of the operations series, end to end through a running Tandem on a
// simulated clock: a real journey, real webhook channels answering from a local node:http sink, a real audience.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/core/clock.js';
import { startTandem, type Running } from './harness.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = Date.UTC(2026, 2, 2, 10); // a Monday, 10:00 UTC

async function sink(status: number) {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      hits.push(body);
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { hits, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('operations feeds: journeys, delivery outcomes and audience sizes reach the series', () => {
  const clock = new ManualClock(T0);
  let t: Running;
  let good: Awaited<ReturnType<typeof sink>>;
  let bad: Awaited<ReturnType<typeof sink>>;
  const ok = async (res: Promise<Response>, status = 201) => {
    const r = await res;
    expect(r.status, await r.clone().text()).toBe(status);
    return r;
  };
  const flush = async () => {
    for (let i = 0; i < 3; i++) {
      await t.settle();
      await t.app.journeys.drain();
      await t.app.delivery.dispatcher.drain();
    }
  };
  const series = async (metric: string, groupBy: string, aggregate = 'count') => {
    const from = new Date(T0 - HOUR).toISOString();
    const to = new Date(clock.now() + MINUTE).toISOString();
    const res = await t.admin(`/metrics/series?metric=${metric}&groupBy=${groupBy}&from=${from}&to=${to}&step=${(clock.now() + MINUTE - (T0 - HOUR)) / MINUTE}m&aggregate=${aggregate}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { series: { labels: Record<string, string>; values: (number | null)[] }[] };
    return Object.fromEntries(body.series.map((s) => [Object.values(s.labels).join('/'), s.values[0]]));
  };

  beforeAll(async () => {
    good = await sink(200);
    bad = await sink(422);
    t = await startTandem({ clock, config: { collect: { threads: 0 }, network: { allowPrivate: ['127.0.0.1/32'] } } });
  });
  afterAll(async () => {
    await t?.stop();
    await good?.close();
    await bad?.close();
  });

  it('counts journey entries, exits and conversions, delivery outcomes per channel, and samples audience sizes', async () => {
    await ok(t.admin('/audiences', { method: 'POST', json: { key: 'buyers', condition: { performed: 'Order Completed' } } }));
    await ok(t.admin('/journeys', { method: 'POST', json: { key: 'onboarding', trigger: { type: 'event', event: 'Signed Up' }, goal: { event: 'Order Completed', within: '3d' }, start: 'wait', nodes: { wait: { type: 'wait', duration: '1h', next: 'done' }, done: { type: 'exit' } } } }));
    await ok(t.admin('/channels', { method: 'POST', json: { key: 'hook-ok', type: 'webhook', settings: { url: good.url } } }));
    await ok(t.admin('/channels', { method: 'POST', json: { key: 'hook-bad', type: 'webhook', settings: { url: bad.url }, retry: { maxAttempts: 1, base: '1m', max: '1m' } } }));
    await t.app.operations.tick();

    const track = (userId: string, event: string) => ok(t.collect('/v1/track', { userId, event, properties: {} }), 200);
    for (const u of ['u1', 'u2', 'u3']) await track(u, 'Signed Up');
    await flush();
    await track('u1', 'Order Completed'); // converts u1 (and makes u1 a buyer)
    await track('u4', 'Order Completed'); // a buyer outside the journey
    await flush();
    const ids: Record<string, string> = {};
    for (const u of ['u1', 'u2', 'u3', 'u4']) ids[u] = ((await (await t.admin(`/profiles/lookup?type=user_id&value=${u}`)).json()) as { id: string }).id;
    const messages: string[] = [];
    for (const [u, channel] of [['u1', 'hook-ok'], ['u2', 'hook-ok'], ['u3', 'hook-bad']] as const) {
      const r = await ok(t.admin('/deliveries', { method: 'POST', json: { profileId: ids[u], channel, payload: { hello: u }, idempotencyKey: `ops:${u}` } }));
      messages.push(((await r.json()) as { id: string }).id);
    }
    await flush();
    clock.set(T0 + HOUR + MINUTE); // the wait ends: u2 and u3 leave the journey
    await flush();
    await t.app.operations.tick();

    // Expected from the scenario: 3 entries; u1 converted (and left with the goal); u2, u3 left after the wait.
    expect(await series('journey', 'kind')).toEqual({ entry: 3, conversion: 1, exit: 3 });

    // Delivery outcomes: the tally of every message's own delivery log (GET /deliveries/<id>), per channel and status.
    const expected: Record<string, number> = {};
    for (const [i, id] of messages.entries()) {
      const log = ((await (await t.admin(`/deliveries/${id}`)).json()) as { log: { status: string }[] }).log;
      for (const l of log) expected[`${i < 2 ? 'hook-ok' : 'hook-bad'}/${l.status}`] = (expected[`${i < 2 ? 'hook-ok' : 'hook-bad'}/${l.status}`] ?? 0) + 1;
    }
    expect(good.hits).toHaveLength(2);
    expect(bad.hits).toHaveLength(1);
    expect(expected['hook-ok/delivered']).toBe(2);
    expect(expected['hook-bad/delivered']).toBeUndefined();
    expect(await series('delivery', 'channel,status')).toEqual(expected);

    // Audience sizes: u1 and u4 completed an order.
    expect(await series('audience_size', 'audience', 'last')).toEqual({ buyers: 2 });

    // A delivery_failure_rate monitor over these outcomes: hook-bad failed 1 of 1 attempts; hook-ok 0 of 2.
    await ok(t.admin('/monitors', { method: 'POST', json: { key: 'fail-rate', type: 'delivery_failure_rate', window: '2h', minCount: 1, threshold: 0.5 } }));
    const verdicts = ((await (await ok(t.admin('/monitors/fail-rate/evaluate', { method: 'POST' }), 200)).json()) as { data: { group: { channel: string }; value: number; alert: boolean }[] }).data;
    const byChannel = Object.fromEntries(verdicts.map((v) => [v.group.channel, v]));
    const rate = (ch: string) => {
      const n = (s: string) => expected[`${ch}/${s}`] ?? 0;
      return (n('attempt_failed') + n('failed') + n('bounced')) / (n('sent') + n('attempt_failed') + n('failed'));
    };
    expect(byChannel['hook-bad']).toMatchObject({ value: rate('hook-bad'), alert: rate('hook-bad') > 0.5 });
    expect(byChannel['hook-bad'].alert).toBe(true);
    expect(byChannel['hook-ok']).toMatchObject({ value: 0, alert: false });

    // An audience_jump monitor: buyers grows from 2 to 5 within the window (+150% > 20%).
    await ok(t.admin('/monitors', { method: 'POST', json: { key: 'buyers-jump', type: 'audience_jump', audience: 'buyers', window: '30m', minCount: 1 } }));
    const sampledAt = clock.now(); // the last tick sampled buyers = 2 in this minute
    clock.advance(MINUTE);
    for (const u of ['u5', 'u6', 'u7']) await track(u, 'Order Completed');
    await flush();
    clock.set(sampledAt + 30 * MINUTE);
    await t.app.operations.tick();
    const jump = ((await (await ok(t.admin('/monitors/buyers-jump/evaluate', { method: 'POST' }), 200)).json()) as { data: { value: number; alert: boolean }[] }).data;
    expect(jump).toHaveLength(1);
    expect(jump[0].value).toBeCloseTo((5 - 2) / 2, 10);
    expect(jump[0].alert).toBe(true);
  });
});
