import { describe, expect, it } from 'vitest';
import { WorkingGraph } from './graph.js';
import type { Identifier } from './model.js';
import { resolveEvent } from './resolver.js';
import { compileIdentityRules, defaultIdentityRules } from './rules.js';

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
});
