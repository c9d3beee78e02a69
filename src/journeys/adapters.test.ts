import { describe, expect, it } from 'vitest';
import type { IdentityStore, StoredEvent } from '../core/ports/store.js';
import { afterCommit, appliedEventsInput, applyAudienceMembers, deliveryOutbox } from './adapters.js';
import { parseJourney } from './definition.js';
import { JourneyEngine } from './engine.js';

const stored = (id: number): StoredEvent => ({ id, sourceId: 's', violations: [], message: { type: 'track', event: `E${id}`, messageId: `m${id}`, timestamp: '2026-01-01T00:00:00.000Z', receivedAt: '2026-01-01T00:00:00.000Z', context: {}, integrations: {} } }) as unknown as StoredEvent;

function identity(events: number[], owners: Record<number, string>): IdentityStore {
  return {
    history: async (_ws: string, f: { afterId: number; limit: number }) => events.filter((id) => id > f.afterId).slice(0, f.limit).map(stored),
    eventProfiles: async (_ws: string, ids: number[]) => new Map(ids.filter((id) => owners[id] !== undefined).map((id) => [id, owners[id]])),
  } as unknown as IdentityStore;
}

describe('journey adapters', () => {
  it('the input reads only events the apply stage has applied, and steps over events nobody owns', async () => {
    let applied = 0;
    const input = appliedEventsInput(identity([1, 2, 3, 4], { 1: 'p1', 3: 'p3', 4: 'p4' }), 'default', () => applied);
    expect(await input.read(0, 10)).toEqual([]);
    applied = 3;
    const items = await input.read(0, 10);
    expect(items.map((i) => [i.position, i.input?.profileId])).toEqual([[1, 'p1'], [2, undefined], [3, 'p3']]);
    expect(items[0].input?.event).toMatchObject({ event: 'E1', messageId: 'm1' });
    applied = 4;
    expect((await input.read(3, 10)).map((i) => i.position)).toEqual([4]);
  });

  it('afterCommit calls the listener after each commit, with the commit done first', () => {
    const log: string[] = [];
    const store = afterCommit({ commit: (n: number) => (log.push(`commit ${n}`), n * 2) }, () => log.push('wake'));
    expect(store.commit(2)).toBe(4);
    expect(log).toEqual(['commit 2', 'wake']);
  });

  it('audience members are read page by page', async () => {
    const all = Array.from({ length: 12_001 }, (_, i) => `p${String(i).padStart(6, '0')}`);
    const members = applyAudienceMembers({ members: (_ws, _a, after, limit) => all.filter((id) => id > after).slice(0, limit).map((profileId) => ({ profileId })) });
    expect(await members.members('default', 'vip')).toEqual(all);
  });

  it('the outbox adapter passes the trigger properties as event.* and its name as event_name', () => {
    const queued: Record<string, unknown>[] = [];
    deliveryOutbox({ enqueue: (m) => queued.push(m) }).enqueue({
      workspaceId: 'w', profileId: 'p', channel: 'email', template: 't', payload: { event: { event: 'Product Added', properties: { sku: 'A' } } },
      idempotencyKey: 'i:n:1', priority: 0, category: 'marketing', journey: 'j', node: 'n',
    });
    expect(queued[0].payload).toEqual({ event: { sku: 'A' }, event_name: 'Product Added', category: 'marketing' });
  });

  it('catalog_changed triggers: validated with paths, matched on the row before and after', () => {
    const base = { key: 'restock', start: 'n', nodes: { n: { type: 'exit' } } };
    const trigger = { type: 'catalog_changed', catalog: 'products', before: [{ field: 'stock', lte: 0 }], after: [{ field: 'stock', gt: 0 }], performed: { event: 'Product Viewed', property: 'sku', within: '30d' } };
    const def = parseJourney({ ...base, trigger });
    expect(() => parseJourney({ ...base, trigger: { ...trigger, performed: undefined } })).toThrow(/trigger: a catalog_changed trigger needs exactly one of audience or performed/);
    expect(() => parseJourney({ ...base, trigger: { ...trigger, after: [{ field: 'stock', gt: 0, lt: 5 }] } })).toThrow(/trigger\.after\[0\]/);
    expect(() => parseJourney({ ...base, trigger: { ...trigger, performed: { ...trigger.performed, within: 'soon' } } })).toThrow(/trigger\.performed\.within/);
    const t = def.trigger as Parameters<typeof JourneyEngine.catalogMatches>[0];
    expect(JourneyEngine.catalogMatches(t, { stock: 0 }, { stock: 3 }, 0)).toBe(true);
    expect(JourneyEngine.catalogMatches(t, { stock: 1 }, { stock: 3 }, 0)).toBe(false);
    expect(JourneyEngine.catalogMatches(t, { stock: 0 }, { stock: 0 }, 0)).toBe(false);
    expect(JourneyEngine.catalogMatches(t, undefined, { stock: 3 }, 0)).toBe(false); // a new row was not out of stock before
    expect(JourneyEngine.catalogMatches(t, { stock: 0 }, undefined, 0)).toBe(false); // deleted
  });
});
