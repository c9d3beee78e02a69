import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogEntry, Message, Violation } from '../collect/message.js';
import { ManualClock } from '../core/clock.js';
import type { AcceptBatch, Store } from '../core/ports/store.js';
import { openPostgresStore } from './postgres/store.js';
import { createTestSchema, mustRunPostgres, postgresReachable, type TestSchema } from './postgres/test-schema.js';
import { openSqlite } from './sqlite/database.js';
import { openSqliteStore } from './sqlite/store.js';

/**
 * The Store port's contract: every assertion runs against the embedded store (SQLite) and the scale-out store
 * (PostgreSQL, each test in a schema of its own). PostgreSQL tests skip when the server at 127.0.0.1:5432 is
 * not there, except under CI=true, where they fail.
 */

const T0 = Date.UTC(2026, 2, 1, 12);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

interface Adapter {
  name: string;
  run: boolean;
  open(clock: ManualClock): Promise<{ store: Store; cleanup(): Promise<void> }>;
}

const reachable = await postgresReachable();
const adapters: Adapter[] = [
  {
    name: 'sqlite',
    run: true,
    async open(clock) {
      const store = openSqliteStore(openSqlite(':memory:', 'normal'), clock);
      return { store, cleanup: () => store.close() };
    },
  },
  {
    name: 'postgres',
    run: mustRunPostgres(reachable),
    async open(clock) {
      const schema: TestSchema = await createTestSchema({ max: 4 });
      const store = await openPostgresStore(schema.pool, clock);
      return { store, cleanup: async () => (await store.close(), await schema.drop()) };
    },
  },
];

/** A normalised message as collection logs it (no undefined fields: they do not survive JSON). */
const message = (messageId: string, over: Partial<Message> = {}): Message => JSON.parse(JSON.stringify({
  type: 'track',
  messageId,
  userId: 'u1',
  event: 'Order Completed',
  properties: { total: 12.5, items: [{ sku: 'a"b\\c', qty: 2 }], note: 'ünïcødé ✓', nul: 'a\u0000b', empty: {} },
  context: { library: { name: 'test', version: '1' } },
  integrations: {},
  timestamp: new Date(T0 - MINUTE).toISOString(),
  receivedAt: new Date(T0).toISOString(),
  ...over,
}));
const event = (m: Message, violations: Violation[] = [], replayOf?: number): LogEntry => ({ kind: 'event', message: m, violations, ...(replayOf !== undefined ? { replayOf } : {}) });
const held = (m: Message, violations: Violation[]): LogEntry => ({ kind: 'quarantine', message: m, violations });
const unplanned: Violation = { kind: 'unplanned_event', path: 'event', message: 'not in the plan' };
const mismatch: Violation = { kind: 'type_mismatch', path: 'properties.total', message: 'must be a number' };
/** A violation quoting what a client sent, down to a NUL character and a string that looks like a reason's key. */
const quoting: Violation = { kind: 'unplanned_property', path: 'properties.x\u0000', message: `'x\u0000' with "kind":"type_mismatch" is not in the plan` };

for (const adapter of adapters) {
  describe.skipIf(!adapter.run)(`Store contract: ${adapter.name}`, () => {
    let clock: ManualClock;
    let store: Store;
    let cleanup: () => Promise<void>;
    let offset = 0;
    /** One log record for the events consumer, partition 0, with the next offset. */
    const batch = (entries: LogEntry[], over: Partial<AcceptBatch> = {}): AcceptBatch => ({
      consumer: 'events', partition: 0, offset: ++offset, workspaceId: 'w1', sourceId: 's1', receivedAt: clock.now(), entries, dedupWindowMs: HOUR, ...over,
    });
    const ids = (events: { id: number }[]) => events.map((e) => e.id);

    beforeEach(async () => {
      clock = new ManualClock(T0);
      offset = 0;
      ({ store, cleanup } = await adapter.open(clock));
      await store.workspaces.ensure('w1', 'One');
      await store.workspaces.ensure('w2', 'Two');
    });
    afterEach(async () => cleanup());

    describe('workspaces and tokens', () => {
      it('ensure creates once and keeps the first name; get answers undefined for unknown ids', async () => {
        clock.advance(MINUTE);
        expect(await store.workspaces.ensure('w1', 'Renamed')).toEqual({ id: 'w1', name: 'One', createdAt: T0 });
        expect(await store.workspaces.ensure('w3', 'Three')).toEqual({ id: 'w3', name: 'Three', createdAt: T0 + MINUTE });
        expect(await store.workspaces.get('w2')).toEqual({ id: 'w2', name: 'Two', createdAt: T0 });
        expect(await store.workspaces.get('nope')).toBeUndefined();
      });

      it('tokens map a hash to its workspace, count all, and refuse a hash twice', async () => {
        expect(await store.tokens.count()).toBe(0);
        await store.tokens.add('w1', 'admin', 'hash-1');
        await store.tokens.add('w2', 'ci', 'hash-2');
        expect(await store.tokens.workspaceOf('hash-1')).toBe('w1');
        expect(await store.tokens.workspaceOf('hash-2')).toBe('w2');
        expect(await store.tokens.workspaceOf('hash-3')).toBeUndefined();
        await expect(store.tokens.add('w2', 'again', 'hash-1')).rejects.toThrow();
        expect(await store.tokens.count()).toBe(2);
      });
    });

    describe('sources', () => {
      it('create, read by key, id and write key hash, list by key, update and remove, each recorded as a version', async () => {
        const web = await store.sources.create('w1', 'web', 'wk-hash-web', 'wk_abcde', { name: 'Web', mode: 'flag', rateLimit: { eventsPerSecond: 5 } });
        expect(web).toMatchObject({ workspaceId: 'w1', key: 'web', writeKeyPrefix: 'wk_abcde', settings: { name: 'Web', mode: 'flag', rateLimit: { eventsPerSecond: 5 } }, createdAt: T0 });
        await store.sources.create('w1', 'app', 'wk-hash-app', 'wk_fghij', {}, { author: 'alice', message: 'mobile app' });
        await store.sources.create('w2', 'web', 'wk-hash-w2', 'wk_klmno', {});
        expect(await store.sources.get('w1', 'web')).toEqual(web);
        expect(await store.sources.byId(web.id)).toEqual(web);
        expect(await store.sources.byWriteKeyHash('wk-hash-web')).toEqual(web);
        expect(await store.sources.byWriteKeyHash('nope')).toBeUndefined();
        expect((await store.sources.list('w1')).map((s) => s.key)).toEqual(['app', 'web']);
        expect((await store.sources.list('w2')).map((s) => s.workspaceId)).toEqual(['w2']);

        const updated = await store.sources.update('w1', 'web', { name: 'Website', mode: 'block' });
        expect(updated).toEqual({ ...web, settings: { name: 'Website', mode: 'block' } });
        expect(await store.sources.update('w1', 'nope', { name: 'x' })).toBeUndefined();
        expect(await store.sources.remove('w1', 'app')).toBe(true);
        expect(await store.sources.remove('w1', 'app')).toBe(false);
        expect(await store.sources.get('w1', 'app')).toBeUndefined();

        const history = await store.versions.list('w1', { limit: 10 });
        expect(history.map((v) => [v.version, v.author, v.message])).toEqual([
          [4, 'api', 'sources/app deleted through the API'],
          [3, 'api', 'sources/web updated through the API'],
          [2, 'alice', 'mobile app'],
          [1, 'api', 'sources/web created through the API'],
        ]);
        expect(history[1].changes).toEqual([
          { kind: 'sources', key: 'web', op: 'update', before: { key: 'web', name: 'Web', mode: 'flag', rateLimit: { eventsPerSecond: 5 } }, after: { key: 'web', name: 'Website', mode: 'block' } },
        ]);
        expect(history[0].changes).toEqual([{ kind: 'sources', key: 'app', op: 'delete', before: { key: 'app' }, after: null }]);
        expect(await store.versions.latest('w2')).toBe(1);
      });

      it('refuses a write key hash that another source has, and records no version for it', async () => {
        await store.sources.create('w1', 'web', 'wk-1', 'wk_1', {});
        await expect(store.sources.create('w1', 'other', 'wk-1', 'wk_1', {})).rejects.toThrow();
        await expect(store.sources.create('w2', 'web', 'wk-1', 'wk_1', {})).rejects.toThrow();
        expect(await store.versions.latest('w1')).toBe(1);
        expect((await store.sources.list('w1')).map((s) => s.key)).toEqual(['web']);
      });
    });

    describe('definitions and versions', () => {
      it('put numbers versions per definition; get and list show the latest; remove hides it and a put after it continues', async () => {
        expect(await store.definitions.put('w1', 'audiences', 'buyers', { key: 'buyers', name: 'Buyers' })).toBe(1);
        expect(await store.definitions.put('w1', 'audiences', 'buyers', { key: 'buyers', name: 'Recent buyers' })).toBe(2);
        expect(await store.definitions.put('w1', 'audiences', 'a-first', { key: 'a-first', n: [1, 2, { x: null }] })).toBe(1);
        expect(await store.definitions.put('w1', 'traits', 'revenue', { key: 'revenue' })).toBe(1);
        expect(await store.definitions.put('w2', 'audiences', 'buyers', { key: 'buyers', name: 'Other workspace' })).toBe(1);

        expect(await store.definitions.get('w1', 'audiences', 'buyers')).toEqual({ version: 2, body: { key: 'buyers', name: 'Recent buyers' } });
        expect(await store.definitions.get('w1', 'audiences', 'nope')).toBeUndefined();
        expect(await store.definitions.list('w1', 'audiences')).toEqual([
          { key: 'a-first', version: 1, body: { key: 'a-first', n: [1, 2, { x: null }] } },
          { key: 'buyers', version: 2, body: { key: 'buyers', name: 'Recent buyers' } },
        ]);

        expect(await store.definitions.remove('w1', 'audiences', 'buyers', { author: 'bob', message: 'retired' })).toBe(true);
        expect(await store.definitions.remove('w1', 'audiences', 'buyers')).toBe(false);
        expect(await store.definitions.get('w1', 'audiences', 'buyers')).toBeUndefined();
        expect((await store.definitions.list('w1', 'audiences')).map((d) => d.key)).toEqual(['a-first']);
        expect(await store.definitions.put('w1', 'audiences', 'buyers', { key: 'buyers', name: 'Back' })).toBe(4);

        const versions = await store.versions.list('w1', { limit: 100 });
        expect(versions.map((v) => v.version)).toEqual([6, 5, 4, 3, 2, 1]);
        expect(versions[0].changes).toEqual([{ kind: 'audiences', key: 'buyers', op: 'create', before: null, after: { key: 'buyers', name: 'Back' } }]);
        expect(versions[1]).toEqual({
          version: 5, workspaceId: 'w1', at: T0, author: 'bob', message: 'retired',
          changes: [{ kind: 'audiences', key: 'buyers', op: 'delete', before: { key: 'buyers', name: 'Recent buyers' }, after: null }],
        });
        expect(versions[4].changes[0]).toMatchObject({ op: 'update', before: { name: 'Buyers' }, after: { name: 'Recent buyers' } });
        expect(await store.versions.latest('w2')).toBe(1);
      });

      it('versions page newest first with before; get finds one; latest is 0 for a workspace without any', async () => {
        expect(await store.versions.latest('w1')).toBe(0);
        expect(await store.versions.list('w1', { limit: 10 })).toEqual([]);
        for (let i = 1; i <= 5; i++) {
          clock.advance(MINUTE);
          await store.definitions.put('w1', 'traits', `t${i}`, { key: `t${i}` });
        }
        expect((await store.versions.list('w1', { limit: 2 })).map((v) => v.version)).toEqual([5, 4]);
        expect((await store.versions.list('w1', { before: 4, limit: 2 })).map((v) => v.version)).toEqual([3, 2]);
        expect((await store.versions.list('w1', { before: 2, limit: 2 })).map((v) => v.version)).toEqual([1]);
        expect(await store.versions.get('w1', 3)).toMatchObject({ version: 3, at: T0 + 3 * MINUTE, author: 'api', changes: [{ kind: 'traits', key: 't3', op: 'create' }] });
        expect(await store.versions.get('w1', 9)).toBeUndefined();
        expect(await store.versions.get('w2', 3)).toBeUndefined();
        expect(await store.versions.latest('w1')).toBe(5);
      });

      it('commit writes definitions and sources as one version; writes that change nothing record none', async () => {
        await store.definitions.put('w1', 'audiences', 'old', { key: 'old' });
        const result = await store.versions.commit('w1', [
          { kind: 'audiences', key: 'buyers', body: { key: 'buyers', name: 'Buyers' } },
          { kind: 'audiences', key: 'old', body: null },
          { kind: 'audiences', key: 'never-existed', body: null },
          { kind: 'sources', key: 'web', body: { key: 'web', name: 'Web' }, writeKey: { hash: 'wk-web', prefix: 'wk_web' } },
          { kind: 'traits', key: 'revenue', body: { key: 'revenue' } },
        ], { author: 'apply', message: 'tandem apply' });
        expect(result).toEqual({ version: 2, definitionVersions: { 'audiences/buyers': 1, 'audiences/old': 2, 'traits/revenue': 1 } });
        const v = await store.versions.get('w1', 2);
        expect(v?.author).toBe('apply');
        expect(v?.changes.map((c) => `${c.op} ${c.kind}/${c.key}`)).toEqual(['create audiences/buyers', 'delete audiences/old', 'create sources/web', 'create traits/revenue']);
        expect(await store.sources.byWriteKeyHash('wk-web')).toMatchObject({ key: 'web', settings: { name: 'Web' } });

        expect(await store.versions.commit('w1', [{ kind: 'audiences', key: 'never-existed', body: null }], { author: 'apply', message: 'nothing' })).toEqual({ version: 0, definitionVersions: {} });
        expect(await store.versions.latest('w1')).toBe(2);
      });

      it('a commit whose write fails leaves nothing: no definition, no source, no version', async () => {
        await store.sources.create('w1', 'web', 'wk-taken', 'wk_t', {});
        const before = await store.versions.latest('w1');
        // A write the store refuses itself (a new source without a write key) ...
        await expect(store.versions.commit('w1', [
          { kind: 'audiences', key: 'buyers', body: { key: 'buyers' } },
          { kind: 'sources', key: 'app', body: { key: 'app' } },
        ], { author: 'apply', message: 'broken' })).rejects.toThrow(/write key/);
        // ... and one the database refuses (a write key hash already taken), after other writes succeeded.
        await expect(store.versions.commit('w1', [
          { kind: 'audiences', key: 'buyers', body: { key: 'buyers' } },
          { kind: 'sources', key: 'web', body: { key: 'web', name: 'changed' } },
          { kind: 'sources', key: 'app', body: { key: 'app' }, writeKey: { hash: 'wk-taken', prefix: 'wk_t' } },
        ], { author: 'apply', message: 'broken' })).rejects.toThrow();
        expect(await store.definitions.get('w1', 'audiences', 'buyers')).toBeUndefined();
        expect(await store.sources.get('w1', 'app')).toBeUndefined();
        expect((await store.sources.get('w1', 'web'))?.settings).toEqual({});
        expect(await store.versions.latest('w1')).toBe(before);
        // The next commit takes the next number: nothing of the failed ones was kept.
        expect((await store.versions.commit('w1', [{ kind: 'audiences', key: 'buyers', body: { key: 'buyers' } }], { author: 'apply', message: 'ok' })).version).toBe(before + 1);
        expect(await store.definitions.get('w1', 'audiences', 'buyers')).toEqual({ version: 1, body: { key: 'buyers' } });
      });
    });

    describe('events', () => {
      it('accept stores events in order with strictly increasing ids, round-trips messages and violations, and commits each offset', async () => {
        const a = message('m1');
        const b = message('m2', { type: 'identify', event: undefined, userId: undefined, anonymousId: 'anon-1', traits: { email: 'x@example.com' } });
        const c = message('m3');
        const result = await store.events.accept([batch([event(a), event(b, [mismatch])]), batch([event(c)], { partition: 1, offset: 7 })]);
        expect(result.duplicates).toBe(0);
        expect(result.quarantined).toBe(0);
        expect(result.stored.map((e) => e.message)).toEqual([a, b, c]);
        expect(result.stored.map((e) => [e.workspaceId, e.sourceId, e.violations])).toEqual([['w1', 's1', []], ['w1', 's1', [mismatch]], ['w1', 's1', []]]);
        const [x, y, z] = ids(result.stored);
        expect(x).toBeGreaterThan(0);
        expect(y).toBeGreaterThan(x);
        expect(z).toBeGreaterThan(y);

        expect(await store.events.after(0, 10)).toEqual(result.stored);
        expect(await store.events.list('w1', { messageId: 'm2', limit: 10 })).toEqual([result.stored[1]]);
        expect(await store.events.offset('events', 0)).toBe(1);
        expect(await store.events.offset('events', 1)).toBe(7);
        expect(await store.events.offset('events', 2)).toBe(0);
        expect(await store.events.offset('other', 0)).toBe(0);

        const more = await store.events.accept([batch([event(message('m4'))])]);
        expect(more.stored[0].id).toBeGreaterThan(z);
        expect(await store.events.offset('events', 0)).toBe(3);
      });

      it('the last record of a partition sets its offset; each consumer keeps its own', async () => {
        await store.events.accept([batch([], { offset: 4 }), batch([], { offset: 5 }), batch([], { offset: 2, partition: 3 })]);
        await store.events.accept([batch([], { consumer: 'transforms', offset: 9 })]);
        expect(await store.events.offset('events', 0)).toBe(5);
        expect(await store.events.offset('events', 3)).toBe(2);
        expect(await store.events.offset('transforms', 0)).toBe(9);
      });

      it('deduplicates by workspace and messageId within the window, in one accept and across accepts, and stores again after it', async () => {
        const first = await store.events.accept([batch([event(message('dup')), event(message('dup', { event: 'Second copy' }))])]);
        expect(first.stored).toHaveLength(1);
        expect(first.stored[0].message.event).toBe('Order Completed');
        expect(first.duplicates).toBe(1);

        clock.advance(HOUR - 1);
        const inWindow = await store.events.accept([batch([event(message('dup'))]), batch([event(message('dup'))], { workspaceId: 'w2' })]);
        expect(inWindow.duplicates).toBe(1);
        expect(inWindow.stored.map((e) => e.workspaceId)).toEqual(['w2']);

        // The window is measured from the last time the messageId was stored, per batch.
        clock.advance(2);
        const after = await store.events.accept([batch([event(message('dup'))])]);
        expect(after.duplicates).toBe(0);
        expect(after.stored).toHaveLength(1);
        const w1 = await store.events.list('w1', { messageId: 'dup', limit: 10 });
        expect(ids(w1)).toEqual([after.stored[0].id, first.stored[0].id]);
        // A batch's own window decides: a zero-length window stores what a one-hour window calls a duplicate.
        clock.advance(1);
        expect((await store.events.accept([batch([event(message('dup'))], { dedupWindowMs: 0 })])).stored).toHaveLength(1);
        expect(await store.events.count('w1')).toBe(3);
      });

      it('pruneDedup forgets messageIds received before the limit, and a forgotten one is stored again', async () => {
        await store.events.accept([batch([event(message('old-1')), event(message('old-2'))])]);
        clock.advance(10 * MINUTE);
        await store.events.accept([batch([event(message('new-1'))])]);
        expect(await store.events.pruneDedup(T0 + MINUTE)).toBe(2);
        expect(await store.events.pruneDedup(T0 + MINUTE)).toBe(0);
        const again = await store.events.accept([batch([event(message('old-1')), event(message('new-1'))])]);
        expect(again.stored.map((e) => e.message.messageId)).toEqual(['old-1']);
        expect(again.duplicates).toBe(1);
      });

      it('an accept that fails stores nothing of any of its records and commits no offset', async () => {
        await store.events.accept([batch([event(message('kept'))])]);
        const broken = message('x', { messageId: null as unknown as string });
        await expect(store.events.accept([batch([event(message('lost-1'))], { offset: 2 }), batch([event(message('lost-2')), event(broken)], { offset: 3 })])).rejects.toThrow();
        expect((await store.events.after(0, 10)).map((e) => e.message.messageId)).toEqual(['kept']);
        expect(await store.events.offset('events', 0)).toBe(1);
        // The dedup entries of the failed accept were rolled back too: the same messages store now.
        const retried = await store.events.accept([batch([event(message('lost-1')), event(message('lost-2'))], { offset: 2 })]);
        expect(retried.stored.map((e) => e.message.messageId)).toEqual(['lost-1', 'lost-2']);
        expect(await store.events.offset('events', 0)).toBe(2);
      });

      it('list filters by source, type, event and messageId, newest first, pages with before, and never crosses workspaces', async () => {
        const stored = (
          await store.events.accept([
            batch([event(message('a', { event: 'Viewed' })), event(message('b', { type: 'page', event: undefined, name: 'Home' })), event(message('c', { event: 'Bought' }))]),
            batch([event(message('d', { event: 'Viewed' })), event(message('e', { event: 'Viewed' }))], { sourceId: 's2' }),
            batch([event(message('f', { event: 'Viewed' }))], { workspaceId: 'w2' }),
          ])
        ).stored;
        const id = (mid: string) => stored.find((e) => e.message.messageId === mid && e.workspaceId === 'w1')!.id;
        const mids = (events: { message: Message }[]) => events.map((e) => e.message.messageId);
        expect(mids(await store.events.list('w1', { limit: 100 }))).toEqual(['e', 'd', 'c', 'b', 'a']);
        expect(mids(await store.events.list('w1', { limit: 2 }))).toEqual(['e', 'd']);
        expect(mids(await store.events.list('w1', { before: id('d'), limit: 2 }))).toEqual(['c', 'b']);
        expect(mids(await store.events.list('w1', { before: id('b'), limit: 2 }))).toEqual(['a']);
        expect(mids(await store.events.list('w1', { sourceId: 's2', limit: 100 }))).toEqual(['e', 'd']);
        expect(mids(await store.events.list('w1', { type: 'page', limit: 100 }))).toEqual(['b']);
        expect(mids(await store.events.list('w1', { event: 'Viewed', limit: 100 }))).toEqual(['e', 'd', 'a']);
        expect(mids(await store.events.list('w1', { event: 'Viewed', sourceId: 's1', limit: 100 }))).toEqual(['a']);
        expect(mids(await store.events.list('w1', { messageId: 'd', sourceId: 's2', limit: 100 }))).toEqual(['d']);
        expect(mids(await store.events.list('w1', { messageId: 'd', sourceId: 's1', limit: 100 }))).toEqual([]);
        expect(mids(await store.events.list('w1', { messageId: 'f', limit: 100 }))).toEqual([]);
        expect(mids(await store.events.list('w2', { limit: 100 }))).toEqual(['f']);
        expect(await store.events.count('w1')).toBe(5);
        expect(await store.events.count('w1', { event: 'Viewed' })).toBe(3);
        expect(await store.events.count('w2', { event: 'Viewed' })).toBe(1);
        expect(await store.events.count('w2', { event: 'Bought' })).toBe(0);
      });

      it('a client\'s NUL characters (event name, messageId, user id) store, filter, deduplicate and come back as sent', async () => {
        const m = message('id\u00001', { event: 'Bad\u0000Name', userId: 'u\u0000', anonymousId: 'a\u0000' });
        // Look-alikes of what an adapter might put in NUL's place are other messageIds.
        const lookalikes = ['id\uFFFD1', 'id\uFFFF01', 'id1'].map((id) => message(id));
        const first = await store.events.accept([batch([event(m), ...lookalikes.map((x) => event(x))])]);
        expect(first.stored.map((e) => e.message)).toEqual([m, ...lookalikes]);
        expect(await store.events.list('w1', { event: 'Bad\u0000Name', limit: 10 })).toEqual([first.stored[0]]);
        expect(await store.events.list('w1', { messageId: 'id\u00001', limit: 10 })).toEqual([first.stored[0]]);
        expect(await store.events.count('w1', { event: 'Bad\u0000Name' })).toBe(1);
        expect((await store.events.accept([batch([event(m)])])).duplicates).toBe(1);
        await store.events.accept([batch([held(message('q\u0000', { event: 'Held\u0000' }), [unplanned])])]);
        const [item] = await store.quarantine.list('w1', { event: 'Held\u0000', limit: 10 });
        expect([item.messageId, item.event, item.message.event]).toEqual(['q\u0000', 'Held\u0000', 'Held\u0000']);
        await store.quarantine.update('w1', item.id, message('q\u0000', { event: 'Edited\u0000' }), [unplanned], T0 + 1);
        expect((await store.quarantine.list('w1', { event: 'Edited\u0000', limit: 10 })).map((i) => i.id)).toEqual([item.id]);
      });

      it('after reads every workspace oldest first from an id, a page at a time', async () => {
        const stored = (await store.events.accept([batch([event(message('a')), event(message('b'))]), batch([event(message('c')), event(message('d'))], { workspaceId: 'w2' })])).stored;
        const page1 = await store.events.after(0, 3);
        expect(page1).toEqual(stored.slice(0, 3));
        expect(await store.events.after(page1[2].id, 3)).toEqual(stored.slice(3));
        expect(await store.events.after(stored[3].id, 3)).toEqual([]);
        expect(await store.events.after(stored[0].id, 1)).toEqual([stored[1]]);
      });
    });

    describe('quarantine', () => {
      it('a held messageId is refreshed, not held twice; a replay that stores resolves it, and so does one that is a duplicate', async () => {
        const m = message('q1', { event: 'Unplanned' });
        const r1 = await store.events.accept([batch([held(m, [unplanned])])]);
        expect(r1).toEqual({ stored: [], duplicates: 0, quarantined: 1 });
        clock.advance(MINUTE);
        const fixed = { ...m, properties: { total: 'twelve' } };
        const r2 = await store.events.accept([batch([held(fixed, [mismatch]), held(message('q2'), [unplanned])])]);
        expect(r2.quarantined).toBe(2);
        const items = await store.quarantine.list('w1', { limit: 10 });
        expect(items.map((i) => [i.messageId, i.status])).toEqual([['q2', 'held'], ['q1', 'held']]);
        const q1 = items[1];
        expect(q1).toEqual({ id: q1.id, workspaceId: 'w1', sourceId: 's1', messageId: 'q1', type: 'track', event: 'Unplanned', reasons: [mismatch], message: fixed, receivedAt: T0, status: 'held', updatedAt: T0 + MINUTE });

        clock.advance(MINUTE);
        const replay = await store.events.accept([batch([event(message('q1'), [], q1.id)])]);
        expect(replay.stored).toHaveLength(1);
        expect(await store.quarantine.get('w1', q1.id)).toMatchObject({ status: 'replayed', updatedAt: T0 + 2 * MINUTE });
        // Held again after the replay: a new item, since the old one is no longer held.
        await store.events.accept([batch([held(message('q1'), [unplanned])])]);
        expect((await store.quarantine.list('w1', { limit: 10 })).map((i) => [i.messageId, i.status])).toEqual([['q1', 'held'], ['q2', 'held'], ['q1', 'replayed']]);

        // q2 was meanwhile stored under its messageId (a fixed resend): its replay is a duplicate and still resolves it.
        await store.events.accept([batch([event(message('q2'))])]);
        const q2 = items[0];
        clock.advance(MINUTE);
        const dup = await store.events.accept([batch([event(message('q2'), [], q2.id)])]);
        expect(dup).toEqual({ stored: [], duplicates: 1, quarantined: 0 });
        expect(await store.quarantine.get('w1', q2.id)).toMatchObject({ status: 'replayed', updatedAt: T0 + 3 * MINUTE });
        // A replay names an item of its own workspace only.
        const other = await store.events.accept([batch([held(message('q3'), [unplanned])], { workspaceId: 'w2' })]);
        expect(other.quarantined).toBe(1);
        const [q3] = await store.quarantine.list('w2', { limit: 1 });
        await store.events.accept([batch([event(message('q3-fixed'), [], q3.id)])]);
        expect((await store.quarantine.get('w2', q3.id))?.status).toBe('held');
      });

      it('list filters by source, reason, event, status and received time, newest first, paging with before', async () => {
        await store.events.accept([batch([held(message('a', { event: 'A' }), [unplanned])])]);
        clock.advance(MINUTE);
        await store.events.accept([batch([held(message('b', { event: 'B' }), [mismatch, unplanned])], { sourceId: 's2' })]);
        clock.advance(MINUTE);
        await store.events.accept([batch([held(message('c', { event: 'A' }), [mismatch])])]);
        await store.events.accept([batch([held(message('d', { event: 'A' }), [unplanned])], { workspaceId: 'w2' })]);
        await store.events.accept([batch([held(message('e', { event: 'E' }), [quoting])], { receivedAt: T0 + HOUR })]);
        const mids = async (f: Parameters<Store['quarantine']['list']>[1]) => (await store.quarantine.list('w1', f)).map((i) => i.messageId);
        expect(await mids({ limit: 10 })).toEqual(['e', 'c', 'b', 'a']);
        expect(await mids({ sourceId: 's2', limit: 10 })).toEqual(['b']);
        expect(await mids({ reason: 'unplanned_event', limit: 10 })).toEqual(['b', 'a']);
        expect(await mids({ reason: 'type_mismatch', limit: 10 })).toEqual(['c', 'b']);
        expect(await mids({ reason: 'unplanned_property', limit: 10 })).toEqual(['e']);
        expect((await store.quarantine.list('w1', { reason: 'unplanned_property', limit: 1 }))[0].reasons).toEqual([quoting]);
        expect(await mids({ reason: 'schema_error', limit: 10 })).toEqual([]);
        expect(await mids({ event: 'A', limit: 10 })).toEqual(['c', 'a']);
        expect(await mids({ from: T0 + MINUTE, to: T0 + HOUR, limit: 10 })).toEqual(['c', 'b']);
        expect(await mids({ to: T0 + MINUTE, limit: 10 })).toEqual(['a']);
        expect(await mids({ from: T0 + MINUTE, to: T0 + 2 * MINUTE, limit: 10 })).toEqual(['b']);
        const all = await store.quarantine.list('w1', { limit: 10 });
        expect(await mids({ before: all[1].id, limit: 1 })).toEqual(['b']);
        expect(await mids({ before: all[2].id, limit: 10 })).toEqual(['a']);
        await store.quarantine.setStatus('w1', [all[2].id], 'discarded', T0 + HOUR);
        expect(await mids({ status: 'held', limit: 10 })).toEqual(['e', 'c', 'a']);
        expect(await mids({ status: 'discarded', limit: 10 })).toEqual(['b']);
      });

      it('setStatus changes held items of the workspace only and counts them; update rewrites a held item', async () => {
        await store.events.accept([batch([held(message('a'), [unplanned]), held(message('b'), [unplanned])]), batch([held(message('c'), [unplanned])], { workspaceId: 'w2' })]);
        const [b, a] = await store.quarantine.list('w1', { limit: 10 });
        const [c] = await store.quarantine.list('w2', { limit: 10 });
        expect(await store.quarantine.setStatus('w1', [], 'discarded', T0 + 1)).toBe(0);
        expect(await store.quarantine.setStatus('w1', [a.id, b.id, c.id, 999_999], 'discarded', T0 + 1)).toBe(2);
        expect(await store.quarantine.setStatus('w1', [a.id], 'replayed', T0 + 2)).toBe(0);
        expect(await store.quarantine.get('w1', a.id)).toMatchObject({ status: 'discarded', updatedAt: T0 + 1 });
        expect(await store.quarantine.get('w2', c.id)).toMatchObject({ status: 'held', updatedAt: T0 });
        expect(await store.quarantine.get('w1', c.id)).toBeUndefined();

        const edited = message('c', { type: 'page', event: undefined, name: 'Home' });
        await store.quarantine.update('w2', c.id, edited, [mismatch], T0 + 5);
        expect(await store.quarantine.get('w2', c.id)).toMatchObject({ type: 'page', event: null, message: edited, reasons: [mismatch], updatedAt: T0 + 5 });
        // A message without a usable type keeps the item's type; a discarded item is not rewritten.
        await store.quarantine.update('w2', c.id, { ...edited, type: 42 as unknown as 'track', event: 'Renamed' }, [unplanned], T0 + 6);
        expect(await store.quarantine.get('w2', c.id)).toMatchObject({ type: 'page', event: 'Renamed', reasons: [unplanned] });
        await store.quarantine.update('w1', a.id, edited, [mismatch], T0 + 7);
        expect(await store.quarantine.get('w1', a.id)).toMatchObject({ message: message('a'), reasons: [unplanned], updatedAt: T0 + 1 });
      });
    });

    describe('audit', () => {
      it('lists a workspace\'s entries newest first, up to the limit, paging with before, with their details as given', async () => {
        await store.audit.add({ workspaceId: 'w1', actor: 'admin', action: 'source.create', target: 'web' }, T0);
        await store.audit.add({ workspaceId: 'w1', actor: 'alice', action: 'audience.update', target: 'buyers', detail: { name: 'B', list: [1, 'two'] } }, T0 + 1);
        await store.audit.add({ workspaceId: 'w1', actor: 'bob', action: 'x', target: 'y', detail: null }, T0 + 2);
        await store.audit.add({ workspaceId: 'w2', actor: 'carol', action: 'x', target: 'y', detail: 'other' }, T0 + 3);
        const entries = await store.audit.list('w1', 10);
        expect(entries.map(({ id: _id, ...e }) => e)).toEqual([
          { workspaceId: 'w1', at: T0 + 2, actor: 'bob', action: 'x', target: 'y', detail: null },
          { workspaceId: 'w1', at: T0 + 1, actor: 'alice', action: 'audience.update', target: 'buyers', detail: { name: 'B', list: [1, 'two'] } },
          { workspaceId: 'w1', at: T0, actor: 'admin', action: 'source.create', target: 'web', detail: undefined },
        ]);
        expect(entries[0].id).toBeGreaterThan(entries[1].id);
        expect((await store.audit.list('w1', 1)).map((e) => e.actor)).toEqual(['bob']);
        expect((await store.audit.list('w1', 1, entries[0].id)).map((e) => e.actor)).toEqual(['alice']);
        expect((await store.audit.list('w1', 10, entries[1].id)).map((e) => e.actor)).toEqual(['admin']);
        expect(await store.audit.list('w1', 10, entries[2].id)).toEqual([]);
        const [newest] = await store.audit.list('w1', 1);
        expect((await store.audit.list('w1', 10, newest.id)).map((e) => e.actor)).toEqual(['alice', 'admin']);
        expect((await store.audit.list('w2', 10)).map((e) => e.detail)).toEqual(['other']);
      });
    });
  });
}
