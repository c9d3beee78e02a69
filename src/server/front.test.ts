import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../core/config.js';
import { startFront, type Front } from './front.js';

const TOKEN = 'front-test-token';

describe('tandem start with a front and a core thread', () => {
  let dir: string;
  let front: Front;
  const admin = (path: string, init: RequestInit & { json?: unknown } = {}) =>
    fetch(`${front.url}/api/v1${path}`, {
      ...init,
      headers: { authorization: `Bearer ${TOKEN}`, ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
    });
  const collect = (key: string, path: string, body: unknown) =>
    fetch(`${front.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` }, body: JSON.stringify(body) });
  const until = async <T>(read: () => Promise<T | undefined>, what: string): Promise<T> => {
    for (let i = 0; i < 200; i++) {
      const value = await read();
      if (value !== undefined) return value;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}`);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-front-'));
    front = await startFront(parseConfig({ dataDir: dir, port: 0, logLevel: 'silent', storage: { sync: 'normal' } }), pino({ level: 'silent' }), TOKEN);
  });
  afterAll(async () => {
    await front?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('collects on the front and the core processes what the front appended', async () => {
    const key = front.firstStart.writeKey!;
    const answer = await collect(key, '/v1/track', { userId: 'front-1', event: 'Signed Up', messageId: 'front-m1' });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ accepted: 1 });
    // The core's events stage learns of the front's append and stores the event; the admin API answers through the front.
    const events = await until(async () => {
      const body = (await (await admin('/events?messageId=front-m1')).json()) as { data: unknown[] };
      return body.data.length ? body.data : undefined;
    }, 'the event to be stored');
    expect(events[0]).toMatchObject({ message: { userId: 'front-1', event: 'Signed Up' } });
    const profile = await until(async () => {
      const r = await admin('/profiles/lookup?type=user_id&value=front-1');
      return r.status === 200 ? ((await r.json()) as { traits: unknown }) : undefined;
    }, 'the profile');
    expect(profile).toBeDefined();
  });

  it('reports per-message problems the same way for a small batch (checked on the loop) and a large one (on a collect thread)', async () => {
    const key = front.firstStart.writeKey!;
    const batch = (n: number) => ({ batch: [{ type: 'track', userId: 'front-b', event: 'Ok', properties: { pad: 'x'.repeat(100) } }, ...Array.from({ length: n }, (_, i) => ({ type: 'track', userId: `front-b${i}`, event: 'Ok' })), { type: 'track', event: 'No one' }] });
    const small = await collect(key, '/v1/batch', batch(1));
    const large = await collect(key, '/v1/batch', batch(200));
    expect(JSON.stringify(batch(200)).length).toBeGreaterThan(8192);
    const [s, l] = [(await small.json()) as { accepted: number; errors: { index: number; code: string; path: string }[] }, (await large.json()) as { accepted: number; errors: { index: number; code: string; path: string }[] }];
    expect(s.accepted).toBe(2);
    expect(l.accepted).toBe(201);
    expect(s.errors).toHaveLength(1);
    expect(l.errors).toHaveLength(1);
    expect(l.errors[0]).toMatchObject({ code: s.errors[0].code, path: s.errors[0].path.replace("batch[2]", "batch[201]") });
    expect([s.errors[0].index, l.errors[0].index]).toEqual([2, 201]);
  });

  it('answers one /metrics for the process with the front and core counters, each family once', async () => {
    const text = await until(async () => {
      const t = await (await fetch(`${front.url}/metrics`)).text();
      return /tandem_events_stored_total \d/.test(t) && !/tandem_events_stored_total 0\b/.test(t) ? t : undefined;
    }, 'stored events in the metrics');
    expect(text).toMatch(/tandem_collect_accepted_total\{source="default"\} [1-9]/);
    for (const family of ['tandem_collect_accepted_total', 'tandem_events_stored_total', 'tandem_http_request_duration_seconds']) {
      expect(text.split('\n').filter((l) => l === `# TYPE ${family} ${family.endsWith('seconds') ? 'histogram' : 'counter'}`)).toHaveLength(1);
    }
  });

  it('a source created through the admin API can write at the front at once, and a blocking tracking plan applies there', async () => {
    const created = await admin('/sources', { method: 'POST', json: { key: 'shop', name: 'Shop' } });
    expect(created.status).toBe(201);
    const { writeKey } = (await created.json()) as { writeKey: string };
    expect((await collect(writeKey, '/v1/track', { userId: 'front-2', event: 'Anything' })).status).toBe(200);

    const plan = await admin('/tracking-plans', { method: 'POST', json: { key: 'strict', events: { 'Order Completed': { type: 'object', properties: { revenue: { type: 'number' } }, required: ['revenue'] } } } });
    expect(plan.status, await plan.clone().text()).toBeLessThan(300);
    const patched = await admin('/sources/shop', { method: 'PUT', json: { key: 'shop', name: 'Shop', trackingPlan: 'strict', mode: 'block' } });
    expect(patched.status, await patched.clone().text()).toBe(200);
    const blocked = await collect(writeKey, '/v1/track', { userId: 'front-2', event: 'Order Completed', properties: {} });
    expect(await blocked.json()).toMatchObject({ accepted: 0, quarantined: 1 });
  });

  it('streams server-sent events from the core through the front', async () => {
    const controller = new AbortController();
    const stream = await fetch(`${front.url}/api/v1/events/stream`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: controller.signal });
    expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = stream.body!.getReader();
    await collect(front.firstStart.writeKey!, '/v1/track', { userId: 'front-3', event: 'Streamed', messageId: 'front-stream-1' });
    let seen = '';
    while (!seen.includes('front-stream-1')) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += Buffer.from(value).toString('utf8');
    }
    controller.abort();
    expect(seen).toContain('front-stream-1');
  });
});
