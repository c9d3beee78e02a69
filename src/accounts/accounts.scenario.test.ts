import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTandem, type Running } from '../../test/harness.js';

const json = async (res: Response) => {
  const body = await res.json();
  if (!res.ok) throw new Error(`${res.status} ${JSON.stringify(body)}`);
  return body;
};
const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 10, minute)).toISOString();

describe('accounts from group calls', () => {
  let t: Running;
  beforeEach(async () => {
    t = await startTandem();
  });
  afterEach(async () => t.stop());

  const profileOf = async (type: string, value: string) => json(await t.admin(`/profiles/lookup?type=${type}&value=${encodeURIComponent(value)}`));

  it('a group call creates an account with its traits (latest by event timestamp, with lineage), linked to the profile', async () => {
    await t.collect('/v1/group', { userId: 'u-ada', groupId: 'acme', traits: { name: 'Acme', plan: 'free', seats: 5 }, messageId: 'g1', timestamp: at(1) });
    await t.collect('/v1/group', { userId: 'u-bob', groupId: 'acme', traits: { plan: 'pro' }, messageId: 'g2', timestamp: at(3) });
    // Arrives last but happened before Bob's call: it does not override his plan.
    await t.collect('/v1/group', { userId: 'u-ada', groupId: 'acme', traits: { plan: 'enterprise', seats: 9 }, messageId: 'g3', timestamp: at(2) });
    await t.collect('/v1/group', { userId: 'u-ada', groupId: 'initech', messageId: 'g4', timestamp: at(4) });
    await t.settle();
    const ada = (await profileOf('user_id', 'u-ada')).id as string;
    const bob = (await profileOf('user_id', 'u-bob')).id as string;

    const acme = await json(await t.admin('/accounts/acme'));
    expect(acme).toMatchObject({
      groupId: 'acme',
      traits: { name: 'Acme', plan: 'pro', seats: 9 },
      lineage: { plan: { messageId: 'g2', source: 'default', time: at(3) }, seats: { messageId: 'g3', time: at(2) }, name: { messageId: 'g1' } },
      firstSeen: at(1),
      lastSeen: at(3),
    });
    expect(acme.profiles).toEqual([
      { id: ada, firstSeen: at(1), lastSeen: at(2), eventId: expect.any(Number) },
      { id: bob, firstSeen: at(3), lastSeen: at(3), eventId: expect.any(Number) },
    ]);
    expect(await json(await t.admin('/accounts/initech'))).toMatchObject({ groupId: 'initech', traits: {}, profiles: [{ id: ada }] });
    expect((await json(await t.admin(`/profiles/${ada}`))).accounts).toEqual(['acme', 'initech']);
    expect((await json(await t.admin(`/profiles/${bob}`))).accounts).toEqual(['acme']);
    // The group call's traits are the account's, not the person's.
    expect((await json(await t.admin(`/profiles/${ada}`))).traits).toEqual({});

    expect((await json(await t.admin('/accounts?q=ac'))).data.map((a: { groupId: string }) => a.groupId)).toEqual(['acme']);
    expect((await json(await t.admin('/accounts?q=pro'))).data.map((a: { groupId: string }) => a.groupId)).toEqual(['acme']);
    expect((await json(await t.admin('/accounts?q=enterprise'))).data).toEqual([]);
    const missing = await t.admin('/accounts/nope');
    expect(missing.status).toBe(404);
    expect((await missing.json()).error).toMatchObject({ code: 'not_found' });
  });

  it('account links follow merges: an anonymous visitor’s account joins the profile at login', async () => {
    await t.collect('/v1/group', { anonymousId: 'anon-9', groupId: 'globex', traits: { name: 'Globex' }, messageId: 'g1', timestamp: at(1) });
    await t.collect('/v1/track', { userId: 'u-ada', event: 'Signed Up', messageId: 'm1', timestamp: at(2) });
    await t.collect('/v1/group', { userId: 'u-ada', groupId: 'acme', messageId: 'g2', timestamp: at(3) });
    await t.settle();
    const anon = (await profileOf('anonymous_id', 'anon-9')).id as string;
    const ada = (await profileOf('user_id', 'u-ada')).id as string;
    expect((await json(await t.admin('/accounts/globex'))).profiles.map((p: { id: string }) => p.id)).toEqual([anon]);

    await t.collect('/v1/identify', { userId: 'u-ada', anonymousId: 'anon-9', messageId: 'm2', timestamp: at(4) });
    await t.settle();
    const merged = await profileOf('user_id', 'u-ada');
    expect(merged.id).toBe(anon); // the anonymous profile is older: it survives
    expect(merged.mergedFrom).toEqual([ada]);
    expect(merged.accounts).toEqual(['globex', 'acme']);
    expect((await json(await t.admin('/accounts/acme'))).profiles).toEqual([{ id: anon, firstSeen: at(3), lastSeen: at(3), eventId: expect.any(Number) }]);
  });
});
