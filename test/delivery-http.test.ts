import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/core/clock.js';
import { startTandem, type Running } from './harness.js';

interface Hit {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A real HTTP sink that records requests and answers with whatever `status()` says at that moment. */
async function sink(status: (hit: Hit, n: number) => number = () => 200, answer = '{}') {
  const hits: Hit[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const hit = { path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      hits.push(hit);
      res.writeHead(status(hit, hits.length), { 'content-type': 'application/json' }).end(answer);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { hits, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const MINUTE = 60_000;

describe('HTTP channels: SMS, webhook, Slack; retries, order and dead letters', () => {
  let tandem: Running;
  const clock = new ManualClock(Date.UTC(2026, 2, 1, 9));
  let ada: string;
  let bob: string;
  const sinks: Awaited<ReturnType<typeof sink>>[] = [];

  const enqueue = async (json: Record<string, unknown>) => {
    const res = await tandem.admin('/deliveries', { method: 'POST', json });
    expect(res.status, await res.clone().text()).toBe(201);
    return ((await res.json()) as { id: string }).id;
  };
  const message = async (id: string) => (await (await tandem.admin(`/deliveries/${id}`)).json()) as { state: string; status: string; attempts: number; lastError: string | null; log: { status: string; detail?: Record<string, unknown> }[] };
  const drain = () => tandem.app.delivery.dispatcher.drain();

  beforeAll(async () => {
    process.env.TANDEM_TEST_TWILIO_TOKEN = 'twilio-token';
    process.env.TANDEM_TEST_HOOK_SECRET = 'hook-secret';
    tandem = await startTandem({ clock, config: { collect: { threads: 0 }, network: { allowPrivate: ['127.0.0.1/32'] } } }); // the sinks are on loopback: allow-listed explicitly
    await tandem.collect('/v1/identify', { userId: 'ada', traits: { first_name: 'Ada', phone: '06 12 34 56 78' } });
    await tandem.collect('/v1/identify', { userId: 'bob', traits: { first_name: 'Bob' } });
    await tandem.settle();
    ada = ((await (await tandem.admin('/profiles/lookup?type=user_id&value=ada')).json()) as { id: string }).id;
    bob = ((await (await tandem.admin('/profiles/lookup?type=user_id&value=bob')).json()) as { id: string }).id;
  });

  afterAll(async () => {
    await tandem?.stop();
    for (const s of sinks) await s.close();
  });

  it('SMS goes out in the Twilio request format', async () => {
    const twilio = await sink(() => 201, JSON.stringify({ sid: 'SM123', status: 'queued' }));
    sinks.push(twilio);
    await tandem.admin('/channels', { method: 'POST', json: { key: 'sms', type: 'sms', settings: { baseUrl: twilio.url, accountSid: 'AC42', authToken: { env: 'TANDEM_TEST_TWILIO_TOKEN' }, from: '+15005550006', defaultRegion: 'FR' } } });
    expect((await tandem.admin('/templates', { method: 'POST', json: { key: 'code', channel: 'sms', body: 'Hi {{ traits.first_name }}, your code is {{ payload.code }}' } })).status).toBe(201);
    const id = await enqueue({ profileId: ada, channel: 'sms', template: 'code', payload: { code: '1234' }, idempotencyKey: 'sms:1' });
    await drain();
    expect(twilio.hits).toHaveLength(1);
    const hit = twilio.hits[0];
    expect(hit.path).toBe('/2010-04-01/Accounts/AC42/Messages.json');
    expect(hit.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(hit.headers.authorization).toBe(`Basic ${Buffer.from('AC42:twilio-token').toString('base64')}`);
    expect(Object.fromEntries(new URLSearchParams(hit.body))).toEqual({ To: '+33612345678', From: '+15005550006', Body: 'Hi Ada, your code is 1234' });
    const m = await message(id);
    expect(m).toMatchObject({ state: 'done', status: 'sent' });
    expect(m.log.find((l) => l.status === 'sent')?.detail).toMatchObject({ providerId: 'SM123' });
  });

  it('webhooks are signed and carry the idempotency key; Slack gets {text}', async () => {
    const hook = await sink();
    const slack = await sink(() => 200, 'ok');
    sinks.push(hook, slack);
    process.env.TANDEM_TEST_SLACK_URL = `${slack.url}/services/T/B/X`;
    await tandem.admin('/channels', { method: 'POST', json: { key: 'crm', type: 'webhook', settings: { url: `${hook.url}/in`, secret: { env: 'TANDEM_TEST_HOOK_SECRET' }, headers: { 'x-team': 'growth' } } } });
    await tandem.admin('/channels', { method: 'POST', json: { key: 'ops', type: 'slack', settings: { webhookUrl: { env: 'TANDEM_TEST_SLACK_URL' } } } });
    const saved = await tandem.admin('/templates', { method: 'POST', json: { key: 'crm-json', channel: 'webhook', body: '{"name": {{ traits.first_name | json }}, "sku": {{ event.sku | json }}, "message": {{ message.id | json }}}' } });
    expect(saved.status, await saved.clone().text()).toBe(201);
    const id = await enqueue({ profileId: ada, channel: 'crm', template: 'crm-json', payload: { event: { sku: 'A"1' } }, idempotencyKey: 'crm:1' });
    await enqueue({ profileId: bob, channel: 'ops', payload: { text: 'Bob is back' }, idempotencyKey: 'ops:1' });
    await drain();

    expect(hook.hits).toHaveLength(1);
    const h = hook.hits[0];
    expect(JSON.parse(h.body)).toEqual({ name: 'Ada', sku: 'A"1', message: id });
    const expected = `sha256=${createHmac('sha256', 'hook-secret').update(h.body).digest('hex')}`;
    expect(h.headers['x-tandem-signature']).toBe(expected);
    expect(h.headers['idempotency-key']).toBe('crm:1');
    expect(h.headers['x-team']).toBe('growth');
    expect(slack.hits.map((x) => JSON.parse(x.body))).toEqual([{ text: 'Bob is back' }]);
    expect(slack.hits[0].path).toBe('/services/T/B/X');
    expect((await message(id)).status).toBe('delivered');
  });

  it('retries with backoff through an outage, keeps one profile\'s order, and delivers after recovery', async () => {
    let down = true;
    const hook = await sink(() => (down ? 503 : 200));
    sinks.push(hook);
    await tandem.admin('/channels', { method: 'POST', json: { key: 'flaky', type: 'webhook', settings: { url: hook.url }, retry: { maxAttempts: 6, base: '1m', max: '10m' } } });
    const first = await enqueue({ profileId: ada, channel: 'flaky', payload: { n: 1 }, idempotencyKey: 'flaky:1' });
    const second = await enqueue({ profileId: ada, channel: 'flaky', payload: { n: 2 }, idempotencyKey: 'flaky:2' });
    const other = await enqueue({ profileId: bob, channel: 'flaky', payload: { n: 3 }, idempotencyKey: 'flaky:3' });
    const order = () => hook.hits.map((x) => (JSON.parse(x.body) as { payload: { n: number } }).payload.n);

    await drain();
    expect(order().sort()).toEqual([1, 3]); // message 2 waits behind message 1 (same profile, same channel)
    let m = await message(first);
    expect(m).toMatchObject({ state: 'pending', status: 'queued', attempts: 1 });
    expect(m.lastError).toContain('HTTP 503');

    clock.advance(20_000); // jitter keeps the first retry within [30s, 60s]
    await drain();
    expect(hook.hits).toHaveLength(2);
    clock.advance(40_000);
    await drain();
    expect(order().sort()).toEqual([1, 1, 3, 3]);
    clock.advance(2 * MINUTE);
    await drain();
    expect(hook.hits).toHaveLength(6);

    down = false;
    clock.advance(4 * MINUTE);
    await drain();
    expect(order().slice(6).sort()).toEqual([1, 2, 3]);
    expect(order().indexOf(2)).toBeGreaterThan(order().lastIndexOf(1)); // 2 only after 1 succeeded
    m = await message(first);
    expect(m).toMatchObject({ state: 'done', status: 'delivered', attempts: 4, lastError: null });
    expect(m.log.map((l) => l.status)).toEqual(['queued', 'attempt_failed', 'attempt_failed', 'attempt_failed', 'sent', 'delivered']);
    expect(m.log[1].detail).toMatchObject({ reason: expect.stringContaining('HTTP 503'), httpStatus: 503 });
    expect((await message(second)).status).toBe('delivered');
    expect((await message(other)).status).toBe('delivered');
    // Every attempt of a message carried the same idempotency key.
    expect(new Set(hook.hits.filter((x) => x.body.includes('"n":1')).map((x) => x.headers['idempotency-key']))).toEqual(new Set(['flaky:1']));
  });

  it('dead-letters after the last attempt, with the reason in the delivery log, the API and a Message Failed event', async () => {
    const hook = await sink(() => 500);
    sinks.push(hook);
    await tandem.admin('/channels', { method: 'POST', json: { key: 'broken', type: 'webhook', settings: { url: hook.url }, retry: { maxAttempts: 3, base: '1m', max: '10m' } } });
    const id = await enqueue({ profileId: bob, channel: 'broken', payload: {}, idempotencyKey: 'broken:1', journey: undefined });
    for (let i = 0; i < 4; i++) {
      await drain();
      clock.advance(10 * MINUTE);
    }
    expect(hook.hits).toHaveLength(3);
    const m = await message(id);
    expect(m).toMatchObject({ state: 'dead', status: 'failed', attempts: 3 });
    expect(m.lastError).toMatch(/^gave up after 3 attempts: HTTP 500/);
    expect(m.log.map((l) => l.status)).toEqual(['queued', 'attempt_failed', 'attempt_failed', 'attempt_failed', 'dead']);

    const failed = (await (await tandem.admin('/deliveries?status=failed&channel=broken')).json()) as { data: { id: string; lastError: string }[] };
    expect(failed.data.map((d) => d.id)).toEqual([id]);
    const dead = (await (await tandem.admin('/deliveries?state=dead')).json()) as { data: { id: string }[] };
    expect(dead.data.map((d) => d.id)).toEqual([id]);
    expect((await (await tandem.admin('/deliveries?status=failed&channel=flaky')).json()) as { data: unknown[] }).toEqual({ data: [] });

    await tandem.settle();
    const events = (await (await tandem.admin(`/profiles/${bob}/events`)).json()) as { data: { message: { event?: string; userId?: string; properties?: Record<string, unknown> } }[] };
    const failedEvent = events.data.find((e) => e.message.event === 'Message Failed');
    expect(failedEvent?.message).toMatchObject({ userId: 'bob', properties: { message_id: id, channel: 'broken', dead_letter: true, attempts: 3 } });

    // An operator can send a dead letter again once the endpoint is fixed.
    const retried = await tandem.admin(`/deliveries/${id}/retry`, { method: 'POST' });
    expect(retried.status).toBe(200);
    expect((await retried.json()) as { state: string }).toMatchObject({ state: 'pending', attempts: 0 });
  });

  it('the same idempotency key enqueues once', async () => {
    const a = await tandem.admin('/deliveries', { method: 'POST', json: { profileId: bob, channel: 'ops', payload: { text: 'x' }, idempotencyKey: 'ops:dup' } });
    const b = await tandem.admin('/deliveries', { method: 'POST', json: { profileId: bob, channel: 'ops', payload: { text: 'y' }, idempotencyKey: 'ops:dup' } });
    expect([a.status, b.status]).toEqual([201, 200]);
    expect(((await b.json()) as { id: string }).id).toBe(((await a.json()) as { id: string }).id);
  });
});
