import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTandem, type Running } from './harness.js';

const VALUE = 'hook-secret-0f3a9c77';

/** A real HTTP sink recording each request's headers and body. */
async function sink() {
  const hits: { headers: IncomingMessage['headers']; body: string }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hits.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { hits, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('stored secrets: sealed at rest, referenced by name, never returned', () => {
  let t: Running;
  let hook: Awaited<ReturnType<typeof sink>>;
  let profileId: string;
  const config = { network: { allowPrivate: ['127.0.0.1/32'] } }; // the sink is on loopback: allow-listed explicitly
  const dataDir = mkdtempSync(join(tmpdir(), 'tandem-secrets-'));
  const message = async (id: string) => (await (await t.admin(`/deliveries/${id}`)).json()) as { status: string; lastError: string | null };

  beforeAll(async () => {
    hook = await sink();
    t = await startTandem({ config, dataDir }); // kept across the restarts below; removed in afterAll
    await t.collect('/v1/identify', { userId: 'ada', traits: { first_name: 'Ada' } });
    await t.settle();
    profileId = ((await (await t.admin('/profiles/lookup?type=user_id&value=ada')).json()) as { id: string }).id;
  });

  afterAll(async () => {
    await t?.stop();
    await hook?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses inline secrets in channels and alert targets, naming the field and the remedy', async () => {
    const channel = await t.admin('/channels', { method: 'POST', json: { key: 'bad', type: 'webhook', settings: { url: hook.url, secret: VALUE } } });
    expect(channel.status).toBe(400);
    expect(((await channel.json()) as { error: unknown }).error).toMatchObject({ code: 'inline_secret', path: 'settings.secret', message: expect.stringContaining('PUT /api/v1/secrets/NAME') });
    await t.admin('/monitors', { method: 'POST', json: { key: 'fresh', type: 'freshness', maxAge: '1h' } });
    const alert = await t.admin('/alerts', { method: 'POST', json: { key: 'a', monitor: 'fresh', notify: [{ pagerduty: { routingKey: 'R0123456789abcdef' } }] } });
    expect(alert.status).toBe(400);
    expect(((await alert.json()) as { error: unknown }).error).toMatchObject({ code: 'inline_secret', path: 'notify[0].pagerduty.routingKey' });
  });

  it('signs webhooks with a stored secret, and the value is nowhere in the data directory', async () => {
    const put = await t.admin('/secrets/crm-hook', { method: 'PUT', json: { value: VALUE } });
    expect(put.status, await put.clone().text()).toBe(200);
    const listed = await (await t.admin('/secrets')).text();
    expect(listed).toContain('crm-hook');
    expect(listed).not.toContain(VALUE);
    const created = await t.admin('/channels', { method: 'POST', json: { key: 'crm', type: 'webhook', settings: { url: hook.url, secret: { secret: 'crm-hook' } } } });
    expect(created.status, await created.clone().text()).toBe(201);
    const res = await t.admin('/deliveries', { method: 'POST', json: { profileId, channel: 'crm', payload: { n: 1 }, idempotencyKey: 'crm:1' } });
    expect(res.status).toBe(201);
    await t.app.delivery.dispatcher.drain();
    expect(hook.hits).toHaveLength(1);
    expect(hook.hits[0].headers['x-tandem-signature']).toBe(`sha256=${createHmac('sha256', VALUE).update(hook.hits[0].body).digest('hex')}`);

    // Every byte Tandem keeps on disk (SQLite files and their WALs, the log, the warehouse): no plaintext value.
    for (const name of readdirSync(t.dataDir)) {
      if (name === 'master.key') continue;
      const path = join(t.dataDir, name);
      try {
        expect(readFileSync(path).includes(Buffer.from(VALUE)), name).toBe(false);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EISDIR') throw error;
      }
    }
    const audit = await (await t.admin('/audit')).text();
    expect(audit).toContain('secret:crm-hook');
    expect(audit).not.toContain(VALUE);
  });

  it('is admin-only: an editor can neither list nor set secrets', async () => {
    expect((await t.admin('/users', { method: 'POST', json: { name: 'ed', password: 'editor-pass-1', role: 'editor' } })).status).toBe(201);
    const session = (await (await fetch(`${t.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'ed', password: 'editor-pass-1' }) })).json()) as { token: string };
    const asEditor = (method: string, body?: unknown) => fetch(`${t.url}/api/v1/secrets${body ? '/x' : ''}`, { method, headers: { authorization: `Bearer ${session.token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    expect((await asEditor('GET')).status).toBe(403);
    expect((await asEditor('PUT', { value: 'v' })).status).toBe(403);
  });

  it('after a restart under another master key, a send fails with a reason that names the key, and nothing is leaked', async () => {
    await t.stop();
    process.env.TANDEM_MASTER_KEY = 'c'.repeat(64);
    try {
      t = await startTandem({ config, dataDir });
      const res = await t.admin('/deliveries', { method: 'POST', json: { profileId, channel: 'crm', payload: { n: 2 }, idempotencyKey: 'crm:2' } });
      expect(res.status, await res.clone().text()).toBe(201);
      const id = ((await res.json()) as { id: string }).id;
      await t.app.delivery.dispatcher.drain();
      expect(hook.hits).toHaveLength(1);
      const m = await message(id);
      expect(m.lastError).toMatch(/secret 'crm-hook' was sealed under master key [0-9a-f]{16}, but the master key from TANDEM_MASTER_KEY is [0-9a-f]{16}/);
    } finally {
      delete process.env.TANDEM_MASTER_KEY;
    }
    // Back under the key file it was sealed with, the value opens again.
    await t.stop();
    t = await startTandem({ config, dataDir });
    expect(t.app.secrets.stored('default', 'crm-hook')).toBe(VALUE);
  });
});
