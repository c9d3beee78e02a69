import { describe, expect, it } from 'vitest';
import { WorkingGraph } from './graph.js';
import type { Identifier } from './model.js';
import { resolveEvent } from './resolver.js';
import { extractIdentity } from './identifiers.js';
import { compileIdentityRules, defaultIdentityRules, withConstraints } from './rules.js';

const id = (type: string, value: string): Identifier => ({ type, value });

describe('resolveEvent', () => {
  it('drops the lowest-priority type first, then keeps the first identifier of a single type', () => {
    const graph = new WorkingGraph([{ id: 'p1', age: 1, identifiers: [id('user_id', 'u1'), id('email', 'e1')] }]);
    let n = 0;
    const r = resolveEvent(graph, { eventId: 2, identifiers: [id('user_id', 'u2'), id('email', 'e1'), id('device_id', 'd9')], }, defaultIdentityRules(), () => `new${++n}`);
    expect(r.profileId).toBe('new1');
    expect(r.identifiers).toEqual([id('user_id', 'u2')]);
    expect(r.conflict).toEqual({ reason: 'user_id limit 1 would be exceeded (2)', identifiers: [id('user_id', 'u2'), id('email', 'e1'), id('device_id', 'd9')], dropped: [id('device_id', 'd9'), id('email', 'e1')], profiles: ['p1'] });

    const alias = resolveEvent(graph, { eventId: 3, identifiers: [id('user_id', 'u3')], previousId: 'u1' }, defaultIdentityRules(), () => `new${++n}`);
    expect(alias.identifiers).toEqual([id('user_id', 'u3')]);
    expect(alias.conflict?.dropped).toEqual([id('user_id', 'u1')]);
  });

  it('keeps serving a profile that a lowered limit left over its limit, without growing the excess', () => {
    const graph = new WorkingGraph([{ id: 'p1', age: 1, identifiers: [id('user_id', 'u1'), id('user_id', 'u2')] }]);
    const rules = defaultIdentityRules();
    const same = resolveEvent(graph, { eventId: 5, identifiers: [id('user_id', 'u1'), id('user_id', 'u2'), id('email', 'e')] }, rules, () => 'x');
    expect(same).toMatchObject({ profileId: 'p1', identifiers: [id('user_id', 'u1'), id('user_id', 'u2'), id('email', 'e')] });
    expect(same.conflict).toBeUndefined();
    const more = resolveEvent(graph, { eventId: 6, identifiers: [id('user_id', 'u1'), id('user_id', 'u3')] }, rules, () => 'y');
    expect(more).toMatchObject({ profileId: 'p1', identifiers: [id('user_id', 'u1')], conflict: { dropped: [id('user_id', 'u3')] } });
  });

  it('ranks types the rules do not list below every listed type', () => {
    const rules = compileIdentityRules({ key: 'default', priority: ['crm_id', 'user_id'], limits: { user_id: 1, anonymous_id: 1 } });
    const graph = new WorkingGraph([{ id: 'p1', age: 1, identifiers: [id('crm_id', 'c1'), id('anonymous_id', 'a1')] }]);
    const r = resolveEvent(graph, { eventId: 2, identifiers: [id('anonymous_id', 'a2'), id('crm_id', 'c1')] }, rules, () => 'x');
    expect(r).toMatchObject({ profileId: 'p1', identifiers: [id('crm_id', 'c1')], conflict: { dropped: [id('anonymous_id', 'a2')] } });
  });

  it('never puts two separated identifiers in one profile, unless a profile already held both', () => {
    const rules = withConstraints(defaultIdentityRules(), { blocked: [], separations: [[id('user_id', 'u1'), id('anonymous_id', 'a1')]] });
    const graph = new WorkingGraph([{ id: 'p1', age: 1, identifiers: [id('anonymous_id', 'a1')] }, { id: 'p2', age: 2, identifiers: [id('user_id', 'u1')] }]);
    const r = resolveEvent(graph, { eventId: 3, identifiers: [id('anonymous_id', 'a1'), id('user_id', 'u1'), id('email', 'e1')] }, rules, () => 'x');
    expect(r).toMatchObject({ profileId: 'p2', identifiers: [id('user_id', 'u1'), id('email', 'e1')], merges: [] });
    expect(r.conflict).toMatchObject({ reason: 'user_id:u1 and anonymous_id:a1 were separated by an unmerge', dropped: [id('anonymous_id', 'a1')] });
    // Without the separation the same event merges the two.
    const plain = new WorkingGraph([{ id: 'p1', age: 1, identifiers: [id('anonymous_id', 'a1')] }, { id: 'p2', age: 2, identifiers: [id('user_id', 'u1')] }]);
    expect(resolveEvent(plain, { eventId: 3, identifiers: [id('anonymous_id', 'a1'), id('user_id', 'u1')] }, defaultIdentityRules(), () => 'x').merges).toEqual([{ winner: 'p1', loser: 'p2' }]);
    // A profile that already holds both (the separation came later) keeps receiving its events.
    const both = new WorkingGraph([{ id: 'p1', age: 1, identifiers: [id('anonymous_id', 'a1'), id('user_id', 'u1')] }]);
    expect(resolveEvent(both, { eventId: 4, identifiers: [id('user_id', 'u1'), id('anonymous_id', 'a1')] }, rules, () => 'x')).toMatchObject({ profileId: 'p1', identifiers: [id('user_id', 'u1'), id('anonymous_id', 'a1')] });
  });

  it('leaves a blocked identifier out of an event, for its type only', () => {
    const rules = withConstraints(defaultIdentityRules(), { blocked: [id('device_id', 'kiosk')], separations: [] });
    const message = { type: 'alias' as const, messageId: 'm', userId: 'kiosk', previousId: 'anon-1', context: { device: { id: 'kiosk' } }, integrations: {}, timestamp: '2026-01-01T00:00:00.000Z', receivedAt: '2026-01-01T00:00:00.000Z' };
    expect(extractIdentity(1, message, rules)).toEqual({ eventId: 1, identifiers: [id('user_id', 'kiosk')], previousId: 'anon-1' });
    const blockedPrevious = withConstraints(rules, { blocked: [id('anonymous_id', 'anon-1')], separations: [] });
    expect(extractIdentity(1, message, blockedPrevious)).toEqual({ eventId: 1, identifiers: [id('user_id', 'kiosk')] });
  });
});
