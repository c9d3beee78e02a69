import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../core/config.js';
import { startFront, type Front } from '../server/front.js';

// POST /v1/personalize answered by the front thread of `tandem start` (src/personalize/front.ts) while the core
// thread runs the pipeline and the admin API: what the core applies or changes is seen by the very next call, and
// the decisions, rewards and models the front makes are written by the core.
const TOKEN = 'front-personalize-token';

describe('/v1/personalize on the front thread', () => {
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
    return { headers: r.headers, body: JSON.parse(text) };
  };
  const until = async <T>(read: () => Promise<T | undefined>, what: string): Promise<T> => {
    for (let i = 0; i < 400; i++) {
      const value = await read();
      if (value !== undefined) return value;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}`);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-front-personalize-'));
    front = await startFront(parseConfig({ dataDir: dir, port: 0, logLevel: 'silent', storage: { sync: 'normal' } }), pino({ level: 'silent' }), TOKEN);
    auth = `Basic ${Buffer.from(`${front.firstStart.writeKey}:`).toString('base64')}`;
    await admin('/audiences', { json: { key: 'buyers', name: 'Buyers', condition: { performed: 'Order Completed', within: '1d' } } });
    await admin('/personalization', { method: 'PUT', json: { audiences: ['buyers'] } });
    // Two threads load the sources through tsx: over a minute on a loaded shared machine.
  }, 150_000);
  afterAll(async () => {
    await front?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows an audience the core applied in the next call, with CORS and no caching', async () => {
    const first = await post('/v1/personalize', { anonymousId: 'fp-1' });
    expect(first.body).toMatchObject({ known: false, audiences: [] });
    expect(first.headers.get('cache-control')).toBe('private, no-store');
    await post('/v1/track', { anonymousId: 'fp-1', event: 'Order Completed' });
    // The moment the core's admin API shows the membership, the front's next answer has it.
    await until(async () => {
      const r = await admin('/profiles/lookup?type=anonymous_id&value=fp-1');
      return r.status === 200 && ((await r.json()) as { audiences: string[] }).audiences.includes('buyers') ? true : undefined;
    }, 'the membership');
    const next = await post('/v1/personalize', { anonymousId: 'fp-1' });
    expect(next.body).toMatchObject({ known: true, audiences: ['buyers'] });
  });

  it('decides with a decision changed on the core in the very next call', async () => {
    await admin('/decisions', { json: { key: 'hero', policy: { type: 'rules' }, offers: [{ key: 'a', content: { title: 'A' } }] } });
    expect((await post('/v1/personalize', { anonymousId: 'fp-2', decisions: ['hero'] })).body.decisions.hero.offer).toEqual({ key: 'a', content: { title: 'A' } });
    await admin('/decisions/hero', { method: 'PUT', json: { key: 'hero', policy: { type: 'rules' }, offers: [{ key: 'b', content: { title: 'B' } }] } });
    expect((await post('/v1/personalize', { anonymousId: 'fp-2', decisions: ['hero'] })).body.decisions.hero.offer).toEqual({ key: 'b', content: { title: 'B' } });
    await admin('/decisions/hero', { method: 'DELETE' });
    const gone = await fetch(`${front.url}/v1/personalize`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: JSON.stringify({ anonymousId: 'fp-2', decisions: ['hero'] }) });
    expect(gone.status).toBe(400);
  });

  it('counts caps across calls faster than the core writes, and the core logs every decision', async () => {
    await admin('/decisions', { json: { key: 'capped', policy: { type: 'rules' }, cap: { max: 2, within: '1d' }, offers: [{ key: 'x' }, { key: 'fallback' }] } });
    const offers: string[] = [];
    for (let i = 0; i < 4; i++) offers.push((await post('/v1/personalize', { anonymousId: 'fp-3', decisions: ['capped'] })).body.decisions.capped.offer.key);
    expect(offers).toEqual(['x', 'x', 'fallback', 'fallback']);
    const log = await until(async () => {
      const data = ((await (await admin('/decisions/capped/log?limit=10')).json()) as { data: { visitor: string; offer: string }[] }).data;
      return data.length === 4 ? data : undefined;
    }, 'the decision log');
    expect(log.map((d) => d.offer).sort()).toEqual(['fallback', 'fallback', 'x', 'x']);
  });

  it('learns from a reward event the core stores: the front gets it and the core records it', async () => {
    await admin('/decisions', { json: { key: 'banner', policy: { type: 'bandit', algorithm: 'linucb', features: [] }, offers: [{ key: 'water' }], reward: { events: [{ event: 'Banner Clicked' }] } } });
    const { body } = await post('/v1/personalize', { anonymousId: 'fp-4', decisions: ['banner'] });
    const id = body.decisions.banner.id as string;
    await post('/v1/track', { anonymousId: 'fp-4', event: 'Banner Clicked', properties: { decision_id: id } });
    const results = await until(async () => {
      const r = (await (await admin('/decisions/banner/results')).json()) as { policy: { rewarded: number } };
      return r.policy.rewarded === 1 ? r : undefined;
    }, 'the reward');
    expect(results).toMatchObject({ policy: { rewarded: 1 } });
    const logged = ((await (await admin('/decisions/banner/log?limit=1')).json()) as { data: { id: string; reward: number; rewardEvent: string }[] }).data[0];
    expect(logged).toMatchObject({ id, reward: 1, rewardEvent: 'Banner Clicked' });
  });
});
