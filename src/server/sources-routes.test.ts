import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTandem, type Running } from '../../test/harness.js';

describe('/api/v1/sources', () => {
  let t: Running;
  beforeEach(async () => {
    t = await startTandem();
  });
  afterEach(async () => t.stop());

  const sendWith = (writeKey: string) =>
    fetch(`${t.url}/v1/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` },
      body: JSON.stringify({ userId: 'u1', event: 'E' }),
    });

  it('creates a source whose write key works, lists it masked, and deleting it revokes the key', async () => {
    const created = await t.admin('/sources', { method: 'POST', json: { key: 'web', name: 'Website' } });
    expect(created.status).toBe(201);
    const { writeKey } = await created.json();
    expect(writeKey).toMatch(/^wk_.{20,}/);
    expect((await sendWith(writeKey)).status).toBe(200);

    const list = await (await t.admin('/sources')).json();
    const web = list.data.find((s: { key: string }) => s.key === 'web');
    expect(web.name).toBe('Website');
    expect(web.writeKey).not.toBe(writeKey);
    expect(writeKey.startsWith(web.writeKey.replace('…', ''))).toBe(true);

    expect((await t.admin('/sources/web', { method: 'DELETE' })).status).toBe(204);
    expect((await sendWith(writeKey)).status).toBe(401);
  });

  it('refuses a duplicate key with 409 and a bad key with a 400 naming the field', async () => {
    expect((await t.admin('/sources', { method: 'POST', json: { key: 'default' } })).status).toBe(409);
    const bad = await t.admin('/sources', { method: 'POST', json: { key: 'Not A Key!' } });
    expect(bad.status).toBe(400);
    const body = await bad.json();
    expect(body.error.path).toBe('key');
    expect(body.error.message).toContain('key');
  });

  it('answers 401 without the admin token and records an audit entry for changes', async () => {
    expect((await fetch(`${t.url}/api/v1/sources`)).status).toBe(401);
    expect((await fetch(`${t.url}/api/v1/sources`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    await t.admin('/sources', { method: 'POST', json: { key: 'app' } });
    const audit = await (await t.admin('/audit')).json();
    expect(audit.data[0]).toMatchObject({ action: 'source.create', target: 'app' });
  });

  it('applies a per-source rate limit with 429, Retry-After and RateLimit headers', async () => {
    const { writeKey } = await (await t.admin('/sources', { method: 'POST', json: { key: 'limited', rateLimit: { eventsPerSecond: 1, burst: 2 } } })).json();
    const first = await sendWith(writeKey);
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-limit')).toBe('2');
    expect(first.headers.get('ratelimit-remaining')).toBe('1');
    await sendWith(writeKey);
    const third = await sendWith(writeKey);
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await third.json()).error.code).toBe('rate_limited');
  });
});
