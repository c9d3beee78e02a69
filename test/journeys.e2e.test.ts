// Journeys end to end through the real server: a real SMTP server (smtp-server) and a real HTTP SMS sink in the
// Twilio format, channels configured through the API with secrets from the environment, and a simulated clock
// (ManualClock) that the test moves minute by minute around each expected send.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/core/clock.js';
import { startTandem, type Running } from './harness.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = Date.UTC(2026, 2, 2, 10); // a Monday, 10:00 UTC

interface Mail { to: string; subject: string; key: string; at: number }
interface Sms { to: string; body: string; key: string; at: number }

const cartJourney = {
  key: 'cart_abandonment',
  name: 'Cart abandonment',
  priority: 5,
  trigger: { type: 'event', event: 'Product Added' },
  goal: { event: 'Order Completed', within: '3d' },
  start: 'wait_1h',
  nodes: {
    wait_1h: { type: 'wait', duration: '1h', next: 'check_stock' },
    check_stock: {
      type: 'branch',
      condition: { catalog: 'products', key_from: { last_event: 'Product Added', property: 'sku' }, where: [{ field: 'stock', gt: 0 }] },
      then: 'send_email', else: 'out_of_stock',
    },
    out_of_stock: { type: 'exit' },
    send_email: { type: 'send', channel: 'email', template: 'cart_reminder', next: 'wait_order' },
    wait_order: { type: 'wait_for_event', event: 'Order Completed', timeout: '24h', next: 'converted', timeout_next: 'send_sms' },
    converted: { type: 'exit' },
    send_sms: { type: 'send', channel: 'sms', template: 'cart_sms' },
  },
};

const restockJourney = {
  key: 'back_in_stock',
  trigger: {
    type: 'catalog_changed', catalog: 'products',
    before: [{ field: 'stock', lte: 0 }], after: [{ field: 'stock', gt: 0 }],
    performed: { event: 'Product Viewed', property: 'sku', within: '30d' },
  },
  start: 'notify',
  nodes: { notify: { type: 'send', channel: 'email', template: 'restock' } },
};

describe('journeys end to end: SMTP and SMS sinks, simulated clock', () => {
  let tandem: Running;
  const clock = new ManualClock(T0);
  let smtp: SMTPServer;
  let twilio: Server;
  const mails: Mail[] = [];
  const texts: Sms[] = [];
  const ids: Record<string, string> = {};

  /** Runs every stage until nothing is left at the current simulated instant, then lets the sinks receive. */
  const flush = async () => {
    for (let i = 0; i < 3; i++) {
      await tandem.settle();
      await tandem.app.journeys.drain();
      await tandem.app.delivery.dispatcher.drain();
    }
    await new Promise((r) => setTimeout(r, 50)); // the SMTP server's onData end
  };
  const at = async (ms: number) => {
    clock.set(ms);
    await flush();
  };
  const mailsTo = (email: string) => mails.filter((m) => m.to === email);
  const textsTo = (phone: string) => texts.filter((m) => m.to === phone);
  const trace = async (name: string, journey: string) =>
    (await (await tandem.admin(`/profiles/${ids[name]}/trace?journey=${journey}`)).json()) as { summary: string[]; trail: { kind: string; node: string | null; detail: Record<string, unknown> }[] };
  const ok = async (res: Promise<Response>, status = 201) => {
    const r = await res;
    expect(r.status, await r.clone().text()).toBe(status);
    return r;
  };

  beforeAll(async () => {
    smtp = new SMTPServer({
      disabledCommands: ['STARTTLS'], allowInsecureAuth: true,
      onAuth: (auth, _s, cb) => (auth.password === 'smtp-secret' ? cb(null, { user: auth.username }) : cb(new Error('bad password'))),
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const header = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(raw.split(/\r?\n\r?\n/)[0])?.[1]?.trim() ?? '';
          mails.push({ to: session.envelope.rcptTo[0].address.toLowerCase(), subject: header('subject'), key: header('x-tandem-idempotency-key'), at: clock.now() });
          cb();
        });
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
    twilio = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        texts.push({ to: form.get('To') ?? '', body: form.get('Body') ?? '', key: String(req.headers['idempotency-key'] ?? ''), at: clock.now() });
        res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ sid: `SM${texts.length}`, status: 'queued' }));
      });
    });
    await new Promise<void>((r) => twilio.listen(0, '127.0.0.1', r));
    process.env.TANDEM_TEST_JOURNEY_SMTP = 'smtp-secret';
    process.env.TANDEM_TEST_JOURNEY_TWILIO = 'twilio-token';
    tandem = await startTandem({ clock, config: { collect: { threads: 0 }, network: { allowPrivate: ['127.0.0.1/32'] } } }); // the sinks are on loopback

    const smtpPort = (smtp.server.address() as AddressInfo).port;
    const twilioUrl = `http://127.0.0.1:${(twilio.address() as AddressInfo).port}`;
    await ok(tandem.admin('/channels', { method: 'POST', json: { key: 'email', type: 'email', settings: { host: '127.0.0.1', port: smtpPort, user: 'tandem', password: { env: 'TANDEM_TEST_JOURNEY_SMTP' }, from: 'Shop <shop@shop.example>' } } }));
    await ok(tandem.admin('/channels', { method: 'POST', json: { key: 'sms', type: 'sms', settings: { baseUrl: twilioUrl, accountSid: 'AC1', authToken: { env: 'TANDEM_TEST_JOURNEY_TWILIO' }, from: '+15005550006', defaultRegion: 'FR' } } }));
    await ok(tandem.admin('/templates', { method: 'POST', json: { key: 'cart_reminder', channel: 'email', subject: 'Still thinking about {{ event.sku }}, {{ traits.first_name }}?', text: 'Your cart is waiting.' } }));
    await ok(tandem.admin('/templates', { method: 'POST', json: { key: 'cart_sms', channel: 'sms', body: 'Last call for {{ event.sku }}' } }));
    await ok(tandem.admin('/templates', { method: 'POST', json: { key: 'restock', channel: 'email', subject: '{{ event.key }} is back in stock', text: 'Come and get it.' } }));
    await ok(tandem.admin('/catalogs', { method: 'POST', json: { key: 'products', keyField: 'sku', schema: { type: 'object', properties: { sku: { type: 'string' }, stock: { type: 'integer' } } } } }));
    await ok(tandem.admin('/catalogs/products/rows', { method: 'POST', json: [{ sku: 'IN', stock: 3 }, { sku: 'OUT', stock: 0 }, { sku: 'SOON', stock: 0 }, { sku: 'OTHER', stock: 0 }] }), 200);
    // Marketing email is opt-out: everybody but the unsubscribed.
    await ok(tandem.admin('/journey-guardrails', { method: 'PUT', json: { subscription_groups: [{ key: 'marketing_email', medium: 'email', category: 'marketing', mode: 'opt_out' }] } }), 200);
    await ok(tandem.admin('/journeys', { method: 'POST', json: cartJourney }));
    await ok(tandem.admin('/journeys', { method: 'POST', json: restockJourney }));
    // Reads a membership the apply stage commits for the very event that triggers the journey.
    await ok(tandem.admin('/audiences', { method: 'POST', json: { key: 'buyers', condition: { performed: 'Order Completed' } } }));
    await ok(tandem.admin('/templates', { method: 'POST', json: { key: 'thanks', channel: 'email', subject: 'Thanks for your order of {{ event.total }}', text: 'Thanks.' } }));
    await ok(tandem.admin('/journeys', { method: 'POST', json: {
      key: 'thank_buyers', trigger: { type: 'event', event: 'Order Completed' }, start: 'is_buyer',
      nodes: { is_buyer: { type: 'branch', condition: { in_audience: 'buyers' }, then: 'thank', else: 'stop' }, thank: { type: 'send', channel: 'email', template: 'thanks', category: 'transactional' }, stop: { type: 'exit' } },
    } }));

    const people: [string, Record<string, unknown>][] = [
      ['ada', { first_name: 'Ada', email: 'ada@example.com', phone: '06 00 00 00 01' }],
      ['bob', { first_name: 'Bob', email: 'bob@example.com', phone: '06 00 00 00 02' }],
      ['cy', { first_name: 'Cy', email: 'cy@example.com', phone: '06 00 00 00 03' }],
      ['dee', { first_name: 'Dee', email: 'dee@example.com', phone: '06 00 00 00 04' }],
      ['eve', { first_name: 'Eve', email: 'eve@example.com' }],
      ['fay', { first_name: 'Fay', email: 'fay@example.com' }],
    ];
    for (const [userId, traits] of people) await ok(tandem.collect('/v1/identify', { userId, traits }), 200);
    await flush();
    for (const [userId] of people) ids[userId] = ((await (await tandem.admin(`/profiles/lookup?type=user_id&value=${userId}`)).json()) as { id: string }).id;
    await ok(tandem.admin(`/profiles/${ids.dee}/subscriptions/marketing_email`, { method: 'PUT', json: { status: 'unsubscribed' } }), 200);

    // T0: four carts (two in stock, one out of stock, one by the unsubscribed), and two product views.
    const track = (userId: string, event: string, properties: Record<string, unknown>) => ok(tandem.collect('/v1/track', { userId, event, properties }), 200);
    await track('ada', 'Product Added', { sku: 'IN', price: 20 });
    await track('bob', 'Product Added', { sku: 'IN', price: 20 });
    await track('cy', 'Product Added', { sku: 'OUT', price: 20 });
    await track('dee', 'Product Added', { sku: 'IN', price: 20 });
    await track('eve', 'Product Viewed', { sku: 'SOON' });
    await track('fay', 'Product Viewed', { sku: 'OTHER' });
    await flush();
    expect(mails).toEqual([]);

    await at(T0 + HOUR - MINUTE);
    expect(mails).toEqual([]); // not a minute early
    await at(T0 + HOUR);
    await at(T0 + 5 * HOUR);
    await track('bob', 'Order Completed', { total: 20 });
    await flush();
    await at(T0 + 25 * HOUR - MINUTE);
    await at(T0 + 25 * HOUR);
    await at(T0 + 26 * HOUR);
    // Back in stock, a day later: SOON goes from 0 to 4 (OTHER changes too, but stays at 0).
    await ok(tandem.admin('/catalogs/products/rows', { method: 'POST', json: [{ sku: 'SOON', stock: 4 }, { sku: 'OTHER', stock: 0 }, { sku: 'IN', stock: 2 }] }), 200);
    await flush();
  }, 120_000);

  afterAll(async () => {
    await tandem?.stop();
    await new Promise<void>((r) => smtp.close(() => r()));
    await new Promise<void>((r) => twilio.close(() => r()));
  });

  it('(i) no order: exactly one email at +1 h and one SMS at +25 h', async () => {
    expect(mailsTo('ada@example.com')).toEqual([{ to: 'ada@example.com', subject: 'Still thinking about IN, Ada?', key: expect.stringMatching(/:send_email:1$/), at: T0 + HOUR }]);
    expect(textsTo('+33600000001')).toEqual([{ to: '+33600000001', body: 'Last call for IN', key: expect.stringMatching(/:send_sms:1$/), at: T0 + 25 * HOUR }]);
    const summary = (await trace('ada', 'cart_abandonment')).summary;
    expect(summary.filter((s) => s.includes('queued'))).toEqual([
      `${new Date(T0 + HOUR).toISOString()} send_email: queued email 'cart_reminder'`,
      `${new Date(T0 + 25 * HOUR).toISOString()} send_sms: queued sms 'cart_sms'`,
    ]);
  });

  it('(ii) order within 24 h: the email only, and the conversion is recorded', async () => {
    expect(mailsTo('bob@example.com').filter((m) => m.subject.startsWith('Still')).map((m) => m.at)).toEqual([T0 + HOUR]);
    expect(textsTo('+33600000002')).toEqual([]);
    const stats = (await (await tandem.admin('/journeys/cart_abandonment/stats')).json()) as { conversions: number; nodes: Record<string, { attributed: number; sent: number }> };
    expect(stats.conversions).toBe(1);
    expect(stats.nodes.send_email.attributed).toBe(1);
    expect((await trace('bob', 'cart_abandonment')).summary.some((s) => s.includes('converted (Order Completed)'))).toBe(true);
  });

  it('a branch sees the audience membership the apply stage committed for the triggering event', async () => {
    expect(mailsTo('bob@example.com').filter((m) => m.subject.startsWith('Thanks'))).toEqual([{ to: 'bob@example.com', subject: 'Thanks for your order of 20', key: expect.stringMatching(/:thank:1$/), at: T0 + 5 * HOUR }]);
    expect((await trace('bob', 'thank_buyers')).summary.join('\n')).toContain('is_buyer: condition true, went to thank');
  });

  it('(iii) out of stock: nothing is sent, and the trace says why', async () => {
    expect(mailsTo('cy@example.com')).toEqual([]);
    expect(textsTo('+33600000003')).toEqual([]);
    const t = await trace('cy', 'cart_abandonment');
    expect(t.summary.join('\n')).toContain('check_stock: condition false, went to out_of_stock');
    const branch = t.trail.find((r) => r.node === 'check_stock' && r.kind === 'node')!;
    expect(JSON.stringify(branch.detail.seen)).toContain('OUT'); // the catalog key and row it saw
  });

  it('(iv) unsubscribed: no email, and the trace names consent', async () => {
    expect(mailsTo('dee@example.com')).toEqual([]);
    const t = await trace('dee', 'cart_abandonment');
    expect(t.summary.join('\n')).toMatch(/send_email: blocked by consent/);
    // SMS is another medium with no subscription group: it still goes, at +25 h.
    expect(textsTo('+33600000004').map((m) => m.at)).toEqual([T0 + 25 * HOUR]);
  });

  it('(v) back in stock sends to the profile that viewed the product, and to nobody else', async () => {
    const restock = mails.filter((m) => m.subject.endsWith('is back in stock'));
    expect(restock).toEqual([{ to: 'eve@example.com', subject: 'SOON is back in stock', key: expect.stringMatching(/:notify:1$/), at: T0 + 26 * HOUR }]);
    expect((await trace('eve', 'back_in_stock')).summary[0]).toContain('entered back_in_stock v1 (catalog_changed: Catalog Row Changed)');
    expect((await trace('fay', 'back_in_stock')).trail).toEqual([]);
  });

  it('every message reached its sink exactly once (by idempotency key)', () => {
    const keys = [...mails.map((m) => m.key), ...texts.map((t) => t.key)];
    expect(new Set(keys).size).toBe(keys.length);
    expect(mails).toHaveLength(4); // ada, bob (reminder and thanks), eve
    expect(texts).toHaveLength(2); // ada, dee
  });
});
