import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTandem, type Running } from './harness.js';

// POST /v1/personalize through a real Tandem: the fast loop's memberships, eligibility (stock, caps, consent),
// exposure of personal data, the request context (geo database, time zone, device, weather from a catalog),
// rewards through /v1/track, the event recorded in the same call, CORS and caching headers.
let t: Running;
const geoDir = mkdtempSync(join(tmpdir(), 'tandem-geo-'));
const geoFile = join(geoDir, 'geo.csv');
writeFileSync(geoFile, ['network,country,region,city,timezone', '81.2.69.0/24,GB,ENG,London,Europe/London', '2.16.7.0/24,FR,IDF,Paris,Europe/Paris', '2001:db8::/32,JP,13,Tokyo,Asia/Tokyo'].join('\n'));

const personalize = (body: Record<string, unknown>, headers: Record<string, string> = {}) => t.collect('/v1/personalize', body, headers);
const json = async (r: Response) => {
  const text = await r.text();
  if (r.status !== 200) throw new Error(`${r.status}: ${text}`);
  return JSON.parse(text);
};
const ok = async (r: Promise<Response>) => {
  const res = await r;
  if (res.status >= 300) throw new Error(`${res.status}: ${await res.text()}`);
  return res;
};

beforeAll(async () => {
  t = await startTandem({ config: { personalize: { geoDatabase: geoFile } } });
  await ok(t.admin('/audiences', { method: 'POST', json: { key: 'viewers', name: 'Viewers', condition: { performed: 'Product Viewed', within: '1d' } } }));
  await ok(t.admin('/audiences', { method: 'POST', json: { key: 'secret_segment', name: 'Not exposed', condition: { performed: 'Product Viewed', within: '1d' } } }));
  await ok(t.admin('/personalization', { method: 'PUT', json: { audiences: ['viewers'] } }));
  await ok(t.admin('/catalogs', { method: 'POST', json: { key: 'products', keyField: 'sku' } }));
  await ok(t.admin('/catalogs/products/rows', { method: 'POST', json: [{ sku: 'A', stock: 5 }, { sku: 'B', stock: 0 }] }));
  await ok(t.admin('/catalogs', { method: 'POST', json: { key: 'weather', keyField: 'region' } }));
  await ok(t.admin('/catalogs/weather/rows', { method: 'POST', json: [{ region: 'ENG', temp_c: 14 }, { region: 'IDF', temp_c: 31 }] }));
}, 60_000);

afterAll(async () => t?.stop());

describe('POST /v1/personalize', () => {
  it('shows an audience entered in the fast loop in the very next call', async () => {
    const before = await json(await personalize({ anonymousId: 'visitor-1' }));
    expect(before).toMatchObject({ known: false, audiences: [] });
    await ok(t.collect('/v1/track', { anonymousId: 'visitor-1', event: 'Product Viewed', properties: { sku: 'A' } }));
    await t.settle();
    const after = await json(await personalize({ anonymousId: 'visitor-1' }));
    // secret_segment holds the visitor too, but is not exposable.
    expect(after).toMatchObject({ known: true, audiences: ['viewers'] });
  });

  it('never returns an offer that is out of stock, over its cap or lacks consent', async () => {
    await ok(t.admin('/decisions', {
      method: 'POST',
      json: {
        key: 'hero',
        policy: { type: 'rules' },
        offers: [
          { key: 'sold_out', attributes: { sku: 'B' }, condition: { catalog: 'products', key_from: { trait: 'offer.attributes.sku' }, where: [{ field: 'stock', gt: 0 }] } },
          { key: 'newsletter', condition: { subscribed: 'marketing_web' } },
          { key: 'in_stock', attributes: { sku: 'A' }, condition: { catalog: 'products', key_from: { trait: 'offer.attributes.sku' }, where: [{ field: 'stock', gt: 0 }] }, cap: { max: 2, within: '1d' } },
          { key: 'fallback', content: { title: 'Welcome' } },
        ],
      },
    }));
    const served: (string | null)[] = [];
    for (let i = 0; i < 4; i++) served.push((await json(await personalize({ anonymousId: 'visitor-2', decisions: ['hero'] }))).decisions.hero.offer?.key ?? null);
    // sold_out and newsletter are never eligible; in_stock twice (its cap), then the fallback.
    expect(served).toEqual(['in_stock', 'in_stock', 'fallback', 'fallback']);

    // The log says why each offer was left out.
    const log = (await (await t.admin('/decisions/hero/log?limit=1')).json()).data[0];
    expect(log.ineligible).toEqual({ sold_out: 'condition', newsletter: 'condition', in_stock: 'cap' });

    // Stock back: eligible again at once (catalog rows are read at request time).
    await ok(t.admin('/catalogs/products/rows/B', { method: 'PUT', json: { stock: 3 } }));
    expect((await json(await personalize({ anonymousId: 'visitor-3', decisions: ['hero'] }))).decisions.hero.offer.key).toBe('sold_out');

    // Consent given (identify trait): the newsletter offer becomes eligible for that visitor only.
    await ok(t.admin('/catalogs/products/rows/B', { method: 'PUT', json: { stock: 0 } }));
    await ok(t.collect('/v1/identify', { anonymousId: 'visitor-4', traits: { subscriptions: { marketing_web: 'subscribed' } } }));
    await t.settle();
    expect((await json(await personalize({ anonymousId: 'visitor-4', decisions: ['hero'] }))).decisions.hero.offer.key).toBe('newsletter');
    expect((await json(await personalize({ anonymousId: 'visitor-5', decisions: ['hero'] }))).decisions.hero.offer.key).toBe('in_stock');
  });

  it('exposes no personal data unless the workspace allows it', async () => {
    await ok(t.collect('/v1/identify', { userId: 'u-ada', anonymousId: 'visitor-6', traits: { email: 'ada@example.com', name: 'Ada', plan: 'pro' } }));
    await t.settle();
    const text = await (await personalize({ userId: 'u-ada' })).text();
    expect(text).not.toContain('ada@example.com');
    expect(text).not.toContain('Ada');
    expect(text).not.toContain('pro');

    const refused = await t.admin('/personalization', { method: 'PUT', json: { audiences: ['viewers'], traits: ['plan'] } });
    expect(refused.status).toBe(400);
    expect((await refused.json()).error).toMatchObject({ code: 'personal_data', path: 'traits' });
    // The same rule holds for workspace files.
    const applied = await t.admin('/workspace/apply', { method: 'POST', json: { documents: [{ kind: 'personalization', traits: ['email'] }] } });
    expect(applied.status).toBe(400);
    expect(await (await personalize({ userId: 'u-ada' })).text()).not.toContain('ada@example.com');

    await ok(t.admin('/personalization', { method: 'PUT', json: { audiences: ['viewers'], traits: ['plan'], allowPersonalData: true } }));
    const allowed = await json(await personalize({ userId: 'u-ada' }));
    expect(allowed.traits).toEqual({ plan: 'pro' });
    expect(JSON.stringify(allowed)).not.toContain('ada@example.com');
    await ok(t.admin('/personalization', { method: 'PUT', json: { audiences: ['viewers'] } }));
  });

  it('derives geo, local time and device, and reads an external signal (weather per region) in conditions', async () => {
    await ok(t.admin('/decisions', {
      method: 'POST',
      json: {
        key: 'drink',
        policy: { type: 'rules' },
        offers: [
          { key: 'water', condition: { catalog: 'weather', key_from: { trait: 'context.geo.region' }, where: [{ field: 'temp_c', gte: 25 }] } },
          { key: 'mobile_app', condition: { trait: 'context.device.type', eq: 'mobile' } },
          { key: 'diet_soda' },
        ],
      },
    }));
    const iphone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
    const desktop = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
    const paris = await json(await personalize({ anonymousId: 'v-paris', decisions: ['drink'] }, { 'x-forwarded-for': '2.16.7.20', 'user-agent': desktop }));
    expect(paris.decisions.drink.offer.key).toBe('water');
    expect(paris.context.geo).toEqual({ country: 'FR', region: 'IDF', city: 'Paris', timezone: 'Europe/Paris' });
    expect(paris.context.device).toEqual({ type: 'desktop', os: 'windows', browser: 'chrome' });
    // Local hour in Paris, computed independently of the code under test from the UTC offset of the zone.
    const now = Date.now();
    const offsetH = Number(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', timeZoneName: 'shortOffset' }).formatToParts(now).find((p) => p.type === 'timeZoneName')!.value.replace('GMT', '') || 0);
    expect(paris.context.time.zone).toBe('Europe/Paris');
    expect([(new Date(now).getUTCHours() + offsetH + 24) % 24, (new Date(now + 5000).getUTCHours() + offsetH + 24) % 24]).toContain(paris.context.time.hour);

    const london = await json(await personalize({ anonymousId: 'v-london', decisions: ['drink'], context: { userAgent: iphone } }, { 'x-forwarded-for': '81.2.69.160' }));
    expect(london.decisions.drink.offer.key).toBe('mobile_app');
    expect(london.context.geo.region).toBe('ENG');

    // The weather is pushed into the catalog: London heats up, the next call decides with it.
    await ok(t.admin('/catalogs/weather/rows/ENG', { method: 'PUT', json: { temp_c: 29 } }));
    expect((await json(await personalize({ anonymousId: 'v-london', decisions: ['drink'] }, { 'x-forwarded-for': '81.2.69.160' }))).decisions.drink.offer.key).toBe('water');

    // IPv6 and an explicit zone; an address outside every range has no geo.
    const tokyo = await json(await personalize({ anonymousId: 'v-tokyo', context: { ip: '2001:db8::1', timezone: 'America/New_York' } }));
    expect(tokyo.context.geo.country).toBe('JP');
    expect(tokyo.context.time.zone).toBe('America/New_York');
    expect((await json(await personalize({ anonymousId: 'v-x', context: { ip: '8.8.8.8' } }))).context.geo).toEqual({});
  });

  it('learns from a reward event tracked through /v1 and measures the holdout', async () => {
    await ok(t.admin('/decisions', {
      method: 'POST',
      json: {
        key: 'banner',
        policy: { type: 'bandit', algorithm: 'linucb', features: [{ key: 'mobile', when: { trait: 'context.device.type', eq: 'mobile' } }] },
        offers: [{ key: 'a' }, { key: 'b' }],
        holdout: { percent: 50 },
        reward: { events: [{ event: 'Banner Clicked' }] },
      },
    }));
    const answer = await json(await personalize({ anonymousId: 'v-reward', decisions: ['banner'] }));
    const d = answer.decisions.banner;
    expect(d.id).toMatch(/^dcn_/);
    await ok(t.collect('/v1/track', { anonymousId: 'v-reward', event: 'Banner Clicked', properties: { decision_id: d.id } }));
    // A second click does not count twice; an unknown id is ignored.
    await ok(t.collect('/v1/track', { anonymousId: 'v-reward', event: 'Banner Clicked', properties: { decision_id: d.id } }));
    await ok(t.collect('/v1/track', { anonymousId: 'v-reward', event: 'Banner Clicked', properties: { decision_id: 'dcn_nope' } }));
    await t.settle();
    await new Promise((r) => setTimeout(r, 50));
    const results = await (await t.admin('/decisions/banner/results')).json();
    expect(results[d.group]).toMatchObject({ decisions: 1, rewarded: 1, rate: 1 });
    const log = (await (await t.admin('/decisions/banner/log')).json()).data[0];
    expect(log).toMatchObject({ id: d.id, reward: 1, rewardEvent: 'Banner Clicked' });
    if (d.group === 'policy') expect(log.features).toEqual({ _intercept: 1, mobile: 0 });
  });

  it('ranks by a propensity score (a computed trait a model writes) and exposes only listed computed traits', async () => {
    const profile = await (await t.admin('/profiles/lookup?type=anonymous_id&value=visitor-1')).json();
    const at = t.app.clock.now();
    await t.app.apply.setComputed('default', 'p_shoes', new Map([[profile.id, 0.2]]), at);
    await t.app.apply.setComputed('default', 'p_bags', new Map([[profile.id, 0.7]]), at);
    await ok(t.admin('/decisions', {
      method: 'POST',
      json: { key: 'recs', policy: { type: 'propensity' }, offers: [{ key: 'shoes', score: 'p_shoes' }, { key: 'bags', score: 'p_bags' }, { key: 'gift', score: 'p_gift' }] },
    }));
    await ok(t.admin('/personalization', { method: 'PUT', json: { audiences: ['viewers'], computed: ['p_bags'] } }));
    const first = await json(await personalize({ anonymousId: 'visitor-1', decisions: ['recs'] }));
    expect(first.decisions.recs.offer.key).toBe('bags');
    expect(first.computed).toEqual({ p_bags: 0.7 });
    await t.app.apply.setComputed('default', 'p_shoes', new Map([[profile.id, 0.9]]), t.app.clock.now());
    expect((await json(await personalize({ anonymousId: 'visitor-1', decisions: ['recs'] }))).decisions.recs.offer.key).toBe('shoes');
    // No scores yet (an unknown visitor): definition order.
    expect((await json(await personalize({ anonymousId: 'nobody', decisions: ['recs'] }))).decisions.recs.offer.key).toBe('shoes');
    const missing = await t.admin('/decisions', { method: 'POST', json: { key: 'recs2', policy: { type: 'propensity' }, offers: [{ key: 'x' }] } });
    expect((await missing.json()).error).toMatchObject({ code: 'missing_score', path: 'offers[0].score' });
    await ok(t.admin('/personalization', { method: 'PUT', json: { audiences: ['viewers'] } }));
  });

  it('records the event sent in the same call, with the same ids and context', async () => {
    const r = await json(await personalize({ anonymousId: 'v-evt', context: { page: { path: '/shoes' } }, event: { type: 'page', name: 'Shoes' }, decisions: ['hero'] }));
    expect(r.recorded).toEqual({ accepted: 1, quarantined: 0 });
    await t.settle();
    const events = (await (await t.admin('/events?type=page&limit=5')).json()).data;
    expect(events.find((e: { message: { anonymousId: string } }) => e.message.anonymousId === 'v-evt')?.message).toMatchObject({ name: 'Shoes', context: { page: { path: '/shoes' } } });
  });

  it('answers browsers: CORS, never cached, write key in a text/plain body', async () => {
    const preflight = await fetch(`${t.url}/v1/personalize`, { method: 'OPTIONS', headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    const res = await fetch(`${t.url}/v1/personalize`, { method: 'POST', headers: { 'content-type': 'text/plain', origin: 'https://shop.example' }, body: JSON.stringify({ writeKey: t.writeKey, anonymousId: 'v-cors' }) });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(res.headers.get('cache-control')).toBe('private, no-store');
    expect(res.headers.get('vary')).toContain('Origin');
  });

  it('refuses bad input with the field named, and a missing or wrong write key', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{}, 'anonymousId'],
      [{ anonymousId: 'x', decisions: ['hero', 'nope'] }, 'decisions[1]'],
      [{ anonymousId: 'x', decisions: [''] }, 'decisions[0]'],
      [{ anonymousId: 'x', context: { page: 'home' } }, 'context.page'],
      [{ anonymousId: 'x', surprise: 1 }, 'surprise'],
      [{ anonymousId: 'x', event: { type: 'track' } }, 'event'],
    ];
    for (const [body, path] of cases) {
      const res = await personalize(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await res.json()).error.path ?? '').toContain(path);
    }
    expect((await fetch(`${t.url}/v1/personalize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"anonymousId":"x"}' })).status).toBe(401);
    expect((await personalize({ anonymousId: 'x' }, { authorization: `Basic ${Buffer.from('wrong:').toString('base64')}` })).status).toBe(401);
    expect((await personalize('{not json' as unknown as Record<string, unknown>)).status).toBe(400);

    const history = await t.admin('/decisions', { method: 'POST', json: { key: 'bad', policy: { type: 'rules' }, offers: [{ key: 'x', condition: { performed: 'Order Completed' } }] } });
    expect(history.status).toBe(400);
    expect((await history.json()).error).toMatchObject({ code: 'history_condition', path: 'offers[0].condition' });
  });
});
