import { describe, expect, it } from 'vitest';
import type { WorkspaceState } from '../workspace/kinds.js';
import { LineageIndex, templateUses, usesOf } from './lineage.js';

const targets = (kind: string, body: unknown) => usesOf(kind, 'k', body).uses.map((u) => `${u.target} @ ${u.path}`);

describe('usesOf', () => {
  it('an audience: events, their properties, traits, other audiences and computed traits', () => {
    const audience = { condition: { all: [{ performed: 'Order Completed', where: [{ property: 'revenue', gte: 100 }] }, { trait: 'email', exists: true }, { in_audience: 'vips' }, { computed: 'ltv', gt: 5 }] } };
    expect(targets('audiences', audience).sort()).toEqual([
      'computed:ltv @ condition.all[3].computed',
      'definition:audiences/vips @ condition.all[2].in_audience',
      'event:Order Completed @ condition.all[0].performed',
      'property:Order Completed:revenue @ condition.all[0].where[0].property',
      'trait:email @ condition.all[1].trait',
    ]);
  });

  it('a template: the Liquid variables it reads, once per field', () => {
    const uses = templateUses({ subject: 'Hi {{ profile.traits.first_name }}', html: '{% if traits.plan == "pro" %}{{ profile.computed.ltv.value }} {{ event.properties.sku }} {{ traits.plan }}{% endif %}' });
    expect(uses.map((u) => `${u.target} @ ${u.path}`)).toEqual(['trait:first_name @ subject', 'trait:plan @ html', 'computed:ltv @ html', 'property:*:sku @ html']);
  });

  it('a journey: channels, templates, experiments and traits its nodes name', () => {
    const journey = {
      trigger: { type: 'event', event: 'Signed Up' },
      nodes: {
        a: { type: 'email', channel: 'mail', template: 'welcome', next: 'b' },
        b: { type: 'update_trait', trait: 'onboarded', value: true, next: 'c' },
        c: { type: 'decide', experiment: 'subject_test', reward: { event: 'Order Completed' } },
      },
    };
    const t = targets('journeys', journey);
    for (const expected of ['event:Signed Up @ trigger.event', 'definition:channels/mail @ nodes.a.channel', 'definition:templates/welcome @ nodes.a.template', 'trait:onboarded @ nodes.b.trait', 'definition:experiments/subject_test @ nodes.c.experiment', 'event:Order Completed @ nodes.c.reward.event']) {
      expect(t).toContain(expected);
    }
  });

  it('models, experiments, signals, alerts and ad-audience channels', () => {
    expect(targets('models', { type: 'clv' })).toEqual(['event:Order Completed @ clv.event', 'property:Order Completed:revenue @ clv.revenueProperty']);
    expect(targets('experiments', { metrics: [{ event: 'Order Completed', type: 'revenue', property: 'total' }] })).toEqual([
      'event:Order Completed @ metrics[0].event', 'property:Order Completed:total @ metrics[0].property', 'event:Experiment Viewed @ exposure_event',
    ]);
    expect(targets('signals', { event: 'Page Viewed', property: 'duration', where: [{ property: 'path', eq: '/' }] })).toEqual(['event:Page Viewed @ event', 'property:Page Viewed:duration @ property', 'property:Page Viewed:path @ where[0].property']);
    expect(targets('alerts', { monitor: 'm1' })).toEqual(['definition:monitors/m1 @ monitor']);
    expect(targets('channels', { type: 'audience_export' })).toEqual(['trait:email @ type', 'trait:phone @ type']);
    expect(targets('channels', { type: 'webhook' })).toEqual([]);
    // Bodies that are not objects use nothing (the walk is tolerant).
    expect(targets('audiences', 'nonsense')).toEqual([]);
  });
});

describe('LineageIndex', () => {
  const state: WorkspaceState = new Map<string, Map<string, unknown>>([
    ['traits', new Map([['total_revenue', { event: 'Order Completed', compute: { sum: 'revenue' } }]])],
    ['audiences', new Map<string, unknown>([
      ['big', { condition: { computed: 'total_revenue', gte: 100 } }],
      ['any_revenue', { condition: { performed: 'Order Completed', where: [{ property: 'revenue', gt: 0 }] } }],
    ])],
    ['journeys', new Map([['vip_welcome', { trigger: { type: 'audience', audience: 'big' }, entry_condition: { in_audience: 'big' }, nodes: { a: { type: 'webhook', channel: 'crm' } } }]])],
    ['signals', new Map([['rev', { event: 'Order Completed', property: 'revenue' }]])],
    ['monitors', new Map([['rev_drop', { event: 'Order Completed', property: 'revenue' }]])],
    ['alerts', new Map([['page', { monitor: 'rev_drop' }]])],
  ]);
  const index = new LineageIndex(state);

  it('lists direct users of a property, then what depends on them, then where the data goes', () => {
    const l = index.lineage('property:Order Completed:revenue');
    expect(l.usedBy.map((u) => `${u.kind}/${u.key}`).sort()).toEqual(['audiences/any_revenue', 'monitors/rev_drop', 'signals/rev', 'traits/total_revenue']);
    expect(l.downstream.map((d) => `${d.kind}/${d.key} via ${d.via}`).sort()).toEqual(['alerts/page via monitors/rev_drop', 'audiences/big via traits/total_revenue', 'journeys/vip_welcome via audiences/big']);
    expect(l.destinations).toEqual(['crm']);
  });

  it('matches a property of one event with users of that path in any event, and the reverse', () => {
    const withAny = new LineageIndex(new Map([['templates', new Map([['t', { body: '{{ event.properties.revenue }}' }]])], ...state]));
    expect(withAny.lineage('property:Order Completed:revenue').usedBy.map((u) => u.key)).toContain('t');
    expect(withAny.lineage('property:*:revenue').usedBy.map((u) => u.key).sort()).toEqual(['any_revenue', 'rev', 'rev_drop', 't', 'total_revenue']);
  });

  it('answers for a computed trait and for a definition: what writes it, what it uses, what uses it', () => {
    const computed = index.lineage('computed:total_revenue');
    expect(computed.producedBy).toEqual([{ kind: 'traits', key: 'total_revenue', paths: [] }]);
    expect(computed.usedBy.map((u) => `${u.kind}/${u.key}`)).toEqual(['audiences/big']);
    const def = index.lineage('definition:traits/total_revenue');
    expect(def.uses?.map((u) => u.target).sort()).toEqual(['event:Order Completed', 'property:Order Completed:revenue']);
    // A trait definition's users are those of the computed trait it writes.
    expect(def.usedBy.map((u) => `${u.kind}/${u.key}`)).toEqual(['audiences/big']);
    expect(index.lineage('trait:unused')).toEqual({ target: 'trait:unused', usedBy: [], downstream: [], destinations: [], producedBy: [] });
  });
});
