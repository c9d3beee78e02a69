import { describe, expect, it } from 'vitest';
import type { Source, Store } from '../../core/ports/store.js';
import type { Message } from '../message.js';
import { compilePlan, PASS, TrackingPlans } from './check.js';
import type { TrackingPlan } from './schema.js';

const plan: TrackingPlan = {
  key: 'p',
  events: {
    Paid: {
      type: 'object',
      properties: {
        amount: { anyOf: [{ type: 'number' }, { type: 'string', pattern: '^\\d+$' }] },
        kind: { oneOf: [{ const: 'card' }, { const: 'cash' }] },
        meta: { type: 'object' },
      },
    },
  },
  unplannedProperties: 'block',
};

const storeWith = (plans: TrackingPlan[]) => {
  let calls = 0;
  const store = {
    definitions: {
      list: async () => {
        calls++;
        return plans.map((body, i) => ({ key: body.key, version: i + 1, body }));
      },
      // The workspace's aliases (src/migrations/aliases.ts), loaded with its plans: none here.
      get: async () => undefined,
    },
  } as unknown as Store;
  return { store, calls: () => calls };
};

const source = (settings: Source['settings']): Source => ({ id: 's', workspaceId: 'w', key: 's', writeKeyPrefix: 'wk_', settings, createdAt: 0 });
const track = (event: string, properties: Record<string, unknown>): Message => ({ type: 'track', messageId: 'm', event, properties, context: {}, integrations: {}, timestamp: '', receivedAt: '' });

describe('tracking plan check', () => {
  it('returns the shared PASS verdict for sources without a plan, allow mode, and conforming messages', async () => {
    const { store, calls } = storeWith([plan]);
    const plans = new TrackingPlans(store);
    expect(plans.check(source({}), track('Anything', { x: 1 }))).toBe(PASS);
    expect(calls()).toBe(0);
    await plans.prepare('w');
    expect(plans.check(source({ trackingPlan: 'p', mode: 'allow' }), track('Nope', { x: 1 }))).toBe(PASS);
    expect(plans.check(source({ trackingPlan: 'p', mode: 'block' }), track('Paid', { amount: '12', kind: 'card', meta: { free: 'form' } }))).toBe(PASS);
    expect(plans.check(source({ trackingPlan: 'missing', mode: 'block' }), track('Paid', { amount: true }))).toBe(PASS);
    await plans.prepare('w');
    expect(calls()).toBe(1);
  });

  it('answers 503 instead of checking when the workspace plans are not loaded yet', () => {
    const plans = new TrackingPlans(storeWith([plan]).store);
    expect(() => plans.check(source({ trackingPlan: 'p' }), track('Paid', {}))).toThrow(expect.objectContaining({ status: 503 }));
  });

  it('reports one violation per failed choice, and mode decides about quarantine (default flag)', async () => {
    const plans = new TrackingPlans(storeWith([plan]).store);
    await plans.prepare('w');
    const m = track('Paid', { amount: false, kind: 'cheque', extra: 1 });
    const flagged = plans.check(source({ trackingPlan: 'p' }), m);
    expect(flagged.quarantine).toBe(false);
    expect(flagged.violations).toEqual([
      { kind: 'type_mismatch', path: 'properties.amount', message: 'properties.amount must be number or string, not boolean' },
      { kind: 'schema_error', path: 'properties.kind', message: 'properties.kind must match exactly one of the shapes the tracking plan allows' },
      { kind: 'unplanned_property', path: 'properties.extra', message: 'properties.extra is not in the tracking plan' },
    ]);
    expect(plans.check(source({ trackingPlan: 'p', mode: 'block' }), m).quarantine).toBe(true);
  });

  it('swaps a saved plan in place of the cached one', async () => {
    const plans = new TrackingPlans(storeWith([plan]).store);
    await plans.prepare('w');
    const src = source({ trackingPlan: 'p', mode: 'block' });
    expect(plans.check(src, track('Refunded', {})).violations[0].kind).toBe('unplanned_event');
    plans.saved('w', compilePlan({ ...plan, unplannedEvents: 'allow' }, 2));
    expect(plans.check(src, track('Refunded', {}))).toBe(PASS);
    plans.removed('w', 'p');
    expect(plans.get('w', 'p')).toBeUndefined();
  });

  it('refuses schemas that do not compile with their path in the plan', () => {
    expect(() => compilePlan({ key: 'x', events: { 'a/b': { properties: { n: { minimum: 'one' } } } } })).toThrow(expect.objectContaining({ path: 'events["a/b"].properties.n.minimum' }));
    expect(() => compilePlan({ key: 'x', events: {}, identify: { $ref: '#/nowhere' } })).toThrow(expect.objectContaining({ path: 'identify', code: 'invalid_schema' }));
  });
});
