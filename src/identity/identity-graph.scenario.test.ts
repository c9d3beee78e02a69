import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTandem, type Running } from '../../test/harness.js';

const json = async (res: Response) => {
  const body = await res.json();
  if (!res.ok) throw new Error(`${res.status} ${JSON.stringify(body)}`);
  return body;
};
const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 10, minute)).toISOString();

describe('the identity graph of a profile', () => {
  let t: Running;
  beforeEach(async () => {
    t = await startTandem();
  });
  afterEach(async () => t.stop());

  it('shows identifiers as nodes, links with the events that made them, the merge and a conflict', async () => {
    // Anonymous browsing, a login, a second device that logs in too, then someone else on that device.
    await t.collect('/v1/page', { anonymousId: 'a1', name: 'Home', messageId: 'm1', timestamp: at(1) });
    await t.collect('/v1/track', { anonymousId: 'a1', event: 'Viewed', messageId: 'm2', timestamp: at(2) });
    await t.collect('/v1/identify', { anonymousId: 'a1', userId: 'u1', traits: { email: 'Ada@Example.com' }, messageId: 'm3', timestamp: at(3) });
    await t.collect('/v1/track', { anonymousId: 'a2', event: 'App Opened', context: { device: { id: 'd2' } }, messageId: 'm4', timestamp: at(4) });
    await t.collect('/v1/identify', { anonymousId: 'a2', userId: 'u1', messageId: 'm5', timestamp: at(5) });
    await t.collect('/v1/track', { userId: 'bob', event: 'App Opened', context: { device: { id: 'd2' } }, messageId: 'm6', timestamp: at(6) });
    await t.settle();

    const ada = await json(await t.admin('/profiles/lookup?type=user_id&value=u1'));
    const bob = await json(await t.admin('/profiles/lookup?type=user_id&value=bob'));
    const phone = (await json(await t.admin(`/profiles/${ada.id}/merges`))).data[0].profile as string;
    const timeline = await json(await t.admin(`/profiles/${ada.id}/events`));
    const idOf = new Map<string, number>(timeline.data.map((e: { id: number; message: { messageId: string } }) => [e.message.messageId, e.id]));
    idOf.set('m6', idOf.get('m5')! + 1);
    const ev = (messageId: string, type: string, minute: number) => ({ eventId: idOf.get(messageId), messageId, type, timestamp: at(minute), source: 'default' });

    // The merged-away id answers with the survivor's graph.
    const graph = await json(await t.admin(`/profiles/${phone}/graph`));
    expect(graph.profile).toBe(ada.id);
    expect(graph.nodes.map((n: { id: string }) => n.id).sort()).toEqual(['anonymous_id:a1', 'anonymous_id:a2', 'device_id:d2', 'email:ada@example.com', 'user_id:u1']);
    expect(graph.nodes.find((n: { id: string }) => n.id === 'anonymous_id:a1')).toEqual({ id: 'anonymous_id:a1', type: 'anonymous_id', value: 'a1', firstSeen: at(1), lastSeen: at(3), eventId: idOf.get('m1') });
    expect(graph.edges).toEqual([
      { from: 'user_id:u1', to: 'anonymous_id:a1', events: [ev('m3', 'identify', 3)], merged: false },
      { from: 'user_id:u1', to: 'email:ada@example.com', events: [ev('m3', 'identify', 3)], merged: false },
      { from: 'anonymous_id:a2', to: 'device_id:d2', events: [ev('m4', 'track', 4)], merged: false },
      { from: 'user_id:u1', to: 'anonymous_id:a2', events: [ev('m5', 'identify', 5)], merged: true },
    ]);
    expect(graph.merges).toEqual([
      { winner: ada.id, loser: phone, identifiers: [{ type: 'user_id', value: 'u1' }, { type: 'anonymous_id', value: 'a2' }], event: ev('m5', 'identify', 5), at: expect.any(String) },
    ]);
    expect(graph.conflicts).toEqual([
      expect.objectContaining({
        reason: 'user_id limit 1 would be exceeded (2)',
        dropped: [{ type: 'device_id', value: 'd2' }],
        profiles: [ada.id],
        profileId: bob.id,
        event: ev('m6', 'track', 6),
      }),
    ]);

    const bobGraph = await json(await t.admin(`/profiles/${bob.id}/graph`));
    expect(bobGraph).toMatchObject({ profile: bob.id, nodes: [{ id: 'user_id:bob' }], edges: [], merges: [], conflicts: [{ event: { messageId: 'm6' } }] });
    expect((await t.admin('/profiles/nobody/graph')).status).toBe(404);
  });
});

describe('simulating identity rules over history', () => {
  let t: Running;
  let ids: Record<string, string>;
  beforeEach(async () => {
    t = await startTandem();
    // A kiosk shared by alice and bob (kept apart today, one conflict), and two browsers on one device of which
    // the first logs in (one profile today, joined through the device).
    await t.collect('/v1/track', { userId: 'alice', event: 'E', context: { device: { id: 'kiosk' } }, messageId: 'k1', timestamp: at(1) });
    await t.collect('/v1/track', { userId: 'bob', event: 'E', context: { device: { id: 'kiosk' } }, messageId: 'k2', timestamp: at(2) });
    await t.collect('/v1/track', { anonymousId: 'a1', event: 'E', context: { device: { id: 'd1' } }, messageId: 'b1', timestamp: at(3) });
    await t.collect('/v1/track', { anonymousId: 'a2', event: 'E', context: { device: { id: 'd1' } }, messageId: 'b2', timestamp: at(4) });
    await t.collect('/v1/identify', { userId: 'u1', anonymousId: 'a1', messageId: 'b3', timestamp: at(5) });
    await t.settle();
    const lookup = async (type: string, value: string) => (await json(await t.admin(`/profiles/lookup?type=${type}&value=${value}`))).id as string;
    ids = { alice: await lookup('user_id', 'alice'), bob: await lookup('user_id', 'bob'), u1: await lookup('user_id', 'u1') };
  });
  afterEach(async () => t.stop());

  const simulate = (key: string, body: unknown) => t.admin(`/identity-rules/${key}/simulate`, { method: 'POST', json: body });

  it('reports no change for the rules in force', async () => {
    const r = await json(await simulate('default', {}));
    expect(r).toMatchObject({
      sample: { events: 5, limit: 10000 },
      current: { rules: 'default', profiles: 3, conflicts: 1 },
      candidate: { rules: 'default', profiles: 3, conflicts: 1 },
      unchanged: 3,
      identifiersChanged: 0,
      merges: { profiles: 0, into: 0 },
      splits: { profiles: 0, into: 0 },
      affectedGroups: 0,
      affected: [],
    });
    // The body is optional.
    expect((await json(await t.admin('/identity-rules/default/simulate', { method: 'POST' }))).affectedGroups).toBe(0);
  });

  it('reports the merge a draft with a looser user_id limit would make', async () => {
    const r = await json(await simulate('loose', { rules: { limits: { user_id: 2 } } }));
    expect(r).toMatchObject({
      current: { profiles: 3, conflicts: 1 },
      candidate: { rules: 'draft', profiles: 2, conflicts: 0 },
      unchanged: 1,
      merges: { profiles: 2, into: 1 },
      splits: { profiles: 0, into: 0 },
      affectedGroups: 1,
    });
    expect(r.affected).toEqual([
      {
        change: 'merge',
        current: [
          { profiles: [ids.alice], events: [1], identifiers: [{ type: 'user_id', value: 'alice' }, { type: 'device_id', value: 'kiosk' }] },
          { profiles: [ids.bob], events: [2], identifiers: [{ type: 'user_id', value: 'bob' }] },
        ],
        candidate: [{ profiles: [ids.alice, ids.bob].sort(), events: [1, 2], identifiers: [{ type: 'user_id', value: 'alice' }, { type: 'user_id', value: 'bob' }, { type: 'device_id', value: 'kiosk' }] }],
      },
    ]);
  });

  it('reports the split saved stricter rules would make, within a time window', async () => {
    await json(await t.admin('/identity-rules/strict', { method: 'PUT', json: { key: 'strict', limits: { user_id: 1, anonymous_id: 1 } } }));
    const r = await json(await simulate('strict', {}));
    expect(r).toMatchObject({
      current: { profiles: 3, conflicts: 1 },
      candidate: { rules: 'strict', profiles: 4, conflicts: 2 },
      unchanged: 2,
      merges: { profiles: 0, into: 0 },
      splits: { profiles: 1, into: 2 },
      affectedGroups: 1,
    });
    expect(r.affected).toEqual([
      {
        change: 'split',
        current: [{ profiles: [ids.u1], events: [3, 4, 5], identifiers: [{ type: 'user_id', value: 'u1' }, { type: 'anonymous_id', value: 'a1' }, { type: 'anonymous_id', value: 'a2' }, { type: 'device_id', value: 'd1' }] }],
        candidate: [
          { profiles: [ids.u1], events: [3, 5], identifiers: [{ type: 'user_id', value: 'u1' }, { type: 'anonymous_id', value: 'a1' }, { type: 'device_id', value: 'd1' }] },
          { profiles: [ids.u1], events: [4], identifiers: [{ type: 'anonymous_id', value: 'a2' }] },
        ],
      },
    ]);
    // The rules in force are untouched and the real graph is unchanged.
    expect((await json(await t.admin('/profiles/lookup?type=anonymous_id&value=a2'))).id).toBe(ids.u1);

    const windowed = await json(await simulate('strict', { from: at(3), to: at(5), limit: 100 }));
    expect(windowed).toMatchObject({ sample: { events: 2, firstEventId: 3, lastEventId: 4, from: at(3), to: at(5) }, splits: { profiles: 1, into: 2 } });
    expect((await json(await simulate('strict', { limit: 2 }))).sample).toMatchObject({ events: 2, lastEventId: 2 });
  });

  it('refuses an invalid draft naming the field, an unknown key and an empty window', async () => {
    const bad = await simulate('draft', { rules: { blocked: { patterns: ['(['] } } });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.path).toBe('rules.blocked.patterns[0]');
    const badLimit = await simulate('draft', { rules: { limits: { user_id: 0 } } });
    expect(badLimit.status).toBe(400);
    expect((await badLimit.json()).error.path).toMatch(/^rules\.limits/);
    const unknownField = await simulate('default', { limt: 5 });
    expect(unknownField.status).toBe(400);
    expect((await simulate('missing', {})).status).toBe(404);
    const window = await simulate('default', { from: at(5), to: at(1) });
    expect(window.status).toBe(400);
    expect((await window.json()).error.path).toBe('to');
  });
});
