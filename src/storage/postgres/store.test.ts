import { afterEach, describe, expect, it } from 'vitest';
import type { LogEntry, Message } from '../../collect/message.js';
import { ManualClock } from '../../core/clock.js';
import type { Store } from '../../core/ports/store.js';
import type { Pool } from './database.js';
import { openPostgresStore } from './store.js';
import { createTestSchema, mustRunPostgres, postgresReachable, type TestSchema } from './test-schema.js';

/**
 * What only the PostgreSQL store has to get right: several processes writing at once (each a pool of its own on
 * the same schema). The single-writer behaviour is in ../store.contract.test.ts.
 */

const reachable = await postgresReachable();
const T0 = Date.UTC(2026, 2, 1);

const entry = (messageId: string): LogEntry => ({
  kind: 'event',
  message: { type: 'track', messageId, event: 'E', userId: 'u', context: {}, integrations: {}, timestamp: new Date(T0).toISOString(), receivedAt: new Date(T0).toISOString() } as Message,
  violations: [],
});

describe.skipIf(!mustRunPostgres(reachable))('PostgreSQL store under concurrent writers', () => {
  let schema: TestSchema | undefined;
  const stores: Store[] = [];
  const pools: Pool[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    for (const p of pools.splice(0)) if (!p.ended) await p.end();
    await schema?.drop();
    schema = undefined;
  });

  /** `n` stores on one schema, as `n` processes would open them (they migrate at the same time). */
  async function processes(n: number): Promise<Store[]> {
    schema = await createTestSchema({ max: 3 });
    const opened = await Promise.all(Array.from({ length: n }, (_, i) => {
      const pool = i === 0 ? schema!.pool : schema!.another(3);
      pools.push(pool);
      return openPostgresStore(pool, new ManualClock(T0));
    }));
    stores.push(...opened);
    await opened[0].workspaces.ensure('w', 'W');
    return opened;
  }

  it('a reader paging with after() sees every event exactly once, in id order, while writers commit at once', async () => {
    const writers = await processes(4);
    const reader = writers[0];
    const RECORDS = 25;
    const seen: number[] = [];
    let done = false;
    const read = (async () => {
      let cursor = 0;
      for (;;) {
        const finished = done;
        const page = await reader.events.after(cursor, 40);
        for (const e of page) seen.push(e.id);
        if (page.length) cursor = page[page.length - 1].id;
        else if (finished) return;
        else await new Promise((r) => setImmediate(r));
      }
    })();
    await Promise.all(writers.map(async (store, w) => {
      for (let r = 1; r <= RECORDS; r++) {
        const entries = Array.from({ length: 1 + ((r * 7 + w) % 30) }, (_, i) => entry(`w${w}-r${r}-${i}`));
        await store.events.accept([{ consumer: 'events', partition: w, offset: r, workspaceId: 'w', sourceId: 's', receivedAt: T0, entries, dedupWindowMs: 60_000 }]);
      }
    }));
    done = true;
    await read;
    const all = (await reader.events.after(0, 100_000)).map((e) => e.id);
    expect(all.length).toBeGreaterThan(RECORDS * 4);
    expect(seen).toEqual(all);
    for (let p = 0; p < 4; p++) expect(await reader.events.offset('events', p)).toBe(RECORDS);
  });

  it('the same messageId accepted by several writers at once is stored once', async () => {
    const writers = await processes(4);
    for (let round = 0; round < 10; round++) {
      const results = await Promise.all(writers.map((store, w) =>
        store.events.accept([{ consumer: 'events', partition: w, offset: round + 1, workspaceId: 'w', sourceId: 's', receivedAt: T0, entries: [entry(`same-${round}`), entry(`own-${round}-${w}`)], dedupWindowMs: 60_000 }])));
      expect(results.reduce((n, r) => n + r.stored.filter((e) => e.message.messageId === `same-${round}`).length, 0)).toBe(1);
      expect(results.reduce((n, r) => n + r.duplicates, 0)).toBe(3);
    }
    expect(await writers[0].events.count('w')).toBe(10 * 5);
  });

  it('definition writes to one workspace from several writers at once get consecutive versions', async () => {
    const writers = await processes(4);
    await Promise.all(writers.map(async (store, w) => {
      for (let i = 0; i < 5; i++) {
        await store.definitions.put('w', 'traits', `t${w}`, { key: `t${w}`, i });
        await store.versions.commit('w', [{ kind: 'audiences', key: 'shared', body: { key: 'shared', by: w, i } }], { author: `writer ${w}`, message: String(i) });
      }
    }));
    const versions = await writers[0].versions.list('w', { limit: 100 });
    expect(versions.map((v) => v.version)).toEqual(Array.from({ length: 40 }, (_, i) => 40 - i));
    expect((await writers[1].definitions.get('w', 'audiences', 'shared'))?.version).toBe(20);
    for (let w = 0; w < 4; w++) expect((await writers[2].definitions.get('w', 'traits', `t${w}`))?.version).toBe(5);
  });
});
