import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTandem, type Running } from './harness.js';

// Governance hooks end to end (docs/metadata.md): personal data classified in the dictionary does not reach
// webhook and Slack channels unless the entry allows it, and a viewer's profile export is masked.

const EMAIL = 'Gina.Rossi@example.org';
const PHONE = '+33612345678';
const STREET = '12 rue des Lilas';

/** A real HTTP sink that records request bodies by path. */
async function sink() {
  const hits: { path: string; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hits.push({ path: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { hits, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

let t: Running;
let hooks: Awaited<ReturnType<typeof sink>>;
let gina: string;
let n = 0;

async function send(channel: string, template: string | undefined, payload: Record<string, unknown>, path = `/${channel}`) {
  const before = hooks.hits.filter((h) => h.path === path).length;
  const res = await t.admin('/deliveries', { method: 'POST', json: { profileId: gina, channel, ...(template ? { template } : {}), payload, idempotencyKey: `gov-${++n}` } });
  expect(res.status, await res.clone().text()).toBe(201);
  await t.app.delivery.dispatcher.drain();
  const hits = hooks.hits.filter((h) => h.path === path);
  expect(hits.length, `a request reached ${path}`).toBe(before + 1);
  return hits[hits.length - 1].body;
}

const post = async (path: string, json: unknown) => {
  const res = await t.admin(path, { method: 'POST', json });
  expect(res.status, `${path}: ${await res.clone().text()}`).toBe(201);
};

beforeAll(async () => {
  hooks = await sink();
  process.env.TANDEM_TEST_GOV_SLACK = `${hooks.url}/slack`;
  t = await startTandem({ config: { collect: { threads: 0 }, network: { allowPrivate: ['127.0.0.1/32'] } } });
  await t.collect('/v1/identify', { userId: 'gina', traits: { email: EMAIL, phone: PHONE, first_name: 'Gina', plan: 'pro', address: { street: STREET, city: 'Lyon' } }, timestamp: '2026-03-15T10:00:00.000Z' });
  await t.collect('/v1/track', { userId: 'gina', event: 'Newsletter Signed Up', properties: { email: EMAIL, source: 'footer' }, timestamp: '2026-03-15T10:01:00.000Z' });
  await t.settle();
  gina = ((await (await t.admin('/profiles/lookup?type=user_id&value=gina')).json()) as { id: string }).id;

  await post('/dictionary', { key: 'trait.email', trait: 'email', classification: 'pii', piiType: 'email' });
  await post('/dictionary', { key: 'trait.phone', trait: 'phone', classification: 'pii', piiType: 'phone', allow: { channels: ['crm'] } });
  await post('/dictionary', { key: 'trait.street', trait: 'address.street', classification: 'pii', piiType: 'address' });
  await post('/dictionary', { key: 'signup.email', event: 'Newsletter Signed Up', property: 'email', classification: 'pii', piiType: 'email' });

  for (const key of ['hook', 'crm']) await post('/channels', { key, type: 'webhook', settings: { url: `${hooks.url}/${key}` } });
  await post('/channels', { key: 'team', type: 'slack', settings: { webhookUrl: { env: 'TANDEM_TEST_GOV_SLACK' } } });
  await post('/templates', { key: 'dump', channel: 'webhook', body: '{"traits": {{ profile.traits | json }}, "identifiers": {{ profile.identifiers | json }}, "event": {{ event | json }}}' });
  await post('/templates', { key: 'note', channel: 'slack', body: 'New subscriber: {{ profile.traits | json }} ({{ profile.identifiers | json }})' });
});

afterAll(async () => {
  await t?.stop();
  await hooks?.close();
});

const signup = { event: { email: EMAIL, source: 'footer' }, event_name: 'Newsletter Signed Up' };

describe('destinations', () => {
  it('a webhook template that dumps the traits does not receive personal traits, identifiers or event properties', async () => {
    const body = await send('hook', 'dump', signup);
    const sent = JSON.parse(body) as { traits: Record<string, unknown>; identifiers: Record<string, string>; event: Record<string, unknown> };
    expect(sent.traits).toMatchObject({ first_name: 'Gina', plan: 'pro', address: { city: 'Lyon' } });
    expect(sent.traits).not.toHaveProperty('email');
    expect(sent.traits).not.toHaveProperty('phone');
    expect(sent.traits.address).toEqual({ city: 'Lyon' });
    expect(sent.identifiers.user_id).toBe('gina');
    expect(sent.event).toEqual({ source: 'footer' });
    for (const secret of [EMAIL, EMAIL.toLowerCase(), PHONE, STREET]) expect(body).not.toContain(secret);
  });

  it('a channel the entry allows receives that trait, and only that one', async () => {
    const sent = JSON.parse(await send('crm', 'dump', signup)) as { traits: Record<string, unknown> };
    expect(sent.traits.phone).toBe(PHONE);
    expect(sent.traits).not.toHaveProperty('email');
  });

  it('a webhook without a template sends the payload without personal event properties', async () => {
    const sent = JSON.parse(await send('hook', undefined, signup)) as { payload: Record<string, unknown> };
    expect(sent.payload).toEqual({ event: { source: 'footer' }, event_name: 'Newsletter Signed Up' });
  });

  it('a Slack message rendered from the profile leaves personal data out', async () => {
    const { text } = JSON.parse(await send('team', 'note', signup, '/slack')) as { text: string };
    expect(text).toContain('"first_name":"Gina"');
    for (const secret of [EMAIL, EMAIL.toLowerCase(), PHONE, STREET]) expect(text).not.toContain(secret);
  });

  it('allow.exports lets a trait go everywhere; the admin API still shows the value', async () => {
    const res = await t.admin('/dictionary/trait.email', { method: 'PUT', json: { key: 'trait.email', trait: 'email', classification: 'pii', piiType: 'email', allow: { exports: true } } });
    expect(res.status, await res.clone().text()).toBe(200);
    const sent = JSON.parse(await send('hook', 'dump', signup)) as { traits: Record<string, unknown> };
    expect(sent.traits.email).toBe(EMAIL);
    expect(sent.traits).not.toHaveProperty('phone');
    const back = await t.admin('/dictionary/trait.email', { method: 'PUT', json: { key: 'trait.email', trait: 'email', classification: 'pii', piiType: 'email' } });
    expect(back.status).toBe(200);
    const again = JSON.parse(await send('hook', 'dump', signup)) as { traits: Record<string, unknown> };
    expect(again.traits).not.toHaveProperty('email');
    const profile = (await (await t.admin(`/profiles/${gina}`)).json()) as { traits: Record<string, unknown> };
    expect(profile.traits.email).toBe(EMAIL);
  });
});

describe('profile export', () => {
  it('is masked for a viewer and complete for an admin', async () => {
    expect((await t.admin('/users', { method: 'POST', json: { name: 'vic', password: 'viewer-password', role: 'viewer' } })).status).toBe(201);
    const login = await fetch(`${t.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'vic', password: 'viewer-password' }) });
    const { token } = (await login.json()) as { token: string };
    const res = await fetch(`${t.url}/api/v1/profiles/${gina}/export`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    for (const secret of [EMAIL, PHONE, STREET]) expect(text).not.toContain(secret);
    const exported = JSON.parse(text) as { profile: { traits: Record<string, unknown> }; traits: { name: string; value: unknown }[]; events: { message: { properties?: Record<string, unknown>; traits?: Record<string, unknown> } }[] };
    expect(exported.profile.traits.email).toBe('G***@***.org');
    expect(exported.profile.traits.phone).toBe('***78');
    expect(exported.profile.traits.first_name).toBe('Gina');
    expect(exported.traits.find((x) => x.name === 'email')?.value).toBe('G***@***.org');
    expect(exported.traits.find((x) => x.name === 'address')?.value).toEqual({ street: '***', city: 'Lyon' });
    const signupEvent = exported.events.find((e) => e.message.properties?.source === 'footer');
    expect(signupEvent?.message.properties?.email).toBe('G***@***.org');

    const admin = await (await t.admin(`/profiles/${gina}/export`)).text();
    expect(admin).toContain(EMAIL);
    expect(admin).toContain(STREET);
  });
});
