import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../core/config.js';
import { startFront, type Front } from '../server/front.js';

// The front thread keeps profiles, catalog rows and identity rules between calls until the core commits anything
// (src/personalize/snapshot.ts). Each case reads the same thing twice first (the second answer comes from what
// was kept), changes it on the core, and asks again: the very next call must see the change.
const TOKEN = 'front-snapshot-token';

describe('/v1/personalize on the front thread: what it keeps between calls', () => {
  let dir: string;
  let front: Front;
  let auth: string;
  const admin = async (path: string, init: { method?: string; json?: unknown } = {}) => {
    const r = await fetch(`${front.url}/api/v1${path}`, {
      method: init.method ?? (init.json !== undefined ? 'POST' : 'GET'),
      headers: { authorization: `Bearer ${TOKEN}`, ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: init.json !== undefined ? JSON.stringify(init.json) : undefined,
    });
    if (r.status >= 300 && r.status !== 404) throw new Error(`${path}: ${r.status} ${await r.text()}`);
    return r;
  };
  const post = async (path: string, body: unknown) => {
    const r = await fetch(`${front.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: JSON.stringify(body) });
    const text = await r.text();
    if (r.status !== 200) throw new Error(`${path}: ${r.status} ${text}`);
    return JSON.parse(text);
  };
  const personalize = (anonymousId: string, decisions: string[] = []) => post('/v1/personalize', { anonymousId, decisions });
  const until = async <T>(read: () => Promise<T | undefined>, what: string): Promise<T> => {
    for (let i = 0; i < 400; i++) {
      const value = await read();
      if (value !== undefined) return value;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}`);
  };
  const profile = async (anonymousId: string) => {
    const r = await admin(`/profiles/lookup?type=anonymous_id&value=${anonymousId}`);
    return r.status === 200 ? ((await r.json()) as { audiences: string[] }) : undefined;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-front-snapshot-'));
    front = await startFront(parseConfig({ dataDir: dir, port: 0, logLevel: 'silent', storage: { sync: 'normal' } }), pino({ level: 'silent' }), TOKEN);
    auth = `Basic ${Buffer.from(`${front.firstStart.writeKey}:`).toString('base64')}`;
    await admin('/audiences', { json: { key: 'buyers', name: 'Buyers', condition: { performed: 'Order Completed', within: '1d' } } });
    await admin('/personalization', { method: 'PUT', json: { audiences: ['buyers'] } });
    await admin('/catalogs', { json: { key: 'products', keyField: 'sku' } });
    await admin('/catalogs/products/rows', { json: [{ sku: 'A', stock: 5 }] });
    const inStock = { catalog: 'products', key_from: { trait: 'offer.attributes.sku' }, where: [{ field: 'stock', gt: 0 }] };
    await admin('/decisions', { json: { key: 'stock', policy: { type: 'rules' }, offers: [{ key: 'a', attributes: { sku: 'A' }, condition: inStock }, { key: 'fallback' }] } });
    await admin('/decisions', { json: { key: 'member', policy: { type: 'rules' }, offers: [{ key: 'vip', condition: { in_audience: 'buyers' } }, { key: 'fallback' }] } });
    await admin('/decisions', { json: { key: 'capped', policy: { type: 'rules' }, cap: { max: 2, within: '1d' }, offers: [{ key: 'x' }, { key: 'fallback' }] } });
    // Two threads load the sources through tsx: over a minute on a loaded shared machine.
  }, 150_000);
  afterAll(async () => {
    await front?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows an audience entered in the fast loop in the very next call, after answers for the same profile', async () => {
    await post('/v1/identify', { anonymousId: 'fs-1', traits: { plan: 'free' } });
    await until(async () => ((await profile('fs-1')) ? true : undefined), 'the profile');
    for (let i = 0; i < 2; i++) expect(await personalize('fs-1', ['member'])).toMatchObject({ known: true, audiences: [], decisions: { member: { offer: { key: 'fallback' } } } });
    await post('/v1/track', { anonymousId: 'fs-1', event: 'Order Completed' });
    await until(async () => ((await profile('fs-1'))?.audiences.includes('buyers') ? true : undefined), 'the membership');
    expect(await personalize('fs-1', ['member'])).toMatchObject({ known: true, audiences: ['buyers'], decisions: { member: { offer: { key: 'vip' } } } });
  });

  it('sees a catalog stock change in the very next call, both ways', async () => {
    for (let i = 0; i < 2; i++) expect((await personalize('fs-2', ['stock'])).decisions.stock.offer.key).toBe('a');
    await admin('/catalogs/products/rows/A', { method: 'PUT', json: { stock: 0 } });
    expect((await personalize('fs-2', ['stock'])).decisions.stock.offer.key).toBe('fallback');
    expect((await personalize('fs-2', ['stock'])).decisions.stock.offer.key).toBe('fallback');
    await admin('/catalogs/products/rows/A', { method: 'PUT', json: { stock: 2 } });
    expect((await personalize('fs-2', ['stock'])).decisions.stock.offer.key).toBe('a');
  });

  it('stops serving an offer in the call after its cap is reached, however close together the calls', async () => {
    const served = await Promise.all([0, 1].map(() => personalize('fs-3', ['capped'])));
    expect(served.map((b) => b.decisions.capped.offer.key)).toEqual(['x', 'x']);
    expect((await personalize('fs-3', ['capped'])).decisions.capped.offer.key).toBe('fallback');
  });

  it('applies a change of what may be exposed in the very next call', async () => {
    await post('/v1/track', { anonymousId: 'fs-4', event: 'Order Completed' });
    await until(async () => ((await profile('fs-4'))?.audiences.includes('buyers') ? true : undefined), 'the membership');
    for (let i = 0; i < 2; i++) expect((await personalize('fs-4')).audiences).toEqual(['buyers']);
    await admin('/personalization', { method: 'PUT', json: { audiences: [] } });
    expect((await personalize('fs-4')).audiences).toEqual([]);
    await admin('/personalization', { method: 'PUT', json: { audiences: ['buyers'] } });
    expect((await personalize('fs-4')).audiences).toEqual(['buyers']);
  });

  it('applies identity rules changed on the core in the very next call', async () => {
    await post('/v1/identify', { userId: 'fs-5-user', traits: { plan: 'pro' } });
    await until(async () => ((await admin('/profiles/lookup?type=user_id&value=fs-5-user')).status === 200 ? true : undefined), 'the profile');
    for (let i = 0; i < 2; i++) expect((await post('/v1/personalize', { userId: 'fs-5-user' })).known).toBe(true);
    // A blocked value is never an identifier: the lookup of it finds no profile.
    await admin('/identity-rules/default', { method: 'PUT', json: { key: 'default', blocked: { values: ['', 'null', 'undefined', 'anonymous', '-1', 'fs-5-user'] } } });
    expect((await post('/v1/personalize', { userId: 'fs-5-user' })).known).toBe(false);
  });
});
