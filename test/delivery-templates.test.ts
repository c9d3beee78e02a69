import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTandem, type Running } from './harness.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('templates: validation on save, locale fallback, preview', () => {
  let tandem: Running;
  beforeAll(async () => {
    tandem = await startTandem({ config: { collect: { threads: 0 } } });
  });
  afterAll(() => tandem?.stop());

  const save = (json: Record<string, unknown>) => tandem.admin('/templates', { method: 'POST', json });
  const errorOf = async (res: Response) => {
    expect(res.status).toBe(400);
    return ((await res.json()) as { error: { code: string; message: string; path: string } }).error;
  };

  it('names the field and line of a Liquid syntax error, in a locale variant too', async () => {
    let e = await errorOf(await save({ key: 't1', channel: 'email', subject: 'Hi', text: 'Hello\n{% iff traits.vip %}VIP{% endif %}' }));
    expect(e).toMatchObject({ code: 'invalid_template', path: 'text' });
    expect(e.message).toMatch(/^text: tag "iff" not found, line:2/);
    e = await errorOf(await save({ key: 't1', channel: 'email', subject: 'Hi', text: 'Hello', locales: { fr: { subject: 'Salut {% if x %}' } } }));
    expect(e.path).toBe('locales.fr.subject');
    expect(e.message).toContain('not closed, line:1');
    e = await errorOf(await save({ key: 't1', channel: 'email', subject: 'Hi {{ name | nosuchfilter }}', text: 'x' }));
    expect(e.path).toBe('subject');
  });

  it('names the line of an MJML error, and the fields a channel needs', async () => {
    const e = await errorOf(await save({ key: 't2', channel: 'email', subject: 'Hi', mjml: '<mjml><mj-body>\n<mj-section><mj-column>\n<mj-bogus>x</mj-bogus></mj-column></mj-section></mj-body></mjml>' }));
    expect(e).toMatchObject({ code: 'invalid_mjml', path: 'mjml' });
    expect(e.message).toMatch(/^mjml: line 3: Element mj-bogus doesn't exist/);
    expect((await errorOf(await save({ key: 't2', channel: 'email', text: 'no subject' }))).path).toBe('subject');
    expect((await errorOf(await save({ key: 't2', channel: 'sms', subject: 'x' }))).path).toBe('body');
  });

  it('previews with the locale chain fr-CA -> fr -> default, escaping values in HTML only', async () => {
    const res = await save({
      key: 'welcome', channel: 'email',
      subject: 'Welcome {{ traits.first_name }}',
      mjml: '<mjml><mj-body><mj-section><mj-column><mj-text>Hi {{ traits.first_name }}</mj-text></mj-column></mj-section></mj-body></mjml>',
      locales: {
        fr: { subject: 'Bienvenue {{ traits.first_name }}' },
        'fr-BE': { subject: 'Bienvenue (BE) {{ traits.first_name }}', text: 'Salut {{ traits.first_name }}' },
      },
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const render = async (body: Record<string, unknown>) => {
      const r = await tandem.admin('/templates/welcome/render', { method: 'POST', json: body });
      expect(r.status, await r.clone().text()).toBe(200);
      return (await r.json()) as { variant: string; subject: string; html: string; text: string };
    };
    const name = 'Zoë <b>';
    let r = await render({ profile: { traits: { first_name: name, locale: 'fr-CA' } } });
    expect(r).toMatchObject({ variant: 'fr', subject: 'Bienvenue Zoë <b>' });
    expect(r.html).toContain('Hi Zoë &lt;b&gt;');
    expect(r.text).toContain('Hi Zoë <b>'); // derived from the HTML, unescaped
    r = await render({ profile: { traits: { first_name: 'Luc', locale: 'fr_be' } } });
    expect(r).toMatchObject({ variant: 'fr-BE', subject: 'Bienvenue (BE) Luc', text: 'Salut Luc' });
    expect(r.html).toContain('Hi Luc'); // the variant has no body: the default's
    r = await render({ profile: { traits: { first_name: 'Max', locale: 'de-DE' } } });
    expect(r).toMatchObject({ variant: 'default', subject: 'Welcome Max' });
    r = await render({ profile: { traits: { first_name: 'Max' } }, locale: 'fr' });
    expect(r.variant).toBe('fr');
    expect((await tandem.admin('/templates/nope/render', { method: 'POST', json: {} })).status).toBe(404);
  });

  it('ad-audience export: hashed e-mail and phone per platform, full and incremental files, download', async () => {
    for (const [userId, traits] of [['a', { email: ' Ada@Example.COM ', phone: '+33 6 12 34 56 78' }], ['b', { email: 'bob@example.com' }], ['c', { phone: '+1 415 555 2671' }]] as const) {
      await tandem.collect('/v1/identify', { userId, traits });
    }
    await tandem.settle();
    const id = async (u: string) => ((await (await tandem.admin(`/profiles/lookup?type=user_id&value=${u}`)).json()) as { id: string }).id;
    expect((await tandem.admin('/channels', { method: 'POST', json: { key: 'ads', type: 'audience_export', settings: {} } })).status).toBe(201);
    const send = async (u: string, action: string, n: number) => {
      const r = await tandem.admin('/deliveries', { method: 'POST', json: { profileId: await id(u), channel: 'ads', payload: { action }, idempotencyKey: `ads:${u}:${n}` } });
      expect(r.status).toBe(201);
    };
    await send('a', 'add', 1);
    await send('b', 'add', 1);
    await tandem.app.delivery.dispatcher.drain();
    const full = (await (await tandem.admin('/channels/ads/export', { method: 'POST', json: { kind: 'full' } })).json()) as { data: { platform: string; kind: string; file: string; rows: number }[] };
    expect(full.data.map((f) => [f.platform, f.kind, f.rows])).toEqual([['google', 'full', 2], ['meta', 'full', 2]]);
    const download = async (file: string) => {
      const r = await tandem.admin(`/channels/ads/exports/${file}`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toContain('text/csv');
      return (await r.text()).trim().split('\n');
    };
    const google = await download(full.data[0].file);
    expect(google[0]).toBe('Email,Phone');
    expect(google.slice(1).sort()).toEqual([`${sha('ada@example.com')},${sha('+33612345678')}`, `${sha('bob@example.com')},`].sort());
    const meta = await download(full.data[1].file);
    expect(meta[0]).toBe('email,phone');
    expect(meta).toContain(`${sha('ada@example.com')},${sha('33612345678')}`);

    await send('b', 'remove', 2);
    await send('c', 'add', 2);
    await send('a', 'add', 2); // already a member: no change
    await tandem.app.delivery.dispatcher.drain();
    const inc = (await (await tandem.admin('/channels/ads/export', { method: 'POST', json: { kind: 'incremental' } })).json()) as { data: { platform: string; kind: string; file: string; rows: number }[] };
    expect(inc.data.map((f) => [f.platform, f.kind, f.rows])).toEqual([['google', 'add', 1], ['google', 'remove', 1], ['meta', 'add', 1], ['meta', 'remove', 1]]);
    expect(await download(inc.data[0].file)).toEqual(['Email,Phone', `,${sha('+14155552671')}`]);
    expect(await download(inc.data[1].file)).toEqual(['Email,Phone', `${sha('bob@example.com')},`]);
    expect((await tandem.admin('/channels/ads/exports/..%2F..%2Fstore.db')).status).toBe(404);
    const listed = (await (await tandem.admin('/channels/ads/exports')).json()) as { data: unknown[] };
    expect(listed.data).toHaveLength(6);
  });
});
