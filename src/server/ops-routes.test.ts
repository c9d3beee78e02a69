import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTandem, type Running } from '../../test/harness.js';

describe('operations routes and the event debugger', () => {
  let t: Running;
  beforeEach(async () => {
    t = await startTandem();
  });
  afterEach(async () => t.stop());

  it('serves /healthz, /readyz and Prometheus metrics that count what happened', async () => {
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
    await t.collect('/v1/batch', { batch: [{ type: 'track', userId: 'u', event: 'E', messageId: 'a' }, { type: 'track', userId: 'u' }] });
    await t.collect('/v1/track', { userId: 'u', event: 'E', messageId: 'a' });
    await t.settle();
    const text = await (await fetch(`${t.url}/metrics`)).text();
    expect(text).toMatch(/tandem_collect_received_total\{source="default"\} 3/);
    expect(text).toMatch(/tandem_collect_accepted_total\{source="default"\} 2/);
    expect(text).toMatch(/tandem_collect_rejected_total\{reason="required"\} 1/);
    expect(text).toMatch(/tandem_events_duplicates_total 1/);
    expect(text).toMatch(/tandem_http_request_duration_seconds_bucket\{.*route="\/v1\/batch"/);
  });

  it('accepts gzip bodies', async () => {
    const body = gzipSync(JSON.stringify({ batch: [{ type: 'track', userId: 'u', event: 'Zipped', messageId: 'z1' }] }));
    const res = await t.collect('/v1/batch', body, { 'content-encoding': 'gzip' });
    expect(res.status).toBe(200);
    await t.settle();
    const events = await (await t.admin('/events?event=Zipped')).json();
    expect(events.data.map((e: { message: { messageId: string } }) => e.message.messageId)).toEqual(['z1']);
  });

  it('answers CORS preflight for browser SDKs', async () => {
    const res = await fetch(`${t.url}/v1/batch`, { method: 'OPTIONS', headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' } });
    expect(res.status).toBeLessThan(300);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://shop.example');
  });

  it('lists events newest first with filters and paging, and streams new events as server-sent events', async () => {
    await t.collect('/v1/batch', {
      batch: [
        { type: 'track', userId: 'u', event: 'A', messageId: 'e1' },
        { type: 'page', userId: 'u', name: 'Home', messageId: 'e2' },
        { type: 'track', userId: 'u', event: 'B', messageId: 'e3' },
      ],
    });
    await t.settle();
    const ids = (page: { data: { message: { messageId: string } }[] }) => page.data.map((e) => e.message.messageId);
    const all = await (await t.admin('/events')).json();
    expect(ids(all)).toEqual(['e3', 'e2', 'e1']);
    expect(ids(await (await t.admin('/events?type=track')).json())).toEqual(['e3', 'e1']);
    expect(ids(await (await t.admin('/events?event=A')).json())).toEqual(['e1']);
    const first = await (await t.admin('/events?limit=2')).json();
    expect(ids(first)).toEqual(['e3', 'e2']);
    expect(ids(await (await t.admin(`/events?limit=2&before=${first.next}`)).json())).toEqual(['e1']);

    const controller = new AbortController();
    const stream = await t.admin('/events/stream?event=Live', { signal: controller.signal });
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    const reader = stream.body!.getReader();
    await t.collect('/v1/batch', { batch: [{ type: 'track', userId: 'u', event: 'Other' }, { type: 'track', userId: 'u', event: 'Live', messageId: 'live-1' }] });
    let text = '';
    while (!text.includes('live-1')) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    expect(text).toContain('event: event');
    expect(text).not.toContain('"Other"');
  });
});
