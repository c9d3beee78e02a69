import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/core/clock.js';
import { startTandem, type Running } from './harness.js';

const MINUTE = 60_000;

/** A local receiver in the PagerDuty Events API v2 format: answers 202 like the real endpoint and keeps the bodies. */
async function pagerDutyReceiver() {
  const received: Record<string, any>[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push(JSON.parse(body));
      res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', message: 'Event processed' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { received, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/enqueue`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** The Events API v2 rules (developer.pagerduty.com/docs/events-api-v2/trigger-events), checked independently of Tandem's builder. */
function checkPagerDutyEvent(e: Record<string, any>) {
  expect(typeof e.routing_key).toBe('string');
  expect(e.routing_key).toHaveLength(32);
  expect(['trigger', 'acknowledge', 'resolve']).toContain(e.event_action);
  expect(typeof e.dedup_key).toBe('string');
  expect(e.dedup_key.length).toBeLessThanOrEqual(255);
  if (e.event_action !== 'trigger') return;
  expect(typeof e.payload.summary).toBe('string');
  expect(e.payload.summary.length).toBeGreaterThan(0);
  expect(e.payload.summary.length).toBeLessThanOrEqual(1024);
  expect(typeof e.payload.source).toBe('string');
  expect(e.payload.source.length).toBeGreaterThan(0);
  expect(['critical', 'error', 'warning', 'info']).toContain(e.payload.severity);
  expect(e.payload.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
  for (const l of e.links ?? []) expect(typeof l.href).toBe('string');
}

describe('operations through a running Tandem on a simulated clock', () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 6, 9, 0, 0));
  let t: Running;
  let pd: Awaited<ReturnType<typeof pagerDutyReceiver>>;
  const routingKey = 'R0123456789abcdef0123456789abcd'.padEnd(32, 'x');
  const send = async (event: string) => {
    expect((await t.collect('/v1/track', { userId: 'u1', event, properties: { total: 10 } })).status).toBe(200);
    await t.settle();
  };
  const advance = async (ms: number) => {
    clock.advance(ms);
    await t.app.operations.tick();
  };

  beforeAll(async () => {
    pd = await pagerDutyReceiver();
    t = await startTandem({ clock, config: { network: { allowPrivate: ['127.0.0.1/32'] } } }); // the PagerDuty and webhook sinks are on loopback
  });
  afterAll(async () => {
    await t?.stop();
    await pd?.close();
  });

  it('serves per-minute series', async () => {
    await send('Order Completed');
    await send('Order Completed');
    await t.app.operations.tick();
    const from = new Date(clock.now() - 5 * MINUTE).toISOString();
    const to = new Date(clock.now() + MINUTE).toISOString();
    const res = await t.admin(`/metrics/series?metric=events&match=${encodeURIComponent('event=Order Completed')}&groupBy=event&from=${from}&to=${to}&step=1m`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.timestamps).toHaveLength(6);
    expect(body.series).toEqual([{ labels: { event: 'Order Completed' }, values: [null, null, null, null, null, 2] }]);
    const bad = await t.admin('/metrics/series?metric=events&step=90s');
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.path).toBe('step');
  });

  it('refuses bad definitions with a 4xx naming the field', async () => {
    const r1 = await t.admin('/alerts', { method: 'POST', json: { key: 'x', monitor: 'nope' } });
    expect(r1.status).toBe(400);
    expect((await r1.json()).error.path).toBe('monitor');
    const r2 = await t.admin('/monitors', { method: 'POST', json: { key: 'm', type: 'null_rate' } });
    expect(r2.status).toBe(400);
    expect((await r2.json()).error.path).toBe('property');
  });

  it('fires the freshness alert within its time when the source goes silent, re-notifies, stops after acknowledgement, resolves when data returns', async () => {
    expect((await t.admin('/monitors', { method: 'POST', json: { key: 'default-fresh', type: 'freshness', source: 'default', maxAge: '10m' } })).status).toBe(201);
    const rule = { key: 'source-silent', name: 'Source went silent', severity: 'critical', monitor: 'default-fresh', for: '2m', repeatInterval: '5m', runbook: '## Source silent\n1. Check the tag manager release.', notify: [{ pagerduty: { routingKey: { secret: 'pagerduty-ops' }, url: pd.url } }] };
    expect((await t.admin('/secrets/pagerduty-ops', { method: 'PUT', json: { value: routingKey } })).status).toBe(200); // sealed at rest, sent as the routing key
    expect((await t.admin('/alerts', { method: 'POST', json: rule })).status).toBe(201);
    const lastEvent = clock.now();
    await advance(MINUTE);
    expect(pd.received).toHaveLength(0);
    // Silent: newest event older than 10m, then `for` 2m.
    let firedAt: number | undefined;
    for (let i = 0; i < 20 && pd.received.length === 0; i++) {
      await advance(MINUTE);
      if (pd.received.length) firedAt = clock.now();
    }
    expect(firedAt).toBeDefined();
    // Within maxAge + for + the minute granularity of the series and of the tick.
    expect((firedAt as number) - lastEvent).toBeLessThanOrEqual(10 * MINUTE + 2 * MINUTE + 2 * MINUTE);
    expect((firedAt as number) - lastEvent).toBeGreaterThan(10 * MINUTE + 2 * MINUTE - MINUTE);
    const trigger = pd.received[0];
    checkPagerDutyEvent(trigger);
    expect(trigger.routing_key).toBe(routingKey); // opened from the stored secret
    expect(trigger.event_action).toBe('trigger');
    expect(trigger.payload.severity).toBe('critical');
    expect(trigger.payload.custom_details.runbook).toContain('tag manager');

    const incidents = await (await t.admin('/incidents?state=firing')).json();
    expect(incidents.data).toHaveLength(1);
    const id = incidents.data[0].id;
    expect(incidents.data[0].dedupKey).toBe(trigger.dedup_key);

    // Not acknowledged: notified again after repeatInterval.
    await advance(5 * MINUTE);
    expect(pd.received.map((e) => e.event_action)).toEqual(['trigger', 'trigger']);
    expect(pd.received[1].dedup_key).toBe(trigger.dedup_key);

    const ack = await t.admin(`/incidents/${id}/acknowledge`, { method: 'POST', json: { note: 'looking', by: 'ana' } });
    expect(ack.status).toBe(200);
    expect(pd.received.map((e) => e.event_action)).toEqual(['trigger', 'trigger', 'acknowledge']);
    await advance(6 * MINUTE);
    await advance(6 * MINUTE);
    expect(pd.received.map((e) => e.event_action)).toEqual(['trigger', 'trigger', 'acknowledge']);

    await send('Page Viewed');
    await advance(MINUTE);
    expect(pd.received.map((e) => e.event_action)).toEqual(['trigger', 'trigger', 'acknowledge', 'resolve']);
    for (const e of pd.received) {
      checkPagerDutyEvent(e);
      expect(e.dedup_key).toBe(trigger.dedup_key);
    }
    const note = await t.admin(`/incidents/${id}/notes`, { method: 'POST', json: { text: 'tag manager release rolled back' } });
    expect(note.status).toBe(204);
    const detail = await (await t.admin(`/incidents/${id}`)).json();
    expect(detail.state).toBe('resolved');
    expect(detail.runbook).toContain('tag manager');
    expect(detail.links.map((l: { text: string }) => l.text)).toContain('Quarantine');
    expect(detail.timeline.map((e: { kind: string }) => e.kind)).toEqual(['fired', 'notified', 'notified', 'acknowledged', 'notified', 'resolved', 'notified', 'note']);
  });

  it('silences suppress notifications', async () => {
    const before = pd.received.length;
    const s = await t.admin('/silences', { method: 'POST', json: { matchers: { alert: 'source-silent' }, duration: '2h', comment: 'planned maintenance' } });
    expect(s.status).toBe(201);
    for (let i = 0; i < 16; i++) await advance(MINUTE);
    const firing = await (await t.admin('/incidents?state=firing')).json();
    expect(firing.data).toHaveLength(1);
    const detail = await (await t.admin(`/incidents/${firing.data[0].id}`)).json();
    expect(detail.timeline.map((e: { kind: string }) => e.kind)).toEqual(['fired', 'silenced']);
    await advance(5 * MINUTE);
    expect(pd.received.length).toBe(before);
    // Data returns: resolved, and nothing is sent (it was never notified).
    await send('Page Viewed');
    await advance(MINUTE);
    expect(pd.received.length).toBe(before);
    expect((await (await t.admin('/incidents?state=firing')).json()).data).toHaveLength(0);
  });

  it('flags an event as bad with a note, audited and on the incident timeline', async () => {
    const incidents = await (await t.admin('/incidents')).json();
    const id = incidents.data[0].id;
    const f = await t.admin('/flags', { method: 'POST', json: { targetType: 'event', targetId: 'msg-1', note: 'price in cents', incident: id } });
    expect(f.status).toBe(201);
    const flag = await f.json();
    const resolved = await t.admin(`/flags/${flag.id}/resolve`, { method: 'POST', json: { resolution: 'replayed from quarantine' } });
    expect((await resolved.json()).status).toBe('resolved');
    const detail = await (await t.admin(`/incidents/${id}`)).json();
    expect(detail.timeline.map((e: { kind: string }) => e.kind)).toContain('flagged');
    const bad = await t.admin('/flags', { method: 'POST', json: { targetType: 'order', targetId: 'x', note: 'n' } });
    expect(bad.status).toBe(400);
  });

  it('exposes the counters on /metrics', async () => {
    const text = await (await fetch(`${t.url}/metrics`)).text();
    expect(text).toMatch(/tandem_ops_events_total\{source="default",type="track",event="Order Completed"\} 2/);
    expect(text).toMatch(/tandem_ops_notifications_total\{target="pagerduty",outcome="ok"\} 4/);
  });
});
