// The SSRF guard end to end (docs/reliability.md): with no allow-list, a channel or alert URL that points at a
// private address is refused on save, and a URL that only shows at send time (behind a secret) fails the message
// without a request reaching the sink.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTandem, type Running } from './harness.js';

let t: Running;
let sink: Server;
let sinkUrl = '';
let hits = 0;

beforeAll(async () => {
  sink = createServer((_req, res) => {
    hits++;
    res.writeHead(200).end('ok');
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
  t = await startTandem({ config: { collect: { threads: 0 } } }); // no network.allowPrivate: loopback is refused
});
afterAll(async () => {
  await t?.stop();
  await new Promise((r) => sink.close(r));
});

const error = async (res: Response) => ({ status: res.status, ...((await res.json()) as { error: { code: string; path?: string; message: string } }).error });

describe('SSRF guard through the API', () => {
  it('refuses on save a webhook channel, an SMS base URL and alert targets that point at private addresses', async () => {
    expect(await error(await t.admin('/channels', { method: 'POST', json: { key: 'h', type: 'webhook', settings: { url: `${sinkUrl}/in` } } }))).toMatchObject({ status: 400, code: 'refused_destination', path: 'settings.url' });
    expect(await error(await t.admin('/channels', { method: 'POST', json: { key: 'm', type: 'webhook', settings: { url: 'http://169.254.169.254/latest/meta-data/' } } }))).toMatchObject({ status: 400, path: 'settings.url', message: expect.stringMatching(/169.254.169.254 is a link-local/) });
    expect(await error(await t.admin('/channels', { method: 'POST', json: { key: 's', type: 'sms', settings: { baseUrl: 'http://[fd00::1]', accountSid: 'AC1', authToken: { env: 'X' }, from: '+15005550006' } } }))).toMatchObject({ status: 400, path: 'settings.baseUrl', message: expect.stringMatching(/unique-local/) });
    await t.admin('/monitors', { method: 'POST', json: { key: 'fresh', type: 'freshness', source: 'default', maxAge: '10m' } });
    expect(await error(await t.admin('/alerts', { method: 'POST', json: { key: 'a', monitor: 'fresh', notify: [{ webhook: { url: 'http://10.0.0.7/hook' } }] } }))).toMatchObject({ status: 400, path: 'notify[0].webhook.url' });
    expect(await error(await t.admin('/alerts', { method: 'POST', json: { key: 'b', monitor: 'fresh', notify: [{ pagerduty: { routingKey: { env: 'PD_KEY' }, url: 'http://localhost:9/x' } }] } }))).toMatchObject({ status: 400, path: 'notify[0].pagerduty.url' });
    // The same check through workspace as code.
    const plan = await t.admin('/workspace/plan', { method: 'POST', json: { documents: [{ kind: 'channels', key: 'h', type: 'webhook', settings: { url: `${sinkUrl}/in` } }] } });
    expect(plan.status).toBe(400);
    expect(JSON.stringify(await plan.json())).toMatch(/settings.url.*loopback/);
    // A public address is accepted.
    expect((await t.admin('/channels', { method: 'POST', json: { key: 'ok', type: 'webhook', settings: { url: 'https://hooks.example.com/in' } } })).status).toBe(201);
    expect(hits).toBe(0);
  });

  it('fails a message whose URL, read from a secret at send time, points at loopback, and never requests it', async () => {
    process.env.TANDEM_TEST_SSRF_SLACK = `${sinkUrl}/services/T/B/X`;
    expect((await t.admin('/channels', { method: 'POST', json: { key: 'ops', type: 'slack', settings: { webhookUrl: { env: 'TANDEM_TEST_SSRF_SLACK' } } } })).status).toBe(201);
    await t.collect('/v1/identify', { userId: 'ada', traits: { name: 'Ada' } });
    await t.settle();
    const ada = ((await (await t.admin('/profiles/lookup?type=user_id&value=ada')).json()) as { id: string }).id;
    const res = await t.admin('/deliveries', { method: 'POST', json: { profileId: ada, channel: 'ops', payload: { text: 'hello' }, idempotencyKey: 'ssrf:1' } });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    await t.app.delivery.dispatcher.drain();
    const m = (await (await t.admin(`/deliveries/${id}`)).json()) as { state: string; status: string; attempts: number; lastError: string };
    expect(m).toMatchObject({ state: 'done', status: 'failed', attempts: 1 });
    expect(m.lastError).toMatch(/refused destination http:\/\/127.0.0.1:\d+: 127.0.0.1 is a loopback address/);
    expect(m.lastError).not.toContain('/services/T/B/X'); // the Slack URL is a credential: not logged
    expect(hits).toBe(0);
  });
});
