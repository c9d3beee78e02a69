import { describe, expect, it } from 'vitest';
import { MessageTypes } from '../collect/message.js';
import { checkMessage } from '../collect/validate.js';
import { COUNTRIES } from './data.js';
import { generateHistory, generateProfile, type DemoMessage, type DemoProfile } from './generate.js';

const NOW = Date.parse('2026-03-15T12:00:00.000Z');
const DAY = 86_400_000;
const options = { profiles: 300, days: 30, seed: 42, now: NOW };

const history = [...generateHistory(options)];
const profiles: DemoProfile[] = Array.from({ length: 1500 }, (_, i) => generateProfile({ ...options, profiles: 1500 }, i));

const tracks = (messages: DemoMessage[], event: string) => messages.filter((m) => m.type === 'track' && m.event === event);
const props = (m: DemoMessage) => (m.type === 'track' || m.type === 'page' || m.type === 'screen' ? m.properties : {}) as Record<string, unknown>;

describe('demo history generator', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    expect(JSON.stringify([...generateHistory(options)])).toBe(JSON.stringify(history));
    const other = [...generateHistory({ ...options, seed: 43 })];
    expect(JSON.stringify(other)).not.toBe(JSON.stringify(history));
    // A profile is the same whether generated alone or within the history.
    const alone = generateProfile(options, 7).messages;
    const start = history.findIndex((m) => m.messageId === alone[0].messageId);
    expect(history.slice(start, start + alone.length)).toEqual(alone);
  });

  it('produces only messages that the collection API accepts, with unique ids', () => {
    const ids = new Set<string>();
    for (const [i, m] of history.entries()) {
      expect(MessageTypes).toContain(m.type);
      expect(checkMessage(m, m.type, `history[${i}]`, 32)).toBeUndefined();
      expect(Buffer.byteLength(JSON.stringify(m))).toBeLessThan(32 * 1024);
      ids.add(m.messageId);
    }
    expect(ids.size).toBe(history.length);
  });

  it('keeps every timestamp within the window, each profile in time order', () => {
    for (const p of profiles.slice(0, 300)) {
      let previous = -Infinity;
      for (const m of p.messages) {
        const t = Date.parse(m.timestamp);
        expect(t).toBeGreaterThanOrEqual(NOW - 30 * DAY);
        expect(t).toBeLessThanOrEqual(NOW);
        expect(t).toBeGreaterThanOrEqual(previous);
        previous = t;
      }
    }
    const short = [...generateHistory({ ...options, profiles: 100, days: 1 })];
    expect(short.length).toBeGreaterThan(100);
    for (const m of short) expect(Date.parse(m.timestamp)).toBeGreaterThanOrEqual(NOW - DAY);
  });

  it('gives every identify a userId, an anonymousId, an email and a phone, in mixed formats', () => {
    const identifies = history.filter((m) => m.type === 'identify');
    expect(identifies.length).toBeGreaterThan(50);
    const phones: string[] = [];
    for (const m of identifies) {
      if (m.type !== 'identify') continue;
      expect(m.userId).toMatch(/^usr_/);
      expect(m.anonymousId).toBeTruthy();
      expect(m.traits.email).toMatch(/^[^@\s]+@[a-z0-9.-]+\.(example|test|com|net|org)$/i);
      expect(typeof m.traits.phone).toBe('string');
      expect(m.traits).toMatchObject({ name: expect.any(String), city: expect.any(String), locale: expect.any(String), timezone: expect.any(String) });
      phones.push(m.traits.phone as string);
    }
    const e164 = phones.filter((p) => /^\+[1-9]\d{7,14}$/.test(p)).length;
    expect(e164).toBeGreaterThan(phones.length * 0.2);
    expect(e164).toBeLessThan(phones.length * 0.8);
  });

  it('follows a shop funnel: most browse, fewer add to cart, fewer check out, fewer order; some buy again', () => {
    const having = (event: string) => profiles.filter((p) => tracks(p.messages, event).length > 0).length;
    const viewed = having('Product Viewed');
    const added = having('Product Added');
    const checkout = having('Checkout Started');
    const ordered = having('Order Completed');
    expect(viewed).toBeGreaterThan(profiles.length * 0.8);
    expect(added).toBeLessThan(viewed * 0.8);
    expect(checkout).toBeLessThan(added);
    expect(ordered).toBeLessThan(checkout);
    expect(ordered).toBeGreaterThan(profiles.length * 0.1);
    expect(ordered).toBeLessThan(profiles.length * 0.5);
    const repeat = profiles.filter((p) => tracks(p.messages, 'Order Completed').length >= 2).length;
    expect(repeat).toBeGreaterThan(ordered * 0.1);
    // Visitors never sign up and so never order; sign-ups happen once, for new people only.
    for (const p of profiles) {
      if (p.kind === 'visitor') expect(p.messages.some((m) => m.userId !== undefined)).toBe(false);
      expect(tracks(p.messages, 'Signed Up')).toHaveLength(p.kind === 'new' ? 1 : 0);
    }
  });

  it('describes orders completely and consistently', () => {
    const orders = profiles.flatMap((p) => tracks(p.messages, 'Order Completed'));
    expect(orders.length).toBeGreaterThan(100);
    const orderIds = new Set<unknown>();
    for (const o of orders) {
      const p = props(o);
      expect(o.userId).toBeTruthy();
      expect(p).toMatchObject({ order_id: expect.any(String), revenue: expect.any(Number), currency: expect.stringMatching(/^[A-Z]{3}$/), store_id: expect.stringMatching(/^store-/) });
      const products = p.products as { product_id: string; name: string; category: string; price: number; quantity: number }[];
      expect(products.length).toBeGreaterThan(0);
      let subtotal = 0;
      for (const line of products) {
        expect(line).toMatchObject({ product_id: expect.any(String), name: expect.any(String), category: expect.any(String), price: expect.any(Number), quantity: expect.any(Number) });
        subtotal += Math.round(line.price * 100) * line.quantity;
      }
      expect(Math.round(((p.revenue as number) + (p.discount as number)) * 100)).toBe(subtotal);
      orderIds.add(p.order_id);
    }
    expect(orderIds.size).toBe(orders.length);
  });

  it('includes several devices per person, mobile device ids, B2B groups and e-mail engagement', () => {
    const multiDevice = profiles.filter((p) => {
      const identified = new Set(p.messages.filter((m) => m.type === 'identify').map((m) => m.anonymousId));
      return identified.size >= 2;
    });
    expect(multiDevice.length).toBeGreaterThan(profiles.length * 0.05);

    const all = profiles.flatMap((p) => p.messages);
    const withDeviceId = all.filter((m) => typeof (m.context.device as { id?: unknown } | undefined)?.id === 'string');
    expect(withDeviceId.length).toBeGreaterThan(0);
    expect(withDeviceId.length).toBeLessThan(all.length * 0.5);
    expect(all.some((m) => m.type === 'screen')).toBe(true);

    const groups = all.filter((m) => m.type === 'group');
    expect(groups.length).toBeGreaterThan(0);
    for (const g of groups) if (g.type === 'group') expect(g.traits).toMatchObject({ name: expect.any(String), plan: expect.any(String) });

    const delivered = tracks(all, 'Email Delivered').length;
    const opened = tracks(all, 'Email Opened').length;
    const clicked = tracks(all, 'Email Link Clicked');
    expect(delivered).toBeGreaterThan(opened);
    expect(opened).toBeGreaterThan(clicked.length);
    expect(clicked.length).toBeGreaterThan(0);
    for (const m of clicked) expect(props(m)).toMatchObject({ campaign_id: expect.stringMatching(/^cmp_/), link_url: expect.stringContaining('utm_campaign=') });

    const pages = all.filter((m) => m.type === 'page');
    expect(pages.some((m) => (m.context.campaign as { source?: string } | undefined)?.source === 'newsletter')).toBe(true);
    expect(pages.some((m) => (m.context.campaign as { medium?: string } | undefined)?.medium === 'cpc')).toBe(true);
    expect(pages.every((m) => typeof props(m).url === 'string' && typeof m.context.userAgent === 'string')).toBe(true);
  });

  it('has a daily rhythm in local time', () => {
    const offsets = new Map(COUNTRIES.flatMap((c) => c.cities.map((city) => [city.timezone, city.offset] as const)));
    const byHour = new Array<number>(24).fill(0);
    for (const p of profiles) {
      for (const m of p.messages) {
        if (m.type !== 'page' && m.type !== 'screen') continue;
        const offset = offsets.get(m.context.timezone as string) ?? 0;
        byHour[new Date(Date.parse(m.timestamp) + offset * 60_000).getUTCHours()]++;
      }
    }
    const night = byHour[2] + byHour[3] + byHour[4];
    const evening = byHour[19] + byHour[20] + byHour[21];
    expect(evening).toBeGreaterThan(night * 5);
  });

  it('generates lazily, so a huge history starts at once', () => {
    const started = performance.now();
    const iterator = generateHistory({ profiles: 10_000_000, days: 30, seed: 1, now: NOW });
    let taken = 0;
    for (const _ of iterator) if (++taken === 1000) break;
    expect(taken).toBe(1000);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('refuses nonsensical options', () => {
    expect(() => [...generateHistory({ ...options, days: 0 })]).toThrow(/days/);
    expect(() => [...generateHistory({ ...options, profiles: -1 })]).toThrow(/profiles/);
    expect(() => [...generateHistory({ ...options, now: Number.NaN })]).toThrow(/now/);
  });
});
