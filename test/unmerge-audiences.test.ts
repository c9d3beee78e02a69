import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTandem, type Running } from './harness.js';

// Identity edits and the apply stage together: an unmerge moves events between profiles, and each profile's
// computed traits and audiences must then follow its own events only.
const json = async (res: Response) => {
  const body = await res.json();
  if (!res.ok) throw new Error(`${res.status} ${JSON.stringify(body)}`);
  return body;
};
const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 10, minute)).toISOString();

describe('unmerge and audiences', () => {
  let t: Running;
  beforeEach(async () => {
    t = await startTandem();
  });
  afterEach(async () => t.stop());

  const profileOf = async (email: string) => json(await t.admin(`/profiles/lookup?type=email&value=${encodeURIComponent(email)}`));

  it('after an unmerge each person keeps only the audiences and computed traits of their own events', async () => {
    await json(await t.admin('/traits', { method: 'POST', json: { key: 'orders', event: 'Order Completed', compute: { count: true } } }));
    await json(await t.admin('/audiences', { method: 'POST', json: { key: 'buyers', condition: { performed: 'Order Completed' } } }));
    await json(await t.admin('/audiences', { method: 'POST', json: { key: 'browsers', condition: { performed: 'Product Viewed' } } }));
    await t.collect('/v1/identify', { anonymousId: 'a-ada', traits: { email: 'ada@example.com' }, messageId: 'ada-1', timestamp: at(1) });
    await t.collect('/v1/identify', { anonymousId: 'a-bob', traits: { email: 'bob@example.com' }, messageId: 'bob-1', timestamp: at(2) });
    await t.collect('/v1/track', { anonymousId: 'a-ada', event: 'Order Completed', messageId: 'ada-2', timestamp: at(3) });
    await t.collect('/v1/track', { anonymousId: 'a-bob', event: 'Product Viewed', messageId: 'bob-2', timestamp: at(4) });
    // A shared tablet joins them: the merged profile is in both audiences.
    await t.collect('/v1/track', { anonymousId: 'a-ada', event: 'Opened', context: { device: { id: 'tablet-1' } }, messageId: 'ada-3', timestamp: at(5) });
    await t.collect('/v1/track', { anonymousId: 'a-bob', event: 'Opened', context: { device: { id: 'tablet-1' } }, messageId: 'bob-3', timestamp: at(6) });
    await t.settle();
    const merged = await profileOf('bob@example.com');
    expect(merged.audiences).toEqual(['browsers', 'buyers']);
    expect(merged.computed).toMatchObject({ orders: 1 });

    await json(await t.admin(`/profiles/${merged.id}/unmerge`, { method: 'POST', json: { identifier: { type: 'device_id', value: 'tablet-1' } } }));
    await t.settle();
    await t.app.apply.drain();
    const ada = await profileOf('ada@example.com');
    const bob = await profileOf('bob@example.com');
    expect(ada.id).not.toBe(bob.id);
    expect(ada.audiences).toEqual(['buyers']);
    expect(ada.computed).toMatchObject({ orders: 1 });
    expect(bob.audiences).toEqual(['browsers']);
    expect(bob.computed).toMatchObject({ orders: 0 });
    const members = async (key: string) => (await json(await t.admin(`/audiences/${key}/members`))).data.map((m: { profile_id?: string; profileId?: string; id?: string }) => m.profile_id ?? m.profileId ?? m.id);
    expect(await members('buyers')).toEqual([ada.id]);
    expect(await members('browsers')).toEqual([bob.id]);
  });
});
