import { describe, expect, it } from 'vitest';
import type { WorkspaceState } from '../workspace/kinds.js';
import { readersOf, renameEventIn, renamePropertyIn, retypeIn } from './definitions.js';

const state = (kinds: Record<string, Record<string, unknown>>): WorkspaceState => new Map(Object.entries(kinds).map(([k, m]) => [k, new Map(Object.entries(m))]));

const workspace = state({
  'tracking-plans': { shop: { key: 'shop', events: { 'Order Done': { type: 'object', properties: { total: { type: 'string' } }, required: ['total'] }, Other: {} } } },
  audiences: {
    buyers: { key: 'buyers', condition: { all: [{ performed: 'Order Done', where: [{ property: 'total', gte: 10 }] }, { not: { performed: 'Other' } }] } },
    browsers: { key: 'browsers', condition: { performed: 'Product Viewed' } },
  },
  traits: { spent: { key: 'spent', event: 'Order Done', compute: { sum: 'total' } }, any_total: { key: 'any_total', compute: { max: 'total' } } },
  journeys: { thanks: { key: 'thanks', trigger: { type: 'event', event: 'Order Done' }, nodes: { wait: { type: 'wait_for_event', event: 'Order Done', within: '1d' } } } },
  experiments: { exp: { key: 'exp', arms: [], metrics: [{ key: 'rev', type: 'revenue', event: 'Order Done' }] } },
  signals: { orders: { key: 'orders', event: 'Order Done', aggregate: 'sum', property: 'total', where: [{ property: 'total', op: 'gt', value: 0 }] } },
  models: { clv: { key: 'clv', type: 'clv', clv: { event: 'Order Done', revenueProperty: 'total' } } },
});

describe('definitions of a rename', () => {
  it('renames an event wherever a definition names it, and nothing else', () => {
    const edits = renameEventIn(workspace, { from: 'Order Done', to: 'Order Completed' });
    const after = Object.fromEntries(edits.map((e) => [`${e.kind}/${e.key}`, e.after]));
    expect(Object.keys(after).sort()).toEqual(['audiences/buyers', 'experiments/exp', 'journeys/thanks', 'models/clv', 'signals/orders', 'tracking-plans/shop', 'traits/spent']);
    expect(after['audiences/buyers']).toEqual({ key: 'buyers', condition: { all: [{ performed: 'Order Completed', where: [{ property: 'total', gte: 10 }] }, { not: { performed: 'Other' } }] } });
    expect(after['journeys/thanks']).toMatchObject({ trigger: { event: 'Order Completed' }, nodes: { wait: { event: 'Order Completed' } } });
    expect(Object.keys((after['tracking-plans/shop'] as { events: object }).events)).toEqual(['Order Completed', 'Other']);
    expect(edits.find((e) => e.kind === 'audiences')!.changes).toEqual(["condition.all[0].performed: 'Order Done' -> 'Order Completed'"]);
    // The state itself is not touched.
    expect((workspace.get('traits')!.get('spent') as { event: string }).event).toBe('Order Done');
  });

  it('renames a property of one event; a reader of every event is reported, not changed', () => {
    const { edits, warnings } = renamePropertyIn(workspace, { event: 'Order Done', from: 'total', to: 'amount' });
    const after = Object.fromEntries(edits.map((e) => [`${e.kind}/${e.key}`, e.after]));
    expect((after['audiences/buyers'] as any).condition.all[0].where).toEqual([{ property: 'amount', gte: 10 }]);
    expect((after['traits/spent'] as any).compute).toEqual({ sum: 'amount' });
    expect((after['signals/orders'] as any)).toMatchObject({ property: 'amount', where: [{ property: 'amount' }] });
    expect((after['models/clv'] as any).clv.revenueProperty).toBe('amount');
    // Its revenue metric sums `revenue` (no property given), not total; renaming revenue names the new one.
    expect(after['experiments/exp']).toBeUndefined();
    const revenue = renamePropertyIn(workspace, { event: 'Order Done', from: 'revenue', to: 'value' }).edits.find((e) => e.kind === 'experiments');
    expect((revenue!.after as any).metrics[0]).toEqual({ key: 'rev', type: 'revenue', event: 'Order Done', property: 'value' });
    expect((after['tracking-plans/shop'] as any).events['Order Done']).toEqual({ type: 'object', properties: { amount: { type: 'string' } }, required: ['amount'] });
    expect(after['traits/any_total']).toBeUndefined();
    expect(warnings).toEqual(["traits/any_total compute.max reads 'total' from every event; left unchanged: review it"]);
  });

  it('retypes declared properties of tracking plans and finds the readers', () => {
    const [edit] = retypeIn(workspace, 'Order Done', 'total', 'number');
    expect((edit.after as any).events['Order Done'].properties.total).toEqual({ type: 'number' });
    expect(readersOf(workspace, 'Order Done', 'total')).toEqual([{ kind: 'audiences', key: 'buyers' }, { kind: 'traits', key: 'spent' }, { kind: 'traits', key: 'any_total' }]);
    expect(readersOf(workspace, 'Product Viewed')).toEqual([{ kind: 'audiences', key: 'browsers' }]);
  });
});
