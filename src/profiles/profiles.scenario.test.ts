import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTandem, type Running } from '../../test/harness.js';

const json = async (res: Response) => {
  const body = await res.json();
  if (!res.ok) throw new Error(`${res.status} ${JSON.stringify(body)}`);
  return body;
};

describe('unified profiles through the server', () => {
  let t: Running;
  beforeEach(async () => {
    t = await startTandem();
  });
  afterEach(async () => t.stop());

  const profileOf = async (type: string, value: string) => json(await t.admin(`/profiles/lookup?type=${type}&value=${encodeURIComponent(value)}`));

  it('keeps the trait with the latest event timestamp, not the latest arrival, with lineage', async () => {
    await t.collect('/v1/identify', { userId: 'u1', traits: { plan: 'pro', city: 'Paris' }, timestamp: '2026-03-02T10:00:00.000Z', messageId: 'late' });
    await t.collect('/v1/identify', { userId: 'u1', traits: { plan: 'free', age: 41 }, timestamp: '2026-03-01T10:00:00.000Z', messageId: 'early' });
    await t.settle();
    const p = await profileOf('user_id', 'u1');
    expect(p.traits).toEqual({ plan: 'pro', city: 'Paris', age: 41 });
    expect(p.lineage.plan).toEqual({ rule: 'last', source: 'default', messageId: 'late', eventId: expect.any(Number), time: '2026-03-02T10:00:00.000Z' });
    expect(p.lineage.age).toMatchObject({ messageId: 'early', time: '2026-03-01T10:00:00.000Z' });
    expect(p.identifiers[0]).toEqual({ type: 'user_id', value: 'u1', firstSeen: '2026-03-01T10:00:00.000Z', lastSeen: '2026-03-02T10:00:00.000Z' });
    expect(p).toMatchObject({ firstSeen: '2026-03-01T10:00:00.000Z', lastSeen: '2026-03-02T10:00:00.000Z' });
  });

  it('applies per-trait rules (first value) and re-applies survivorship over both histories on merge', async () => {
    await json(await t.admin('/identity-rules/default', { method: 'PUT', json: { key: 'default', survivorship: { traits: { signup_channel: { rule: 'first' } } } } }));
    await t.collect('/v1/identify', { anonymousId: 'a1', traits: { signup_channel: 'ads', color: 'red' }, timestamp: '2026-03-01T00:00:00.000Z', messageId: 'i1' });
    await t.collect('/v1/identify', { userId: 'u1', traits: { signup_channel: 'email', color: 'blue' }, timestamp: '2026-03-02T00:00:00.000Z', messageId: 'i2' });
    await t.settle();
    expect((await profileOf('user_id', 'u1')).traits).toEqual({ signup_channel: 'email', color: 'blue' });

    // An older color arrives for the anonymous profile, then the two merge.
    await t.collect('/v1/identify', { anonymousId: 'a1', traits: { color: 'green' }, timestamp: '2026-03-01T12:00:00.000Z', messageId: 'i3' });
    await t.collect('/v1/track', { userId: 'u1', anonymousId: 'a1', event: 'Signed In', timestamp: '2026-03-03T00:00:00.000Z', messageId: 'i4' });
    await t.settle();
    const merged = await profileOf('anonymous_id', 'a1');
    expect(merged.traits).toEqual({ signup_channel: 'ads', color: 'blue' });
    expect(merged.lineage.signup_channel).toMatchObject({ rule: 'first', messageId: 'i1' });
    expect(merged.lineage.color).toMatchObject({ rule: 'last', messageId: 'i2' });
  });

  it('finds profiles by identifier prefix and by trait value', async () => {
    await t.collect('/v1/identify', { userId: 'u1', traits: { email: 'ada@example.com', city: 'Lyon' } });
    await t.collect('/v1/identify', { userId: 'u2', traits: { email: 'bob@example.com', city: 'Paris', vip: true, score: 7 } });
    await t.settle();
    const byPrefix = await json(await t.admin('/profiles?q=ADA@'));
    expect(byPrefix.data.map((p: { traits: { city: string } }) => p.traits.city)).toEqual(['Lyon']);
    expect((await json(await t.admin('/profiles?q=Paris'))).data.map((p: { traits: { email: string } }) => p.traits.email)).toEqual(['bob@example.com']);
    expect((await json(await t.admin('/profiles?q=7'))).data).toHaveLength(1);
    expect((await json(await t.admin('/profiles?q=nobody'))).data).toEqual([]);
  });

  it('pages through every profile and through a search with the `next` cursor, each profile once', async () => {
    // Seven people: p0..p6, each with a user id and an e-mail; p3 also has the trait plan = 'user-x'.
    const batch = Array.from({ length: 7 }, (_, i) => ({ type: 'identify', userId: `user-${i}`, traits: { email: `user-${i}@example.com`, ...(i === 3 ? { plan: 'user-x' } : {}) } }));
    expect((await t.collect('/v1/batch', { batch })).status).toBe(200);
    await t.settle();
    const walk = async (query: string) => {
      const pages: string[][] = [];
      let after: string | undefined;
      do {
        const page = await json(await t.admin(`/profiles?${query}&limit=3${after ? `&after=${encodeURIComponent(after)}` : ''}`));
        pages.push(page.data.map((p: { identifiers: { type: string; value: string }[] }) => p.identifiers.find((i) => i.type === 'user_id')!.value));
        after = page.next;
      } while (after && pages.length < 10);
      return pages;
    };
    const all = await walk('q=');
    expect(all.map((p) => p.length)).toEqual([3, 3, 1]);
    expect(all.flat().sort()).toEqual(['user-0', 'user-1', 'user-2', 'user-3', 'user-4', 'user-5', 'user-6']);
    // By prefix: each person has two identifiers starting with "user-" (user id and e-mail), yet shows once a page.
    const byPrefix = await walk('q=user-');
    for (const page of byPrefix) expect(new Set(page).size).toBe(page.length);
    expect([...new Set(byPrefix.flat())].sort()).toEqual(['user-0', 'user-1', 'user-2', 'user-3', 'user-4', 'user-5', 'user-6']);
    // A trait value: only p3.
    expect((await walk('q=user-x')).flat()).toEqual(['user-3']);
    expect((await t.admin('/profiles?after=not-a-cursor')).status).toBe(400);
  });

  it('answers 404 with the error shape for unknown profiles and identifiers', async () => {
    const res = await t.admin('/profiles/nope');
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe('not_found');
    expect((await t.admin('/profiles/nope/events')).status).toBe(404);
    expect((await t.admin('/profiles/lookup?type=email&value=x@example.com')).status).toBe(404);
    expect((await t.admin('/profiles/lookup?type=email')).status).toBe(400);
  });
});
