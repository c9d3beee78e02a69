import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTandem, type Running } from './harness.js';

interface Received {
  from: string;
  to: string[];
  raw: string;
}

/** Headers of a raw message (unfolded), by lower-case name. */
function headers(raw: string): Record<string, string> {
  const head = raw.split(/\r?\n\r?\n/)[0].replace(/\r?\n[ \t]+/g, ' ');
  return Object.fromEntries(head.split(/\r?\n/).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
}

/** The decoded body of the MIME part with this content type. */
function part(raw: string, type: string): string {
  const parts = raw.split(/\r?\n--[^\r\n]+/);
  const found = parts.find((p) => new RegExp(`content-type:\\s*${type}`, 'i').test(p));
  if (!found) throw new Error(`no ${type} part in:\n${raw}`);
  const [head, ...rest] = found.split(/\r?\n\r?\n/);
  const body = rest.join('\n\n');
  if (/content-transfer-encoding:\s*base64/i.test(head)) return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (/content-transfer-encoding:\s*quoted-printable/i.test(head)) {
    return Buffer.from(body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
  }
  return body;
}

describe('email channel over a real SMTP server', () => {
  let tandem: Running;
  let smtp: SMTPServer;
  let port: number;
  const inbox: Received[] = [];
  const waiters: (() => void)[] = [];
  const logins: { user: string; pass: string }[] = [];
  let profileId: string;

  const waitForMail = async (n: number) => {
    while (inbox.length < n) await new Promise<void>((r) => (waiters.push(r), setTimeout(r, 50)));
  };

  beforeAll(async () => {
    smtp = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      onAuth(auth, _session, cb) {
        logins.push({ user: auth.username ?? '', pass: auth.password ?? '' });
        if (auth.password !== 'smtp-secret') return cb(new Error('bad password'));
        cb(null, { user: auth.username });
      },
      onRcptTo(address, _session, cb) {
        if (address.address.startsWith('nobody@')) {
          const e = new Error('no such user') as Error & { responseCode: number };
          e.responseCode = 550;
          return cb(e);
        }
        cb();
      },
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          inbox.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
          waiters.splice(0).forEach((w) => w());
          cb();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    port = (smtp.server.address() as AddressInfo).port;
    process.env.TANDEM_TEST_SMTP_PASSWORD = 'smtp-secret';
    tandem = await startTandem({ config: { collect: { threads: 0 } } });

    expect((await tandem.collect('/v1/identify', { userId: 'ada-1', traits: { email: 'Ada@Example.com', first_name: 'Ada', locale: 'fr-CA' } })).status).toBe(200);
    await tandem.settle();
    profileId = ((await (await tandem.admin('/profiles/lookup?type=user_id&value=ada-1')).json()) as { id: string }).id;

    expect((await tandem.admin('/catalogs', { method: 'POST', json: { key: 'products', keyField: 'sku', schema: { type: 'object', properties: { sku: { type: 'string' }, name: { type: 'string' }, stock: { type: 'integer' } } } } })).status).toBe(201);
    expect((await tandem.admin('/catalogs/products/rows', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'sku,name,stock\nA-1,"Red shoes, size 9",3\n' })).status).toBe(200);

    const channel = {
      key: 'newsletter', type: 'email',
      settings: { host: '127.0.0.1', port, user: 'tandem', password: { env: 'TANDEM_TEST_SMTP_PASSWORD' }, from: 'Shop <news@shop.example>' },
    };
    expect((await tandem.admin('/channels', { method: 'POST', json: channel })).status).toBe(201);
    const template = {
      key: 'restock', channel: 'email',
      subject: 'Back in stock, {{ traits.first_name }}',
      mjml: `<mjml><mj-body><mj-section><mj-column>
        <mj-text>Hello {{ traits.first_name }}!</mj-text>
        {% assign p = event.sku | catalog: 'products' %}
        <mj-text>{{ p.name }} is back: {{ p.stock }} left.</mj-text>
        <mj-button href="https://shop.example/p/{{ event.sku }}?from=mail&amp;x=1">Buy</mj-button>
      </mj-column></mj-section></mj-body></mjml>`,
      locales: { fr: { subject: 'De retour en stock, {{ traits.first_name }}' } },
    };
    const saved = await tandem.admin('/templates', { method: 'POST', json: template });
    expect(saved.status, await saved.clone().text()).toBe(201);
  });

  afterAll(async () => {
    await tandem?.stop();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
  });

  it('sends a personalised MJML email with a text part and one-click unsubscribe headers', async () => {
    const res = await tandem.admin('/deliveries', { method: 'POST', json: { profileId, channel: 'newsletter', template: 'restock', payload: { event: { sku: 'A-1' } }, idempotencyKey: 'restock:ada:A-1' } });
    expect(res.status).toBe(201);
    const queued = (await res.json()) as { id: string; status: string };
    expect(queued.status).toBe('queued');
    await tandem.app.delivery.dispatcher.drain();
    await waitForMail(1);

    const mail = inbox[0];
    expect(mail.to.map((a) => a.toLowerCase())).toEqual(['ada@example.com']);
    expect(logins).toEqual([{ user: 'tandem', pass: 'smtp-secret' }]);
    const h = headers(mail.raw);
    expect(h.subject).toBe('De retour en stock, Ada'); // fr-CA -> fr variant
    expect(h['list-unsubscribe']).toMatch(/^<http:\/\/127\.0\.0\.1:\d+\/u\/[\w-]+\.[\w-]+>$/);
    expect(h['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    expect(h['x-tandem-idempotency-key']).toBe('restock:ada:A-1');
    const text = part(mail.raw, 'text/plain');
    expect(text).toContain('Hello Ada!');
    expect(text).toContain('Red shoes, size 9 is back: 3 left.');
    const html = part(mail.raw, 'text/html');
    expect(html).toContain('Hello Ada!');
    expect(html).toMatch(/<table/); // MJML rendered to responsive HTML
    expect(html).toMatch(/\/o\/[\w-]+\.[\w-]+\.gif/);
    expect(html).not.toContain('href="https://shop.example'); // links go through the click redirect

    const sent = (await (await tandem.admin(`/deliveries/${queued.id}`)).json()) as { status: string; state: string; log: { status: string }[] };
    expect(sent.state).toBe('done');
    expect(sent.status).toBe('sent');
    expect(sent.log.map((l) => l.status)).toEqual(['queued', 'sent']);
  });

  it('counts opens and clicks, redirects only to the signed URL, and refuses forged tokens', async () => {
    const html = part(inbox[0].raw, 'text/html');
    const open = /src="(http:\/\/[^"]+\/o\/[^"]+\.gif)"/.exec(html)![1];
    const click = /href="(http:\/\/[^"]+\/c\/[^"]+)"/.exec(html)![1].replace(/&amp;/g, '&');

    const pixel = await fetch(open);
    expect(pixel.status).toBe(200);
    expect(pixel.headers.get('content-type')).toBe('image/gif');
    const redirect = await fetch(click, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('https://shop.example/p/A-1?from=mail&x=1');

    // Another target under the same token, a changed signature, changed claims: all refused.
    const token = /\/c\/([^?]+)/.exec(click)![1];
    expect((await fetch(`${tandem.url}/c/${token}?u=${encodeURIComponent('https://evil.example/')}`, { redirect: 'manual' })).status).toBe(400);
    const [body, sig] = token.split('.');
    const flipped = `${body}.${sig.slice(0, -2)}${sig.endsWith('AA') ? 'BB' : 'AA'}`;
    expect((await fetch(`${tandem.url}/c/${flipped}?u=${encodeURIComponent('https://shop.example/p/A-1?from=mail&x=1')}`, { redirect: 'manual' })).status).toBe(400);
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, string>;
    const forged = `${Buffer.from(JSON.stringify({ ...claims, m: 'someone-else' })).toString('base64url')}.${sig}`;
    expect((await fetch(`${tandem.url}/o/${forged}.gif`)).status).toBe(400);
    expect((await fetch(`${tandem.url}/o/not-a-token.gif`)).status).toBe(400);

    await tandem.app.delivery.dispatcher.drain(); // appends the queued events to the log
    await tandem.settle();
    const timeline = (await (await tandem.admin(`/profiles/${profileId}/events`)).json()) as { data: { event?: string; message: { event?: string; properties?: Record<string, unknown> } }[] };
    const names = timeline.data.map((e) => e.message.event ?? e.event).filter(Boolean);
    expect(names).toEqual(expect.arrayContaining(['Message Sent', 'Message Opened', 'Message Clicked']));
    const clicked = timeline.data.find((e) => e.message.event === 'Message Clicked')!;
    expect(clicked.message.properties).toMatchObject({ channel: 'newsletter', template: 'restock', url: 'https://shop.example/p/A-1?from=mail&x=1' });
    const list = (await (await tandem.admin('/deliveries?status=clicked&channel=newsletter')).json()) as { data: unknown[] };
    expect(list.data).toHaveLength(1);
  });

  it('one-click unsubscribe changes the subscription, and later marketing mail is suppressed', async () => {
    const url = /^<(.+)>$/.exec(headers(inbox[0].raw)['list-unsubscribe'])![1];
    const tampered = url.replace(/\.([\w-]+)$/, (_, s: string) => `.${s.split('').reverse().join('')}`);
    expect((await fetch(tampered, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' })).status).toBe(400);
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<form method="post"');
    let subs = (await (await tandem.admin(`/profiles/${profileId}/subscriptions`)).json()) as { data: Record<string, { status: string }> };
    expect(subs.data.marketing_email).toBeUndefined(); // a GET (a link scanner) changes nothing

    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
    expect(res.status).toBe(200);
    subs = (await (await tandem.admin(`/profiles/${profileId}/subscriptions`)).json()) as { data: Record<string, { status: string }> };
    expect(subs.data.marketing_email.status).toBe('unsubscribed');

    const again = (await (await tandem.admin('/deliveries', { method: 'POST', json: { profileId, channel: 'newsletter', template: 'restock', payload: { event: { sku: 'A-1' } }, idempotencyKey: 'restock:ada:A-1:second' } })).json()) as { id: string };
    await tandem.app.delivery.dispatcher.drain();
    const d = (await (await tandem.admin(`/deliveries/${again.id}`)).json()) as { status: string; lastError: string };
    expect(d.status).toBe('suppressed');
    expect(d.lastError).toContain('unsubscribed from marketing_email');
    expect(inbox).toHaveLength(1);
  });

  it('a recipient the server refuses is a bounce, not retried', async () => {
    await tandem.admin('/channels', { method: 'POST', json: { key: 'receipts', type: 'email', settings: { host: '127.0.0.1', port, user: 'tandem', password: { env: 'TANDEM_TEST_SMTP_PASSWORD' }, from: 'shop@shop.example', transactional: true } } });
    const m = (await (await tandem.admin('/deliveries', { method: 'POST', json: { profileId, channel: 'receipts', payload: { to: 'nobody@shop.example', subject: 'Receipt', text: 'Thanks' }, idempotencyKey: 'receipt:1' } })).json()) as { id: string };
    await tandem.app.delivery.dispatcher.drain();
    const d = (await (await tandem.admin(`/deliveries/${m.id}`)).json()) as { status: string; state: string; attempts: number; lastError: string };
    expect(d).toMatchObject({ status: 'bounced', state: 'done', attempts: 1 });
    expect(d.lastError).toMatch(/550/);
  });

  it('refuses inline secrets and names the field', async () => {
    const res = await tandem.admin('/channels', { method: 'POST', json: { key: 'bad', type: 'email', settings: { host: 'h', user: 'u', password: 'inline!', from: 'a@b.c' } } });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; path: string; message: string } };
    expect(body.error).toMatchObject({ code: 'inline_secret', path: 'settings.password' });
  });
});
