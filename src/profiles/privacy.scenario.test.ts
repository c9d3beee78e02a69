import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTandem, type Running } from '../../test/harness.js';

const json = async (res: Response) => {
  const body = await res.json();
  if (!res.ok) throw new Error(`${res.status} ${JSON.stringify(body)}`);
  return body;
};

// Distinctive values, so that finding one anywhere can only mean a trace of the deleted person.
const ADA = { userId: 'uid-lovelace-7731', anonymousId: 'anon-lovelace-5519', email: 'augusta.lovelace@example.com', phone: '+14155550199', device: 'dev-lovelace-8842', name: 'Augusta Lovelace' };
const ADA_MIDS = ['mid-lovelace-1', 'mid-lovelace-2', 'mid-lovelace-3', 'mid-lovelace-4', 'mid-lovelace-q'];
// Ada's group calls: an account only she names, and one she shares with Bob (docs/decisions/0007).
const ADA_ACCOUNT = { groupId: 'acct-lovelace-4471', name: 'Lovelace Analytical Engines' };
const ADA_GROUP_MIDS = ['mid-lovelace-g1', 'mid-lovelace-g2'];
const NEEDLES = [ADA.userId, ADA.anonymousId, ADA.email, ADA.phone, ADA.device, ADA.name, ...ADA_MIDS, ADA_ACCOUNT.groupId, ADA_ACCOUNT.name, ...ADA_GROUP_MIDS];

const PLAN = {
  key: 'shop',
  events: { 'Order Completed': { type: 'object', required: ['total'], properties: { total: { type: 'number' } } } },
  unplannedEvents: 'allow',
};

/** Every row of every table of a SQLite file (tables listed from sqlite_master, so new ones are covered). */
function sqliteDump(file: string): Map<string, string> {
  const db = new Database(file);
  try {
    const out = new Map<string, string>();
    for (const { name } of db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]) {
      out.set(name, JSON.stringify(db.prepare(`SELECT * FROM "${name}"`).all()));
    }
    return out;
  } finally {
    db.close();
  }
}

function checkpoint(file: string): void {
  const db = new Database(file);
  try {
    const [r] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    expect(r.busy, `checkpoint of ${file}`).toBe(0);
  } finally {
    db.close();
  }
}

const bigintSafe = (value: unknown) => JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));

describe('privacy through the server', () => {
  let t: Running;
  beforeEach(async () => {
    t = await startTandem();
  });
  afterEach(async () => t.stop());

  const lookup = (type: string, value: string) => t.admin(`/profiles/lookup?type=${type}&value=${encodeURIComponent(value)}`);

  /** Ada and Bob share log batches; Ada has a merge, a conflict (Bob's kiosk), a subscription and a quarantined message. */
  async function seed(): Promise<{ ada: string; bob: string }> {
    expect((await t.admin('/tracking-plans', { method: 'POST', json: PLAN })).status).toBe(201);
    expect((await t.admin('/sources/default', { method: 'PUT', json: { key: 'default', trackingPlan: 'shop', mode: 'block' } })).status).toBe(200);
    await t.collect('/v1/track', { userId: 'bob-1', event: 'Checked In', context: { device: { id: 'kiosk-1' } }, messageId: 'bob-0' });
    const batch = await t.collect('/v1/batch', {
      batch: [
        { type: 'page', anonymousId: ADA.anonymousId, name: 'Home', messageId: ADA_MIDS[0], timestamp: '2026-01-01T10:00:00Z' },
        { type: 'track', userId: 'bob-1', event: 'Product Viewed', properties: { sku: 'b-1' }, messageId: 'bob-1' },
        {
          type: 'identify', anonymousId: ADA.anonymousId, userId: ADA.userId, messageId: ADA_MIDS[1], timestamp: '2026-01-01T10:01:00Z',
          traits: { email: ADA.email, phone: ADA.phone, name: ADA.name, subscriptions: { marketing_email: 'subscribed' } },
        },
        { type: 'track', userId: 'bob-1', event: 'Order Completed', properties: { total: 5 }, messageId: 'bob-2' },
        { type: 'track', userId: ADA.userId, event: 'Order Completed', properties: { total: 12.5 }, context: { device: { id: ADA.device } }, messageId: ADA_MIDS[2], timestamp: '2026-01-01T10:02:00Z' },
        { type: 'group', userId: 'bob-1', groupId: 'acme-shared', traits: { plan: 'team' }, messageId: 'bob-g1', timestamp: '2026-01-01T09:00:00Z' },
        { type: 'group', userId: ADA.userId, groupId: ADA_ACCOUNT.groupId, traits: { name: ADA_ACCOUNT.name }, messageId: ADA_GROUP_MIDS[0], timestamp: '2026-01-01T10:04:00Z' },
        { type: 'group', userId: ADA.userId, groupId: 'acme-shared', traits: { plan: 'enterprise', owner: ADA.name }, messageId: ADA_GROUP_MIDS[1], timestamp: '2026-01-01T10:05:00Z' },
      ],
    });
    expect(batch.status).toBe(200);
    // Ada on Bob's kiosk: under user_id limit 1 a conflict is recorded for her event.
    await t.collect('/v1/track', { userId: ADA.userId, event: 'Checked In', context: { device: { id: 'kiosk-1' } }, messageId: ADA_MIDS[3], timestamp: '2026-01-01T10:03:00Z' });
    // Held in quarantine (total is not a number), carrying her email.
    const held = await json(await t.collect('/v1/track', { userId: ADA.userId, event: 'Order Completed', properties: { total: 'lots' }, context: { traits: { email: ADA.email } }, messageId: ADA_MIDS[4] }));
    expect(held.quarantined).toBe(1);
    await t.settle();
    await t.app.sink.drain();
    const ada = (await json(await lookup('email', ADA.email))).id as string;
    const bob = (await json(await lookup('user_id', 'bob-1'))).id as string;
    return { ada, bob };
  }

  const bobMessages = (file: string) => {
    const db = new Database(file, { readonly: true });
    try {
      const rows = db.prepare('SELECT payload FROM log').all() as { payload: string }[];
      return rows.flatMap((r) => (JSON.parse(r.payload) as { message: { messageId: string } }[]).filter((e) => e.message.messageId.startsWith('bob-')));
    } finally {
      db.close();
    }
  };

  it('erases a deleted profile from every table of store.db and log.db, the warehouse and the raw files; other people survive intact', async () => {
    // A journey her order enters: its instance (with the triggering event), entry and trail hold her.
    const journey = { key: 'after_order', trigger: { type: 'event', event: 'Order Completed' }, start: 'wait', nodes: { wait: { type: 'wait', duration: '1d' } } };
    expect((await t.admin('/journeys', { method: 'POST', json: journey })).status).toBe(201);
    const { ada, bob } = await seed();
    await t.app.journeys.drain();
    const storeFile = join(t.dataDir, 'store.db');
    const logFile = join(t.dataDir, 'log.db');
    // The seed really put Ada everywhere the scan looks.
    const before = [...sqliteDump(storeFile).values(), ...sqliteDump(logFile).values()].join('\n');
    for (const needle of NEEDLES) expect(before, needle).toContain(needle);
    expect(bigintSafe(await t.app.warehouse.query('SELECT * FROM events'))).toContain(ADA.email);
    const bobBefore = bobMessages(logFile);
    expect(bobBefore.map((e) => e.message.messageId).sort()).toEqual(['bob-0', 'bob-1', 'bob-2', 'bob-g1']);
    const bobTimeline = await json(await t.admin(`/profiles/${bob}/events`));

    // The new tables held her too before the deletion: her account links, account events and account traits.
    const tables = sqliteDump(storeFile);
    expect(tables.get('account_profiles')).toContain(ada);
    expect(tables.get('identity_accounts')).toContain(ADA_ACCOUNT.groupId);
    expect(tables.get('account_trait_values')).toContain(ADA_GROUP_MIDS[1]);
    expect((await json(await t.admin('/accounts/acme-shared'))).traits).toEqual({ plan: 'enterprise', owner: ADA.name });
    for (const table of ['journey_instances', 'journey_entries', 'journey_trail']) {
      expect(tables.get(table), table).toContain(ada);
      expect(tables.get(table), table).toContain(ADA_MIDS[2]);
    }

    const res = await t.admin(`/profiles/${ada}`, { method: 'DELETE' });
    const answer = await json(res);
    expect(answer).toMatchObject({ profile: ada, erased: { events: 6, quarantine: 1, conflicts: 1, merges: 0, complete: true, logMessages: 7 } });
    await t.app.privacy.idle();

    expect((await t.admin(`/profiles/${ada}`)).status).toBe(404);
    expect((await lookup('email', ADA.email)).status).toBe(404);

    for (const file of [storeFile, logFile]) {
      for (const [table, rows] of sqliteDump(file)) for (const needle of NEEDLES) expect(rows.includes(needle), `${needle} in ${file} table ${table}`).toBe(false);
    }
    // Journey state is keyed by the profile id: none of it is left (Bob's stays).
    const after = sqliteDump(storeFile);
    for (const [table, rows] of after) if (table.startsWith('journey_')) expect(rows.includes(ada), `${ada} in ${table}`).toBe(false);
    expect(after.get('journey_instances')).toContain(bob);
    const warehouse = bigintSafe(await t.app.warehouse.query('SELECT * FROM events'));
    for (const needle of NEEDLES) expect(warehouse.includes(needle), `${needle} in the warehouse`).toBe(false);
    expect(warehouse).toContain('bob-2');

    // The raw bytes: after a checkpoint nothing remains in the data files, their WALs or free pages.
    checkpoint(storeFile);
    checkpoint(logFile);
    for (const file of [storeFile, `${storeFile}-wal`, logFile, `${logFile}-wal`]) {
      if (!existsSync(file)) continue;
      const bytes = readFileSync(file);
      for (const needle of NEEDLES) expect(bytes.includes(needle), `${needle} in the bytes of ${file}`).toBe(false);
    }

    const duck = join(t.dataDir, 'warehouse.duckdb');
    for (const file of [duck, `${duck}.wal`]) {
      if (!existsSync(file)) continue;
      const bytes = readFileSync(file);
      for (const needle of NEEDLES) expect(bytes.includes(needle), `${needle} in the bytes of ${file}`).toBe(false);
    }

    // Bob: his messages in the rewritten log batches are intact, his profile and timeline unchanged.
    expect(bobMessages(logFile)).toEqual(bobBefore);
    // The account she shared keeps Bob, with what his calls said; the one only she named is gone.
    expect(await json(await t.admin('/accounts/acme-shared'))).toMatchObject({ traits: { plan: 'team' }, profiles: [{ id: bob }] });
    expect((await t.admin(`/accounts/${ADA_ACCOUNT.groupId}`)).status).toBe(404);
    expect((await json(await t.admin(`/profiles/${bob}`))).accounts).toEqual(['acme-shared']);
    expect(await json(await t.admin(`/profiles/${bob}/events`))).toEqual(bobTimeline);
    expect((await json(await lookup('user_id', 'bob-1'))).identifiers.map((i: { value: string }) => i.value).sort()).toEqual(['bob-1', 'kiosk-1']);

    const audit = (await json(await t.admin('/audit'))).data as { action: string; target: string; detail: unknown }[];
    const entry = audit.find((a) => a.action === 'profile.delete');
    expect(entry).toMatchObject({ target: ada });
    for (const needle of NEEDLES) expect(JSON.stringify(entry)).not.toContain(needle);
  });

  it('erasure after unmerges leaves no unmerge record, separation or unmerge block that names the person', async () => {
    await t.collect('/v1/identify', { anonymousId: ADA.anonymousId, traits: { email: ADA.email }, messageId: ADA_MIDS[0], timestamp: '2026-01-01T10:00:00Z' });
    await t.collect('/v1/track', { anonymousId: ADA.anonymousId, event: 'Opened', context: { device: { id: 'tablet-shared' } }, messageId: ADA_MIDS[1], timestamp: '2026-01-01T10:01:00Z' });
    await t.collect('/v1/track', { anonymousId: 'bob-anon', event: 'Opened', context: { device: { id: 'tablet-shared' } }, messageId: 'bob-1', timestamp: '2026-01-01T10:02:00Z' });
    await t.collect('/v1/identify', { anonymousId: ADA.anonymousId, traits: { phone: ADA.phone }, context: { device: { id: ADA.device } }, messageId: ADA_MIDS[2], timestamp: '2026-01-01T10:03:00Z' });
    await t.settle();
    const ada = (await json(await lookup('email', ADA.email))).id as string;
    expect((await json(await lookup('anonymous_id', 'bob-anon'))).id).toBe(ada);
    const link = { from: { type: 'anonymous_id', value: ADA.anonymousId }, to: { type: 'device_id', value: 'tablet-shared' } };
    const split = await json(await t.admin(`/profiles/${ada}/unmerge`, { method: 'POST', json: { link } }));
    const bob = split.profiles[1].id as string;
    expect((await json(await lookup('anonymous_id', 'bob-anon'))).id).toBe(bob);
    await json(await t.admin(`/profiles/${ada}/unmerge`, { method: 'POST', json: { identifier: { type: 'device_id', value: ADA.device } } }));
    const storeFile = join(t.dataDir, 'store.db');
    const needles = [ADA.anonymousId, ADA.email, ADA.phone, ADA.device, ...ADA_MIDS.slice(0, 3)];
    const before = sqliteDump(storeFile);
    for (const table of ['identity_unmerges', 'identity_separations', 'identity_blocked']) expect(before.get(table), table).toContain(table === 'identity_blocked' ? ADA.device : ADA.anonymousId);

    await json(await t.admin(`/profiles/${ada}`, { method: 'DELETE' }));
    await t.app.privacy.idle();
    for (const [table, rows] of sqliteDump(storeFile)) for (const needle of needles) expect(rows.includes(needle), `${needle} in table ${table}`).toBe(false);
    // Bob keeps his profile; the unmerge record that concerned both went, as a conflict record does.
    expect((await json(await lookup('anonymous_id', 'bob-anon'))).id).toBe(bob);
    expect((await json(await t.admin(`/profiles/${bob}/graph`))).unmerges).toEqual([]);
    expect((await json(await t.admin(`/profiles/${bob}/events`))).data.map((e: { message: { messageId: string } }) => e.message.messageId)).toEqual(['bob-1']);
  });

  it('after a restart the warehouse does not copy erased events again and the tombstones still apply', async () => {
    const { ada } = await seed();
    await json(await t.admin(`/profiles/${ada}`, { method: 'DELETE' }));
    const dataDir = t.dataDir;
    const count = async () => Number((await t.app.warehouse.query('SELECT COUNT(*) AS n FROM events'))[0].n);
    const before = await count();
    await t.app.close();
    t = await startTandem({ dataDir });
    try {
      await t.settle();
      await t.app.sink.drain();
      expect(await count()).toBe(before);
      const warehouse = bigintSafe(await t.app.warehouse.query('SELECT * FROM events'));
      for (const needle of NEEDLES) expect(warehouse.includes(needle), needle).toBe(false);
      await t.collect('/v1/identify', { userId: 'uid-other', traits: { email: ADA.email }, messageId: 'later-1' });
      await t.settle();
      expect((await lookup('email', ADA.email)).status).toBe(404);
    } finally {
      await t.app.close();
      t = await startTandem(); // afterEach stops this one
    }
  });

  it('does not race the stages: a deletion amid collection leaves no identifier of the person in the graph', async () => {
    const { ada } = await seed();
    const traffic = (async () => {
      for (let i = 0; i < 20; i++) {
        await t.collect('/v1/batch', {
          batch: [
            { type: 'track', userId: 'bob-1', event: 'Product Viewed', properties: { sku: `s${i}` }, messageId: `bob-t${i}` },
            { type: 'identify', userId: ADA.userId, anonymousId: `anon-lovelace-late-${i}`, traits: { email: ADA.email }, messageId: `mid-lovelace-late-${i}` },
          ],
        });
      }
    })();
    const deleted = t.admin(`/profiles/${ada}`, { method: 'DELETE' });
    await traffic;
    expect((await deleted).status).toBe(200);
    await t.settle();
    await t.app.privacy.idle();
    expect((await lookup('user_id', ADA.userId)).status).toBe(404);
    const store = sqliteDump(join(t.dataDir, 'store.db'));
    for (const table of ['identity_identifiers', 'identity_links', 'profile_trait_values', 'events']) {
      for (const needle of [ADA.userId, ADA.email, 'anon-lovelace']) expect(store.get(table)!.includes(needle), `${needle} in ${table}`).toBe(false);
    }
    expect((await json(await t.admin(`/profiles/${(await json(await lookup('user_id', 'bob-1'))).id}/events?limit=1000`))).data.length).toBe(4 + 20);
  });

  it('suppresses a later event from a deleted email: no new profile, and the event itself is erased', async () => {
    await t.collect('/v1/identify', { userId: ADA.userId, traits: { email: ADA.email }, messageId: 'mid-lovelace-1' });
    await t.settle();
    const ada = (await json(await lookup('email', ADA.email))).id;
    expect((await json(await t.admin('/privacy/default'))).afterDeletion).toBe('suppress');
    await json(await t.admin(`/profiles/${ada}`, { method: 'DELETE' }));

    await t.collect('/v1/identify', { userId: 'uid-someone-new', traits: { email: ` ${ADA.email.toUpperCase()} ` }, messageId: 'mid-lovelace-2' });
    await t.collect('/v1/track', { userId: 'carol-1', event: 'Signed In', messageId: 'carol-1' });
    await t.settle();
    await t.app.privacy.idle();
    expect((await lookup('email', ADA.email)).status).toBe(404);
    expect((await lookup('user_id', 'uid-someone-new')).status).toBe(404);
    expect((await lookup('user_id', 'carol-1')).status).toBe(200);
    expect((await json(await t.admin('/events?messageId=mid-lovelace-2'))).data).toEqual([]);
    const log = [...sqliteDump(join(t.dataDir, 'log.db')).values()].join('\n');
    expect(log).not.toContain('mid-lovelace-2');
    expect(log).toContain('carol-1');
  });

  it("with afterDeletion 'allow', a later event from a deleted email starts a fresh profile", async () => {
    expect((await json(await t.admin('/privacy/default', { method: 'PUT', json: { key: 'default', afterDeletion: 'allow' } }))).afterDeletion).toBe('allow');
    await t.collect('/v1/identify', { userId: ADA.userId, traits: { email: ADA.email }, messageId: 'mid-lovelace-1' });
    await t.settle();
    const ada = (await json(await lookup('email', ADA.email))).id;
    await json(await t.admin(`/profiles/${ada}`, { method: 'DELETE' }));
    await t.collect('/v1/identify', { userId: ADA.userId, traits: { email: ADA.email }, messageId: 'mid-lovelace-2' });
    await t.settle();
    const fresh = await json(await lookup('email', ADA.email));
    expect(fresh.id).not.toBe(ada);
    expect((await json(await t.admin(`/profiles/${fresh.id}/events`))).data.map((e: { message: { messageId: string } }) => e.message.messageId)).toEqual(['mid-lovelace-2']);
  });

  it('exports everything held about the person, and audits the export', async () => {
    const { ada } = await seed();
    const exported = await json(await t.admin(`/profiles/${ada}/export`));
    expect(exported.profile).toMatchObject({ id: ada, traits: { email: ADA.email, name: ADA.name } });
    expect(exported.profile.lineage.name).toMatchObject({ messageId: ADA_MIDS[1] });
    expect(exported.identifiers.map((i: { type: string; value: string }) => `${i.type}:${i.value}`).sort()).toEqual(
      [`anonymous_id:${ADA.anonymousId}`, `device_id:${ADA.device}`, `email:${ADA.email}`, `phone:${ADA.phone}`, `user_id:${ADA.userId}`].sort(),
    );
    expect(exported.traits).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'name', value: ADA.name, first: expect.objectContaining({ messageId: ADA_MIDS[1] }) })]));
    const exportedIds = exported.events.map((e: { message: { messageId: string } }) => e.message.messageId);
    expect(exportedIds.filter((m: string) => !ADA_GROUP_MIDS.includes(m))).toEqual(ADA_MIDS.slice(0, 4));
    expect(exportedIds.filter((m: string) => ADA_GROUP_MIDS.includes(m))).toEqual(ADA_GROUP_MIDS);
    expect(exported.accounts).toEqual([expect.objectContaining({ groupId: ADA_ACCOUNT.groupId }), expect.objectContaining({ groupId: 'acme-shared' })]);
    expect(exported.profile.accounts).toEqual([ADA_ACCOUNT.groupId, 'acme-shared']);
    expect(exported.conflicts).toEqual([expect.objectContaining({ messageId: ADA_MIDS[3] })]);
    expect(exported.merges).toEqual([]);
    expect(exported.quarantine).toEqual([expect.objectContaining({ messageId: ADA_MIDS[4], status: 'held' })]);
    expect(exported.subscriptions).toMatchObject({ marketing_email: { status: 'subscribed', source: 'trait', messageId: ADA_MIDS[1] } });
    const audit = (await json(await t.admin('/audit'))).data as { action: string; target: string }[];
    expect(audit).toEqual(expect.arrayContaining([expect.objectContaining({ action: 'profile.export', target: ada })]));
    expect((await t.admin('/profiles/nope/export')).status).toBe(404);
  });

  it('keeps subscriptions per group from traits, events and the API: the latest change wins', async () => {
    await t.collect('/v1/identify', { userId: 'sub-1', traits: { subscriptions: { marketing_email: 'subscribed', sms: 'subscribed' } }, messageId: 's1', timestamp: '2026-01-01T00:00:00Z' });
    await t.collect('/v1/track', { userId: 'sub-1', event: 'Unsubscribed', properties: { group: 'marketing_email' }, messageId: 's2', timestamp: '2026-01-02T00:00:00Z' });
    // Arrives last but happened first: it does not override the later unsubscribe.
    await t.collect('/v1/identify', { userId: 'sub-1', traits: { subscriptions: { marketing_email: 'subscribed' } }, messageId: 's3', timestamp: '2025-12-01T00:00:00Z' });
    await t.settle();
    const profile = await json(await lookup('user_id', 'sub-1'));
    expect(profile.subscriptions).toMatchObject({
      marketing_email: { status: 'unsubscribed', source: 'event', messageId: 's2', at: '2026-01-02T00:00:00.000Z' },
      sms: { status: 'subscribed', source: 'trait', messageId: 's1' },
    });

    const put = await json(await t.admin(`/profiles/${profile.id}/subscriptions/marketing_email`, { method: 'PUT', json: { status: 'subscribed' } }));
    expect(put.data.marketing_email).toMatchObject({ status: 'subscribed', source: 'api' });
    expect((await json(await t.admin(`/profiles/${profile.id}`))).subscriptions.marketing_email).toMatchObject({ status: 'subscribed', source: 'api' });
    expect((await t.admin(`/profiles/${profile.id}/subscriptions/sms`, { method: 'PUT', json: { status: 'maybe' } })).status).toBe(400);

    // A later event wins over the API change.
    await t.collect('/v1/track', { userId: 'sub-1', event: 'Unsubscribed', properties: { group: 'marketing_email' }, messageId: 's4', timestamp: new Date(Date.now() + 60_000).toISOString() });
    await t.settle();
    expect((await json(await t.admin(`/profiles/${profile.id}/subscriptions`))).data.marketing_email).toMatchObject({ status: 'unsubscribed', source: 'event', messageId: 's4' });
  });
});
