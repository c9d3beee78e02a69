import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTandem, type Running } from '../../test/harness.js';

const json = async (res: Response) => {
  const body = await res.json();
  if (!res.ok) throw new Error(`${res.status} ${JSON.stringify(body)}`);
  return body;
};

describe('identity resolution through the server', () => {
  let t: Running;
  beforeEach(async () => {
    t = await startTandem();
  });
  afterEach(async () => t.stop());

  const lookup = (type: string, value: string) => t.admin(`/profiles/lookup?type=${type}&value=${encodeURIComponent(value)}`);

  it('merges anonymous browsing into the profile at login: same profile by either id, one timeline', async () => {
    await t.collect('/v1/page', { anonymousId: 'anon-1', name: 'Home', messageId: 'p1' });
    await t.collect('/v1/track', { anonymousId: 'anon-1', event: 'Product Viewed', messageId: 'p2' });
    await t.collect('/v1/identify', { anonymousId: 'anon-1', userId: 'user-1', traits: { email: ' Ada@Example.com ' }, messageId: 'p3' });
    await t.collect('/v1/track', { userId: 'user-1', event: 'Order Completed', messageId: 'p4' });
    await t.settle();

    const byAnonymous = await json(await lookup('anonymous_id', 'anon-1'));
    const byUser = await json(await lookup('user_id', 'user-1'));
    const byEmail = await json(await lookup('email', 'ADA@example.com'));
    expect(byUser.id).toBe(byAnonymous.id);
    expect(byEmail.id).toBe(byAnonymous.id);
    expect(byUser.identifiers.map((i: { type: string; value: string }) => `${i.type}:${i.value}`).sort()).toEqual(['anonymous_id:anon-1', 'email:ada@example.com', 'user_id:user-1']);
    expect(byUser).toMatchObject({ traits: { email: ' Ada@Example.com ' }, computed: {}, audiences: [] });

    const timeline = await json(await t.admin(`/profiles/${byUser.id}/events`));
    expect(timeline.data.map((e: { message: { messageId: string } }) => e.message.messageId)).toEqual(['p4', 'p3', 'p2', 'p1']);
    const page = await json(await t.admin(`/profiles/${byUser.id}/events?limit=3`));
    expect(page.data).toHaveLength(3);
    const rest = await json(await t.admin(`/profiles/${byUser.id}/events?limit=3&before=${page.next}`));
    expect(rest.data.map((e: { message: { messageId: string } }) => e.message.messageId)).toEqual(['p1']);
  });

  it('merges two existing profiles into the older one, keeps the old id resolvable and records the evidence', async () => {
    await t.collect('/v1/track', { userId: 'user-1', anonymousId: 'laptop', event: 'Signed In', messageId: 'm1' });
    await t.collect('/v1/track', { anonymousId: 'phone', event: 'App Opened', messageId: 'm2' });
    await t.settle();
    const older = await json(await lookup('user_id', 'user-1'));
    const younger = await json(await lookup('anonymous_id', 'phone'));
    expect(younger.id).not.toBe(older.id);

    await t.collect('/v1/identify', { userId: 'user-1', anonymousId: 'phone', messageId: 'm3' });
    await t.settle();
    const merged = await json(await t.admin(`/profiles/${younger.id}`));
    expect(merged.id).toBe(older.id);
    expect(merged.mergedFrom).toEqual([younger.id]);
    expect((await json(await lookup('anonymous_id', 'phone'))).id).toBe(older.id);
    const timeline = await json(await t.admin(`/profiles/${younger.id}/events`));
    expect(timeline.data.map((e: { message: { messageId: string } }) => e.message.messageId)).toEqual(['m3', 'm2', 'm1']);
    const merges = await json(await t.admin(`/profiles/${older.id}/merges`));
    expect(merges.data).toEqual([expect.objectContaining({ profile: younger.id, messageId: 'm3', identifiers: [{ type: 'user_id', value: 'user-1' }, { type: 'anonymous_id', value: 'phone' }] })]);
  });

  it('keeps two users of a shared device apart under user_id limit 1 and records the conflict', async () => {
    await t.collect('/v1/track', { userId: 'alice', event: 'Checked In', context: { device: { id: 'kiosk-7' } }, messageId: 'k1' });
    await t.collect('/v1/track', { userId: 'bob', event: 'Checked In', context: { device: { id: 'kiosk-7' } }, messageId: 'k2' });
    await t.settle();

    const alice = await json(await lookup('user_id', 'alice'));
    const bob = await json(await lookup('user_id', 'bob'));
    expect(alice.id).not.toBe(bob.id);
    expect((await json(await lookup('device_id', 'kiosk-7'))).id).toBe(alice.id);
    expect(bob.identifiers.map((i: { type: string }) => i.type)).toEqual(['user_id']);

    const conflicts = await json(await t.admin(`/identity-conflicts?profile=${bob.id}`));
    expect(conflicts.data).toEqual([
      expect.objectContaining({
        messageId: 'k2',
        profileId: bob.id,
        reason: 'user_id limit 1 would be exceeded (2)',
        identifiers: [{ type: 'user_id', value: 'bob' }, { type: 'device_id', value: 'kiosk-7' }],
        dropped: [{ type: 'device_id', value: 'kiosk-7' }],
        profiles: [alice.id],
      }),
    ]);
    const bobEvents = await json(await t.admin(`/profiles/${bob.id}/events`));
    expect(bobEvents.data.map((e: { message: { messageId: string } }) => e.message.messageId)).toEqual(['k2']);
  });

  it('links an alias previousId to the new user id', async () => {
    await t.collect('/v1/track', { anonymousId: 'cookie-9', event: 'Viewed', messageId: 'a1' });
    await t.collect('/v1/alias', { userId: 'user-9', previousId: 'cookie-9', messageId: 'a2' });
    await t.settle();
    expect((await json(await lookup('user_id', 'user-9'))).id).toBe((await json(await lookup('anonymous_id', 'cookie-9'))).id);
  });

  it('ignores blocked identifier values', async () => {
    await t.collect('/v1/track', { userId: 'null', anonymousId: '00000000-0000-0000-0000-000000000000', event: 'E', context: { device: { id: 'anonymous' } } });
    await t.collect('/v1/track', { userId: 'carol', anonymousId: '0', event: 'E' });
    await t.settle();
    expect((await lookup('user_id', 'null')).status).toBe(404);
    const carol = await json(await lookup('user_id', 'carol'));
    expect(carol.identifiers).toHaveLength(1);
  });

  it('resolves with saved identity rules and refuses invalid ones with the field named', async () => {
    const defaults = await json(await t.admin('/identity-rules/default'));
    expect(defaults).toMatchObject({ key: 'default', limits: { user_id: 1 }, defaultLimit: 5, priority: ['user_id', 'email', 'phone', 'anonymous_id', 'device_id'] });

    const bad = await t.admin('/identity-rules/default', { method: 'PUT', json: { key: 'default', blocked: { patterns: ['(['] } } });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.path).toBe('blocked.patterns[0]');
    const badLimit = await t.admin('/identity-rules/default', { method: 'PUT', json: { key: 'default', limits: { user_id: 0 } } });
    expect(badLimit.status).toBe(400);

    // Two user ids per profile: the shared device now joins both users.
    const saved = await json(await t.admin('/identity-rules/default', { method: 'PUT', json: { key: 'default', limits: { user_id: 2 } } }));
    expect(saved.blocked.values).toContain('anonymous');
    await t.collect('/v1/track', { userId: 'alice', event: 'E', context: { device: { id: 'tablet' } } });
    await t.collect('/v1/track', { userId: 'bob', event: 'E', context: { device: { id: 'tablet' } } });
    await t.settle();
    expect((await json(await lookup('user_id', 'bob'))).id).toBe((await json(await lookup('user_id', 'alice'))).id);
    const list = await json(await t.admin('/identity-rules'));
    expect(list.data.map((r: { key: string }) => r.key)).toEqual(['default']);
  });

  it('resumes after a restart from its committed position, without resolving an event twice', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tandem-identity-'));
    try {
      let first = await startTandem({ dataDir });
      await first.collect('/v1/track', { anonymousId: 'a1', event: 'E', messageId: 'r1' });
      await first.settle();
      const before = await json(await first.admin('/profiles/lookup?type=anonymous_id&value=a1'));
      await first.stop();

      const writeKey = first.writeKey;
      first = await startTandem({ dataDir });
      // The source exists already, so this start shows no write key: use the first one's.
      await first.collect('/v1/identify', { anonymousId: 'a1', userId: 'u1', messageId: 'r2' }, { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` });
      await first.settle();
      const after = await json(await first.admin('/profiles/lookup?type=user_id&value=u1'));
      expect(after.id).toBe(before.id);
      const timeline = await json(await first.admin(`/profiles/${after.id}/events`));
      expect(timeline.data.map((e: { message: { messageId: string } }) => e.message.messageId)).toEqual(['r2', 'r1']);
      await first.stop();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
