import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Analytics as SegmentAnalytics } from '@segment/analytics-node';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { startTandem, type Running } from './harness.js';

/**
 * The real Segment and RudderStack Node SDKs, unmodified, pointed at a running Tandem. What each SDK actually
 * sent is captured from the SDK's own delivery callbacks; what Tandem stored is read back through the admin API.
 */

type Sent = Record<string, unknown> & { messageId: string; type: string };

let t: Running;
beforeAll(async () => {
  t = await startTandem();
});
afterAll(async () => t.stop());

async function stored(messageId: string): Promise<Record<string, any>> {
  const res = await t.admin(`/events?messageId=${encodeURIComponent(messageId)}`);
  expect(res.status).toBe(200);
  const { data } = (await res.json()) as { data: { source: string; message: Record<string, any> }[] };
  expect(data, `events with messageId ${messageId}`).toHaveLength(1);
  expect(data[0].source).toBe('default');
  return data[0].message;
}

const iso = (v: unknown) => new Date(v as string | Date).toISOString();

/** Checks the fields common to every call type, and those of the type, against what the SDK sent. */
function expectSameMessage(got: Record<string, any>, sent: Sent, library: string) {
  expect(got.type).toBe(sent.type);
  expect(got.messageId).toBe(sent.messageId);
  if (sent.userId !== undefined) expect(got.userId).toBe(sent.userId);
  if (sent.anonymousId !== undefined) expect(got.anonymousId).toBe(sent.anonymousId);
  expect(got.context.library.name).toBe(library);
  expect(got.context.library).toEqual((sent.context as { library: unknown }).library);
  expect(got.context).toMatchObject(sent.context as object);
  for (const field of ['event', 'name', 'category', 'groupId', 'previousId'] as const) {
    if (sent[field] !== undefined) expect(got[field], field).toBe(sent[field]);
  }
  for (const field of ['properties', 'traits'] as const) {
    if (sent[field] !== undefined) expect(got[field], field).toEqual(sent[field]);
  }
  // The client's own time is kept as sent; the event time is corrected for skew, which on one machine is ~0.
  const clientTime = (sent.timestamp ?? sent.originalTimestamp) as string;
  expect(got.originalTimestamp).toBe(iso(clientTime));
  expect(Math.abs(Date.parse(got.timestamp) - Date.parse(clientTime))).toBeLessThan(5_000);
  expect(got.sentAt).toBeDefined();
  expect(Date.parse(got.receivedAt)).toBeGreaterThanOrEqual(Date.parse(got.sentAt) - 5_000);
}

const props = { plan: 'pro', total: 12.5, items: [{ sku: 'a', qty: 2 }], nested: { deep: { ok: true } }, nothing: null, 'key with spaces': 'é ✓ 😀' };
const traits = { email: 'ada@example.com', name: 'Ada', age: 36, vip: true, tags: ['x', 'y'] };
const past = new Date('2026-01-15T10:20:30.456Z');

describe('@segment/analytics-node against a running Tandem', () => {
  it('delivers identify, track, page, screen, group and alias with every field intact', async () => {
    const analytics = new SegmentAnalytics({ writeKey: t.writeKey, host: t.url, flushAt: 4, flushInterval: 50, maxRetries: 0 });
    const errors: unknown[] = [];
    analytics.on('error', (e) => errors.push(e));
    const delivered: Promise<Sent>[] = [];
    // The SDK's callback hands back the event exactly as it was dispatched, messageId included.
    const cb = () => {
      let resolve!: (s: Sent) => void;
      let reject!: (e: unknown) => void;
      delivered.push(new Promise<Sent>((res, rej) => ((resolve = res), (reject = rej))));
      return (err: unknown, ctx?: { event: object }) => (err ? reject(err) : resolve(JSON.parse(JSON.stringify(ctx!.event)) as Sent));
    };
    analytics.identify({ userId: 'seg-user-1', anonymousId: 'seg-anon-1', traits, context: { ip: '10.0.0.1', locale: 'fr-FR' } }, cb());
    analytics.track({ userId: 'seg-user-1', event: 'Order Completed', properties: props, timestamp: past }, cb());
    analytics.track({ anonymousId: 'seg-anon-only', event: 'Anonymous Thing', properties: { n: 1 } }, cb());
    analytics.page({ userId: 'seg-user-1', category: 'Docs', name: 'Getting Started', properties: { url: 'https://example.com/docs', path: '/docs' } }, cb());
    analytics.screen({ anonymousId: 'seg-anon-1', category: 'Settings', name: 'Profile', properties: { tab: 'privacy' } }, cb());
    analytics.group({ userId: 'seg-user-1', groupId: 'seg-org-42', traits: { name: 'Acme', employees: 120 } }, cb());
    analytics.alias({ userId: 'seg-user-1', previousId: 'seg-anon-1' }, cb());
    await analytics.closeAndFlush({ timeout: 10_000 });
    const sent = await Promise.all(delivered);
    expect(errors).toEqual([]);
    expect(sent.map((s) => s.type)).toEqual(['identify', 'track', 'track', 'page', 'screen', 'group', 'alias']);

    await t.settle();
    for (const s of sent) {
      expect(s.messageId).toMatch(/^node-next-\d+-[0-9a-f-]{36}$/);
      expectSameMessage(await stored(s.messageId), s, '@segment/analytics-node');
    }
    const [identify, track] = await Promise.all([stored(sent[0].messageId), stored(sent[1].messageId)]);
    expect(identify).toMatchObject({ userId: 'seg-user-1', anonymousId: 'seg-anon-1', traits, context: { ip: '10.0.0.1', locale: 'fr-FR' } });
    expect(track.originalTimestamp).toBe(past.toISOString());
    expect((await stored(sent[6].messageId)).previousId).toBe('seg-anon-1');
  });
});

describe.each([{ gzip: true }, { gzip: false }])('@rudderstack/rudder-sdk-node (gzip: $gzip) against a running Tandem', ({ gzip }) => {
  it('delivers identify, track, page, screen, group and alias with every field intact', async () => {
    const client = new RudderAnalytics(t.writeKey, { dataPlaneUrl: t.url, flushAt: 4, flushInterval: 50, retryCount: 0, gzip, logLevel: 'error' });
    const failures: unknown[] = [];
    const batches: Promise<Sent[]>[] = [];
    // The per-call callback receives the request body the SDK posted (gzipped when gzip is on).
    const cb = () => {
      let resolve!: (s: Sent[]) => void;
      batches.push(new Promise<Sent[]>((res) => (resolve = res)));
      return ((err?: unknown, data?: Buffer | { batch: Sent[] }) => {
        if (err) failures.push(err);
        const body = Buffer.isBuffer(data) ? (JSON.parse(gunzipSync(data).toString('utf8')) as { batch: Sent[] }) : (JSON.parse(JSON.stringify(data)) as { batch: Sent[] });
        resolve(body.batch);
      }) as () => void;
    };
    const tag = gzip ? 'gz' : 'plain';
    client.identify({ userId: `rs-user-${tag}`, anonymousId: `rs-anon-${tag}`, traits, context: { ip: '10.0.0.2' } }, cb());
    client.track({ userId: `rs-user-${tag}`, event: 'Product Viewed', properties: props, timestamp: past }, cb());
    client.page({ anonymousId: `rs-anon-${tag}`, category: 'Shop', name: 'Catalog', properties: { path: '/shop' } }, cb());
    client.screen({ userId: `rs-user-${tag}`, name: 'Checkout', properties: { step: 2 } }, cb());
    client.group({ userId: `rs-user-${tag}`, groupId: `rs-org-${tag}`, traits: { plan: 'enterprise' } }, cb());
    client.alias({ userId: `rs-user-${tag}`, previousId: `rs-anon-${tag}` }, cb());
    await client.flush();
    const all = (await Promise.all(batches)).flat();
    expect(failures).toEqual([]);
    // Each callback sees its whole batch; keep one copy of each message, in call order.
    const sent = [...new Map(all.map((m) => [m.messageId, m])).values()];
    expect(sent.map((s) => s.type)).toEqual(['identify', 'track', 'page', 'screen', 'group', 'alias']);

    await t.settle();
    for (const s of sent) {
      expect(s.messageId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expectSameMessage(await stored(s.messageId), s, 'analytics-node');
    }
    const identify = await stored(sent[0].messageId);
    expect(identify.traits).toEqual(traits);
    expect(identify.context.traits).toEqual(traits);
    expect((await stored(sent[1].messageId)).originalTimestamp).toBe(past.toISOString());
    expect((await stored(sent[4].messageId)).groupId).toBe(`rs-org-${tag}`);
  });
});
