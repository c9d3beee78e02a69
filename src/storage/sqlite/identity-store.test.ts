import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { Message } from '../../collect/message.js';
import { ManualClock } from '../../core/clock.js';
import type { StoredEvent } from '../../core/ports/store.js';
import { ResolveStage } from '../../identity/resolve-stage.js';
import { ActiveIdentityRules } from '../../identity/rules.js';
import { openSqliteIdentityStore } from './identity-store.js';

const event = (id: number, m: Partial<Message>): StoredEvent => ({
  id,
  workspaceId: 'w',
  sourceId: 's',
  violations: [],
  message: { type: 'track', messageId: `m${id}`, context: {}, integrations: {}, timestamp: '2026-01-01T00:00:00.000Z', receivedAt: '2026-01-01T00:00:00.000Z', ...m },
});

const count = (db: Database.Database, table: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;

describe('SQLite identity store', () => {
  it('commits a batch and its position together: a failure leaves nothing, and the retry resolves the same way', async () => {
    const db = new Database(':memory:');
    const identity = openSqliteIdentityStore(db);
    const events = [event(1, { userId: 'u1' }), event(2, { userId: 'u2' }), event(3, { userId: 'u1', anonymousId: 'a1' })];
    const source = { after: async (afterId: number, limit: number) => events.filter((e) => e.id > afterId).slice(0, limit) };
    const rules = new ActiveIdentityRules({ get: async () => undefined });

    // A fault half-way through the commit (at the third event's timeline row) rolls the whole batch back.
    db.exec(`CREATE TRIGGER fail_third BEFORE INSERT ON identity_event_profiles WHEN NEW.event_id = 3 BEGIN SELECT RAISE(ABORT, 'disk on fire'); END`);
    let issued = 0;
    const crashing = new ResolveStage(source, identity, rules, new ManualClock(), undefined, () => `x${++issued}`);
    await expect(crashing.process(10)).rejects.toThrow(/disk on fire/);
    for (const table of ['identity_profiles', 'identity_identifiers', 'identity_event_profiles', 'identity_links', 'identity_positions']) expect(count(db, table), table).toBe(0);
    db.exec('DROP TRIGGER fail_third');

    let n = 0;
    const stage = new ResolveStage(source, identity, rules, new ManualClock(), undefined, () => `p${++n}`);
    await stage.drain();
    expect(await identity.position('resolve')).toBe(3);
    expect(await identity.lookup('w', { type: 'anonymous_id', value: 'a1' })).toBe('p1');
    expect((await identity.profile('w', 'p1'))?.identifiers.map((i) => i.value)).toEqual(['a1', 'u1']);
    // Nothing left to do: a second drain changes nothing.
    await stage.drain();
    expect(count(db, 'identity_profiles')).toBe(2);
  });

  it('keeps workspaces apart: the same identifier in two workspaces is two profiles', async () => {
    const db = new Database(':memory:');
    const identity = openSqliteIdentityStore(db);
    const events = [event(1, { userId: 'u1' }), { ...event(2, { userId: 'u1' }), workspaceId: 'other' }];
    let n = 0;
    const stage = new ResolveStage({ after: async (a) => events.filter((e) => e.id > a) }, identity, new ActiveIdentityRules({ get: async () => undefined }), new ManualClock(), undefined, () => `p${++n}`);
    await stage.drain();
    expect(await identity.lookup('w', { type: 'user_id', value: 'u1' })).toBe('p1');
    expect(await identity.lookup('other', { type: 'user_id', value: 'u1' })).toBe('p2');
    expect(await identity.profile('other', 'p1')).toBeUndefined();
    expect(await identity.canonical('other', 'p1')).toBeUndefined();
  });

  it('a stage whose commit failed resolves the retry against the committed graph, not what it resolved in memory', async () => {
    const db = new Database(':memory:');
    const identity = openSqliteIdentityStore(db);
    const events = [event(1, { userId: 'u1' }), event(2, { anonymousId: 'a1' }), event(3, { userId: 'u1', anonymousId: 'a1' }), event(4, { anonymousId: 'a2' })];
    const source = { after: async (afterId: number, limit: number) => events.filter((e) => e.id > afterId).slice(0, limit) };
    let n = 0;
    const stage = new ResolveStage(source, identity, new ActiveIdentityRules({ get: async () => undefined }), new ManualClock(), undefined, () => `p${++n}`);
    await stage.process(2);
    // The second batch merges p2 into p1 in memory, then its commit fails.
    db.exec(`CREATE TRIGGER fail_fourth BEFORE INSERT ON identity_event_profiles WHEN NEW.event_id = 4 BEGIN SELECT RAISE(ABORT, 'disk on fire'); END`);
    await expect(stage.process(2)).rejects.toThrow(/disk on fire/);
    db.exec('DROP TRIGGER fail_fourth');
    await stage.drain();
    expect(await identity.lookup('w', { type: 'anonymous_id', value: 'a1' })).toBe('p1');
    expect(await identity.canonical('w', 'p2')).toBe('p1');
    expect(await identity.lookup('w', { type: 'anonymous_id', value: 'a2' })).toBe('p4'); // p3: the failed batch's
    expect(count(db, "identity_profiles WHERE merged_into IS NULL")).toBe(2);
    expect(stage.residentSize()).toEqual({ profiles: 2, identifiers: 3 });
  });

  it('drops the graph it holds in memory after an exclusive turn: an erased identifier starts a new profile', async () => {
    const db = new Database(':memory:');
    const identity = openSqliteIdentityStore(db);
    const events = [event(1, { anonymousId: 'a1' }), event(2, { userId: 'u1' }), event(3, { userId: 'u1', anonymousId: 'a1' })];
    let n = 0;
    const stage = new ResolveStage({ after: async (a) => events.filter((e) => e.id > a) }, identity, new ActiveIdentityRules({ get: async () => undefined }), new ManualClock(), undefined, () => `p${++n}`);
    await stage.drain();
    // p2 was created and merged into p1 within the one batch.
    expect(stage.residentSize()).toEqual({ profiles: 1, identifiers: 2 });
    // What privacy erasure does to the graph, in the stage's exclusive turn.
    await stage.exclusive(async () => void db.exec("DELETE FROM identity_identifiers; UPDATE identity_profiles SET merged_into = 'gone'"));
    events.push(event(4, { userId: 'u1' }));
    await stage.drain();
    expect(await identity.lookup('w', { type: 'user_id', value: 'u1' })).toBe('p3');
    expect(stage.residentSize()).toEqual({ profiles: 1, identifiers: 1 });
  });

  it('defers sightings of known identifiers to a log folded into their rows; reads, a reopened store and settle() agree', async () => {
    const db = new Database(':memory:');
    const t = (day: number) => `2026-01-${String(day).padStart(2, '0')}T00:00:00.000Z`;
    const ms = (day: number) => Date.parse(t(day));
    const events = [
      event(1, { userId: 'u1', timestamp: t(10) }),
      event(2, { userId: 'u2', timestamp: t(10) }),
      event(3, { userId: 'u1', timestamp: t(12) }),
      event(4, { userId: 'u1', timestamp: t(5) }), // late: moves first seen back
      event(5, { userId: 'u2', timestamp: t(10) }), // moves nothing: not logged
      event(6, { userId: 'u3', anonymousId: 'a3', timestamp: t(1) }),
      event(7, { userId: 'u3', timestamp: t(2) }),
      event(8, { anonymousId: 'a3', timestamp: t(3) }),
    ];
    const source = { after: async (afterId: number, limit: number) => events.filter((e) => e.id > afterId).slice(0, limit) };
    const rules = new ActiveIdentityRules({ get: async () => undefined });
    let n = 0;
    const identity = openSqliteIdentityStore(db, { foldAt: 3 });
    const stage = new ResolveStage(source, identity, rules, new ManualClock(), undefined, () => `p${++n}`);
    const seen = async (store: typeof identity, id: string) => (await store.profile('w', id))!.identifiers.map((i) => [i.value, i.firstSeen, i.lastSeen]);
    const rows = () => db.prepare('SELECT value, first_seen, last_seen FROM identity_identifiers ORDER BY value').raw().all();

    for (let i = 0; i < 5; i++) await stage.process(1);
    // u1's two later sightings wait in the log; its row still says what the first event said.
    expect(count(db, 'identity_identifier_seen')).toBe(2);
    expect(rows()).toEqual([['u1', ms(10), ms(10)], ['u2', ms(10), ms(10)]]);
    expect(await seen(identity, 'p1')).toEqual([['u1', ms(5), ms(12)]]);
    expect(await seen(identity, 'p2')).toEqual([['u2', ms(10), ms(10)]]);
    // A store opened on the same file (a restart) reads the log back.
    expect(await seen(openSqliteIdentityStore(db, { foldAt: 3 }), 'p1')).toEqual([['u1', ms(5), ms(12)]]);

    // Three identifiers with waiting sightings reach foldAt: the log is folded into the rows in the same commit.
    while (await stage.process(1)) { /* one event per batch */ }
    expect(count(db, 'identity_identifier_seen')).toBe(0);
    expect(rows()).toEqual([['a3', ms(1), ms(3)], ['u1', ms(5), ms(12)], ['u2', ms(10), ms(10)], ['u3', ms(1), ms(2)]]);
    expect(await seen(identity, 'p3')).toEqual([['a3', ms(1), ms(3)], ['u3', ms(1), ms(2)]]);

    events.push(event(9, { userId: 'u2', timestamp: t(20) }));
    await stage.drain();
    expect(count(db, 'identity_identifier_seen')).toBe(1);
    await identity.settle();
    expect(count(db, 'identity_identifier_seen')).toBe(0);
    expect(rows()).toContainEqual(['u2', ms(10), ms(20)]);
    expect(await seen(identity, 'p2')).toEqual([['u2', ms(10), ms(20)]]);
  });

  it('refuses to issue a profile id twice rather than corrupt the graph', async () => {
    const identity = openSqliteIdentityStore(new Database(':memory:'));
    const events = [event(1, { userId: 'u1' }), event(2, { userId: 'u2' })];
    const stage = new ResolveStage({ after: async (a) => events.filter((e) => e.id > a) }, identity, new ActiveIdentityRules({ get: async () => undefined }), new ManualClock(), undefined, () => 'same');
    await expect(stage.process(10)).rejects.toThrow(/issued twice/);
    expect(await identity.position('resolve')).toBe(0);
  });
});
