import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTandem, type Running } from '../../test/harness.js';

const json = async (res: Response) => {
  const body = await res.json();
  if (!res.ok) throw new Error(`${res.status} ${JSON.stringify(body)}`);
  return body;
};
const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 10, minute)).toISOString();
type Timeline = { data: { message: { messageId: string } }[] };
const messageIds = (t: Timeline) => t.data.map((e) => e.message.messageId);
const ids = (p: { identifiers: { type: string; value: string }[] }) => p.identifiers.map((i) => `${i.type}:${i.value}`).sort();

describe('unmerge and blocked identifiers through the server', () => {
  let t: Running;
  beforeEach(async () => {
    t = await startTandem();
  });
  afterEach(async () => t.stop());

  const lookup = (type: string, value: string) => t.admin(`/profiles/lookup?type=${type}&value=${encodeURIComponent(value)}`);
  const profileOf = async (type: string, value: string) => json(await lookup(type, value));
  const events = async (id: string) => messageIds(await json(await t.admin(`/profiles/${id}/events`)));

  it('unmerge restores two people with their own events, traits and accounts; the shared identifier links nobody after', async () => {
    const recomputed: { workspaceId: string; profileIds: string[] }[] = [];
    t.app.identityGraph.onProfilesRecomputed((workspaceId, profileIds) => recomputed.push({ workspaceId, profileIds }));
    await t.collect('/v1/identify', { anonymousId: 'a-ada', traits: { email: 'ada@example.com', name: 'Ada', plan: 'pro' }, messageId: 'ada-1', timestamp: at(1) });
    await t.collect('/v1/identify', { anonymousId: 'a-bob', traits: { email: 'bob@example.com', name: 'Bob' }, messageId: 'bob-1', timestamp: at(2) });
    await t.collect('/v1/group', { anonymousId: 'a-bob', groupId: 'bob-co', traits: { name: 'Bob & Co' }, messageId: 'bob-2', timestamp: at(3) });
    await t.settle();
    const ada = (await profileOf('email', 'ada@example.com')).id as string;
    const bob = (await profileOf('email', 'bob@example.com')).id as string;
    expect(bob).not.toBe(ada);

    // One family tablet: both browse on it, and the device id joins them.
    await t.collect('/v1/track', { anonymousId: 'a-ada', event: 'Opened', context: { device: { id: 'tablet-1' } }, messageId: 'ada-2', timestamp: at(4) });
    await t.collect('/v1/track', { anonymousId: 'a-bob', event: 'Opened', context: { device: { id: 'tablet-1' } }, messageId: 'bob-3', timestamp: at(5) });
    await t.settle();
    const merged = await profileOf('email', 'bob@example.com');
    expect(merged).toMatchObject({ id: ada, mergedFrom: [bob], traits: { name: 'Bob', plan: 'pro' }, accounts: ['bob-co'] });

    const res = await json(await t.admin(`/profiles/${bob}/unmerge`, { method: 'POST', json: { identifier: { type: 'device_id', value: 'tablet-1' } } }));
    expect(res.unmerge).toMatchObject({ profile: ada, kind: 'identifier', identifiers: [{ type: 'device_id', value: 'tablet-1' }], profiles: [ada, bob], events: 5 });
    expect(res.profiles).toEqual([
      { id: ada, identifiers: [{ type: 'email', value: 'ada@example.com' }, { type: 'anonymous_id', value: 'a-ada' }], events: 2 },
      { id: bob, identifiers: [{ type: 'email', value: 'bob@example.com' }, { type: 'anonymous_id', value: 'a-bob' }], events: 3 },
    ]);
    expect(res.unresolved).toBe(0);

    // Each person by their own email: their own id, events, traits with lineage, and accounts.
    const adaNow = await profileOf('email', 'ada@example.com');
    const bobNow = await profileOf('email', 'bob@example.com');
    expect(adaNow).toMatchObject({ id: ada, traits: { name: 'Ada', plan: 'pro', email: 'ada@example.com' }, mergedFrom: [], accounts: [] });
    expect(adaNow.lineage.name).toMatchObject({ messageId: 'ada-1' });
    expect(ids(adaNow)).toEqual(['anonymous_id:a-ada', 'email:ada@example.com']);
    expect(bobNow).toMatchObject({ id: bob, traits: { name: 'Bob', email: 'bob@example.com' }, mergedFrom: [], accounts: ['bob-co'] });
    expect(bobNow.traits.plan).toBeUndefined();
    expect(ids(bobNow)).toEqual(['anonymous_id:a-bob', 'email:bob@example.com']);
    expect(await events(ada)).toEqual(['ada-2', 'ada-1']);
    expect(await events(bob)).toEqual(['bob-3', 'bob-2', 'bob-1']);
    expect((await json(await t.admin('/accounts/bob-co'))).profiles.map((p: { id: string }) => p.id)).toEqual([bob]);
    expect((await lookup('device_id', 'tablet-1')).status).toBe(404);
    expect((await json(await t.admin(`/profiles/${ada}/merges`))).data).toEqual([]);

    // Visible and audited: the graph shows the unmerge, the blocked list the identifier, the audit the action.
    const graph = await json(await t.admin(`/profiles/${bob}/graph`));
    expect(graph.unmerges).toEqual([expect.objectContaining({ kind: 'identifier', profile: ada, profiles: [ada, bob] })]);
    expect(graph.merges).toEqual([]);
    expect((await json(await t.admin('/blocked-identifiers'))).data).toEqual([expect.objectContaining({ type: 'device_id', value: 'tablet-1', reason: 'unmerge', profile: ada })]);
    const audit = (await json(await t.admin('/audit'))).data as { action: string; target: string; detail: unknown }[];
    expect(audit.find((a) => a.action === 'profile.unmerge')).toMatchObject({ target: ada });
    expect(JSON.stringify(audit.find((a) => a.action === 'profile.unmerge'))).not.toContain('tablet-1');
    expect(recomputed).toEqual([{ workspaceId: 'default', profileIds: [ada, bob] }]);

    // A removed identifier stays removed: the tablet again links nobody.
    await t.collect('/v1/track', { anonymousId: 'a-ada', event: 'Opened', context: { device: { id: 'tablet-1' } }, messageId: 'ada-3', timestamp: at(6) });
    await t.collect('/v1/track', { anonymousId: 'a-bob', event: 'Opened', context: { device: { id: 'tablet-1' } }, messageId: 'bob-4', timestamp: at(7) });
    await t.settle();
    expect((await profileOf('email', 'bob@example.com')).id).toBe(bob);
    expect(await events(ada)).toEqual(['ada-3', 'ada-2', 'ada-1']);
    expect(await events(bob)).toEqual(['bob-4', 'bob-3', 'bob-2', 'bob-1']);
    expect((await lookup('device_id', 'tablet-1')).status).toBe(404);
  });

  it('unmerge by link keeps its two ends apart: a later event repeating the link is a conflict, not a merge', async () => {
    await t.collect('/v1/page', { anonymousId: 'a1', name: 'Home', messageId: 'm1', timestamp: at(1) });
    await t.collect('/v1/identify', { anonymousId: 'a1', userId: 'u1', traits: { name: 'Ada' }, messageId: 'm2', timestamp: at(2) });
    await t.settle();
    const p = (await profileOf('user_id', 'u1')).id as string;
    expect((await profileOf('anonymous_id', 'a1')).id).toBe(p);

    const res = await json(await t.admin(`/profiles/${p}/unmerge`, { method: 'POST', json: { link: { from: { type: 'user_id', value: 'u1' }, to: { type: 'anonymous_id', value: 'a1' } } } }));
    expect(res.profiles).toHaveLength(2);
    expect(res.profiles[0]).toEqual({ id: p, identifiers: [{ type: 'anonymous_id', value: 'a1' }], events: 1 });
    const user = res.profiles[1].id as string;
    expect(res.profiles[1]).toEqual({ id: user, identifiers: [{ type: 'user_id', value: 'u1' }], events: 1 });
    expect((await profileOf('user_id', 'u1'))).toMatchObject({ id: user, traits: { name: 'Ada' } });
    expect((await profileOf('anonymous_id', 'a1'))).toMatchObject({ id: p, traits: {} });

    // The same link again: refused and recorded, with the unmerge as the reason.
    await t.collect('/v1/track', { anonymousId: 'a1', userId: 'u1', event: 'Viewed', messageId: 'm3', timestamp: at(3) });
    await t.settle();
    expect((await profileOf('anonymous_id', 'a1')).id).toBe(p);
    expect((await profileOf('user_id', 'u1')).id).toBe(user);
    expect(await events(user)).toEqual(['m3', 'm2']);
    const conflicts = (await json(await t.admin(`/identity-conflicts?profile=${user}`))).data;
    expect(conflicts).toEqual([expect.objectContaining({ reason: 'user_id:u1 and anonymous_id:a1 were separated by an unmerge', dropped: [{ type: 'anonymous_id', value: 'a1' }], messageId: 'm3' })]);
    expect((await json(await t.admin(`/profiles/${p}/graph`))).unmerges).toEqual([expect.objectContaining({ kind: 'link', profiles: [p, user] })]);
  });

  it('blocking a kiosk device id with split gives back the three people it joined; later events with it link nothing', async () => {
    for (const n of [1, 2, 3]) {
      await t.collect('/v1/page', { anonymousId: `a${n}`, name: 'Home', messageId: `p${n}`, timestamp: at(n) });
    }
    await t.settle();
    const before = await Promise.all([1, 2, 3].map(async (n) => (await profileOf('anonymous_id', `a${n}`)).id as string));
    for (const n of [1, 2, 3]) {
      await t.collect('/v1/identify', { anonymousId: `a${n}`, traits: { email: `person${n}@example.com`, name: `Person ${n}` }, context: { device: { id: 'kiosk-7' } }, messageId: `k${n}`, timestamp: at(10 + n) });
    }
    await t.settle();
    const joined = await profileOf('device_id', 'kiosk-7');
    expect(joined.id).toBe(before[0]);
    expect(joined.mergedFrom.sort()).toEqual([before[1], before[2]].sort());

    const res = await t.admin('/blocked-identifiers', { method: 'POST', json: { type: 'device_id', value: ' kiosk-7 ', split: true } });
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body.blocked).toMatchObject({ type: 'device_id', value: 'kiosk-7', reason: 'block', profile: before[0] });
    expect(body.split.profiles.map((p: { id: string }) => p.id)).toEqual(before);
    for (const n of [1, 2, 3]) {
      const person = await profileOf('email', `person${n}@example.com`);
      expect(person).toMatchObject({ id: before[n - 1], traits: { name: `Person ${n}` }, mergedFrom: [] });
      expect(ids(person)).toEqual([`anonymous_id:a${n}`, `email:person${n}@example.com`]);
      expect(await events(person.id)).toEqual([`k${n}`, `p${n}`]);
    }
    expect((await lookup('device_id', 'kiosk-7')).status).toBe(404);

    // From now on the kiosk links nobody: each new event stays with its own person.
    await t.collect('/v1/track', { anonymousId: 'a2', event: 'Checked In', context: { device: { id: 'kiosk-7' } }, messageId: 'n2', timestamp: at(20) });
    await t.collect('/v1/track', { anonymousId: 'a3', event: 'Checked In', context: { device: { id: 'kiosk-7' } }, messageId: 'n3', timestamp: at(21) });
    await t.collect('/v1/track', { event: 'Checked In', anonymousId: 'null', context: { device: { id: 'kiosk-7' } }, messageId: 'n4', timestamp: at(22) });
    await t.settle();
    expect((await lookup('device_id', 'kiosk-7')).status).toBe(404);
    expect(await events(before[1])).toEqual(['n2', 'k2', 'p2']);
    expect(await events(before[2])).toEqual(['n3', 'k3', 'p3']);
    expect((await profileOf('anonymous_id', 'a3')).id).toBe(before[2]);
    expect((await json(await t.admin(`/profiles/${before[0]}/graph`))).unmerges).toEqual([expect.objectContaining({ kind: 'block', profiles: before })]);
  });

  it('blocks without splitting, lists and unblocks identifiers', async () => {
    await t.collect('/v1/track', { userId: 'u1', event: 'E', context: { device: { id: 'shared-1' } }, messageId: 'm1' });
    await t.settle();
    const u1 = (await profileOf('user_id', 'u1')).id as string;
    expect((await t.admin('/blocked-identifiers', { method: 'POST', json: { type: 'device_id', value: 'shared-1' } })).status).toBe(201);
    expect((await t.admin('/blocked-identifiers', { method: 'POST', json: { type: 'device_id', value: 'shared-1' } })).status).toBe(200);
    // Without split the profile keeps it, but a new event carrying it links nothing.
    expect((await profileOf('device_id', 'shared-1')).id).toBe(u1);
    await t.collect('/v1/track', { anonymousId: 'anon-9', event: 'E', context: { device: { id: 'shared-1' } }, messageId: 'm2' });
    await t.settle();
    expect((await profileOf('anonymous_id', 'anon-9')).id).not.toBe(u1);
    expect((await json(await t.admin('/blocked-identifiers'))).data).toEqual([expect.objectContaining({ type: 'device_id', value: 'shared-1', reason: 'block', profile: null })]);

    expect((await t.admin('/blocked-identifiers/device_id/shared-1', { method: 'DELETE' })).status).toBe(204);
    expect((await t.admin('/blocked-identifiers/device_id/shared-1', { method: 'DELETE' })).status).toBe(404);
    expect((await json(await t.admin('/blocked-identifiers'))).data).toEqual([]);
    await t.collect('/v1/track', { anonymousId: 'anon-10', event: 'E', context: { device: { id: 'shared-1' } }, messageId: 'm3' });
    await t.settle();
    expect((await profileOf('anonymous_id', 'anon-10')).id).toBe(u1);
    expect((await t.admin('/blocked-identifiers', { method: 'POST', json: { type: 'Device', value: 'x' } })).status).toBe(400);
  });

  it('refuses unmerges that name nothing the profile holds, with the field', async () => {
    await t.collect('/v1/identify', { userId: 'u1', anonymousId: 'a1', messageId: 'm1' });
    await t.settle();
    const p = (await profileOf('user_id', 'u1')).id as string;
    const post = (id: string, body: unknown) => t.admin(`/profiles/${id}/unmerge`, { method: 'POST', json: body });
    expect((await post('nobody', { identifier: { type: 'user_id', value: 'u1' } })).status).toBe(404);
    const notHeld = await post(p, { identifier: { type: 'email', value: 'x@example.com' } });
    expect(notHeld.status).toBe(400);
    expect((await notHeld.json()).error).toMatchObject({ code: 'not_held', path: 'identifier' });
    const both = await post(p, { identifier: { type: 'user_id', value: 'u1' }, link: { from: { type: 'user_id', value: 'u1' }, to: { type: 'anonymous_id', value: 'a1' } } });
    expect((await both.json()).error).toMatchObject({ code: 'invalid_body' });
    const noLink = await post(p, { link: { from: { type: 'anonymous_id', value: 'a1' }, to: { type: 'anonymous_id', value: 'a1' } } });
    expect((await noLink.json()).error).toMatchObject({ code: 'invalid_value', path: 'link.to' });
    // Nothing was changed by the refusals.
    expect((await json(await t.admin(`/profiles/${p}/graph`))).unmerges).toEqual([]);
    expect(ids(await profileOf('user_id', 'u1'))).toEqual(['anonymous_id:a1', 'user_id:u1']);
  });
});
