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

  it('refuses to issue a profile id twice rather than corrupt the graph', async () => {
    const identity = openSqliteIdentityStore(new Database(':memory:'));
    const events = [event(1, { userId: 'u1' }), event(2, { userId: 'u2' })];
    const stage = new ResolveStage({ after: async (a) => events.filter((e) => e.id > a) }, identity, new ActiveIdentityRules({ get: async () => undefined }), new ManualClock(), undefined, () => 'same');
    await expect(stage.process(10)).rejects.toThrow(/issued twice/);
    expect(await identity.position('resolve')).toBe(0);
  });
});
