import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateHistory, type DemoMessage } from '../src/demo/generate.js';
import { startTandem, type Running } from './harness.js';

// A small demo load; everything expected below is computed here from the generated messages.
const NOW = Date.parse('2026-03-15T12:00:00.000Z');
const history = [...generateHistory({ profiles: 12, days: 10, seed: 11, now: NOW })];

type Expected = { count: number; first: number; last: number; props: Map<string, Map<string, number>> };

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** Top-level properties of each track event: occurrences by type, first and last event time. */
function expectedTracks(messages: DemoMessage[]): Map<string, Expected> {
  const out = new Map<string, Expected>();
  for (const m of messages) {
    if (m.type !== 'track') continue;
    const at = Date.parse(m.timestamp);
    const e = out.get(m.event) ?? { count: 0, first: Infinity, last: -Infinity, props: new Map() };
    e.count++;
    e.first = Math.min(e.first, at);
    e.last = Math.max(e.last, at);
    for (const [k, v] of Object.entries(m.properties)) {
      const types = e.props.get(k) ?? new Map<string, number>();
      types.set(typeName(v), (types.get(typeName(v)) ?? 0) + 1);
      e.props.set(k, types);
    }
    out.set(m.event, e);
  }
  return out;
}

let t: Running;

beforeAll(async () => {
  t = await startTandem();
  for (let i = 0; i < history.length; i += 200) {
    const res = await t.collect('/v1/import', { batch: history.slice(i, i + 200) });
    expect(res.status).toBe(200);
  }
  // A profile with an e-mail trait and a tracked e-mail property, for the masking checks.
  await t.collect('/v1/identify', { userId: 'mask-me', traits: { email: 'Jane.Doe@example.com', plan: 'pro' }, timestamp: '2026-03-15T10:00:00.000Z' });
  await t.collect('/v1/track', { userId: 'mask-me', event: 'Newsletter Signed Up', properties: { email: 'Jane.Doe@example.com', source: 'footer' }, timestamp: '2026-03-15T10:01:00.000Z' });
  await t.settle();
  t.app.metadata.flush();
});

afterAll(async () => {
  await t?.stop();
});

describe('observed schema', () => {
  it('matches what was sent: events, counts, types and first and last seen', async () => {
    const expected = expectedTracks(history);
    expect(expected.size).toBeGreaterThan(3);
    const list = (await (await t.admin('/metadata/schema?type=track')).json()) as { data: { event: string; count: number; firstSeen: string; lastSeen: string }[] };
    for (const [event, e] of expected) {
      const seen = list.data.find((d) => d.event === event);
      expect(seen, event).toBeDefined();
      expect(seen!.count).toBe(e.count);
      expect(seen!.firstSeen).toBe(new Date(e.first).toISOString());
      expect(seen!.lastSeen).toBe(new Date(e.last).toISOString());

      const res = await t.admin(`/metadata/events/${encodeURIComponent(event)}?type=track`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { data: { count: number; properties: { path: string; types: Record<string, number>; count: number; nullRate: number }[] }[] };
      expect(body.data).toHaveLength(1);
      for (const [prop, types] of e.props) {
        const field = body.data[0].properties.find((p) => p.path === prop);
        expect(field, `${event}.${prop}`).toBeDefined();
        expect(field!.types).toEqual(Object.fromEntries(types));
        const present = [...types].filter(([t]) => t !== 'null').reduce((s, [, n]) => s + n, 0);
        expect(field!.nullRate).toBeCloseTo((e.count - present) / e.count, 4);
      }
      // No top-level property that was never sent.
      const topLevel = body.data[0].properties.filter((p) => !p.path.includes('.') && !p.path.includes('[]')).map((p) => p.path).sort();
      expect(topLevel).toEqual([...e.props.keys()].sort());
    }
  });

  it('counts array elements and nested paths, with volume per day and a distinct-count estimate', async () => {
    const orders = history.filter((m): m is Extract<DemoMessage, { type: 'track' }> => m.type === 'track' && m.event === 'Order Completed');
    expect(orders.length).toBeGreaterThan(0);
    const elements = orders.reduce((s, m) => s + ((m.properties.products as unknown[]) ?? []).length, 0);
    const res = await t.admin(`/metadata/property?event=${encodeURIComponent('Order Completed')}&path=${encodeURIComponent('products[]')}`);
    const body = (await res.json()) as { data: { count: number; days: { day: string; count: number }[] }[] };
    expect(body.data[0].count).toBe(elements);

    const ids = await (await t.admin(`/metadata/property?event=${encodeURIComponent('Order Completed')}&path=order_id`)).json() as { data: { distinct: number; days: { day: string; count: number }[] }[] };
    const distinct = new Set(orders.map((m) => m.properties.order_id)).size;
    expect(Math.abs(ids.data[0].distinct - distinct)).toBeLessThanOrEqual(Math.max(1, distinct * 0.05));
    const perDay = new Map<string, number>();
    for (const m of orders) if (m.properties.order_id !== undefined) perDay.set(m.timestamp.slice(0, 10), (perDay.get(m.timestamp.slice(0, 10)) ?? 0) + 1);
    expect(ids.data[0].days).toEqual([...perDay].sort(([a], [b]) => (a < b ? -1 : 1)).map(([day, count]) => ({ day, count })));
  });

  it('survives a restart: the flushed schema is read back', async () => {
    const before = await (await t.admin('/metadata/schema')).json();
    const again = new (t.app.metadata.constructor as new (d: unknown) => typeof t.app.metadata)({ db: (t.app.metadata as unknown as { deps: { db: unknown } }).deps.db, store: t.app.store, clock: t.app.clock });
    const reread = await again.list('default', {});
    expect(reread).toEqual((before as { data: unknown[] }).data);
  });
});

describe('metadata.observe: false', () => {
  it('stores and processes events but observes nothing', async () => {
    const off = await startTandem({ config: { metadata: { observe: false } } });
    try {
      const res = await off.collect('/v1/track', { userId: 'u1', event: 'Unobserved Event', properties: { plan: 'pro' }, timestamp: '2026-03-15T10:00:00.000Z' });
      expect(res.status).toBe(200);
      await off.settle();
      off.app.metadata.flush();
      const stored = (await (await off.admin('/events?limit=10')).json()) as { data: { message: { event?: string } }[] };
      expect(stored.data.map((e) => e.message.event)).toContain('Unobserved Event');
      const schema = (await (await off.admin('/metadata/schema?type=track')).json()) as { data: { event: string }[] };
      expect(schema.data.map((d) => d.event)).not.toContain('Unobserved Event');
    } finally {
      await off.stop();
    }
  });
});

describe('suggestions and governance', () => {
  it('suggests e-mail for a field that holds addresses; a confirmation writes the dictionary entry', async () => {
    const s = (await (await t.admin('/metadata/suggestions')).json()) as { data: { target: string; classification: string; piiType?: string; confidence: string }[] };
    const trait = s.data.find((x) => x.target === 'trait:email');
    expect(trait).toMatchObject({ classification: 'pii', piiType: 'email', confidence: 'high' });
    const confirmed = await t.admin('/metadata/suggestions/confirm', { method: 'POST', json: { target: 'trait:email', confirmedBy: 'dpo' } });
    expect(confirmed.status).toBe(201);
    expect(await confirmed.json()).toMatchObject({ trait: 'email', classification: 'pii', piiType: 'email', confirmedBy: 'dpo' });
    const prop = await t.admin('/metadata/suggestions/confirm', { method: 'POST', json: { target: 'property:Newsletter Signed Up:email' } });
    expect(prop.status).toBe(201);
    const after = (await (await t.admin('/metadata/suggestions')).json()) as { data: { target: string }[] };
    expect(after.data.map((x) => x.target)).not.toContain('trait:email');
    const bad = await t.admin('/metadata/suggestions/confirm', { method: 'POST', json: { target: 'nonsense' } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { path: string } }).error.path).toBe('target');
  });

  it('a viewer sees masked e-mail values in the debugger and the profile API; an admin sees them', async () => {
    const created = await t.admin('/users', { method: 'POST', json: { name: 'vera', password: 'viewer-password', role: 'viewer' } });
    expect(created.status).toBe(201);
    const login = await fetch(`${t.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'vera', password: 'viewer-password' }) });
    const { token } = (await login.json()) as { token: string };
    const viewer = (path: string) => fetch(`${t.url}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });

    const events = JSON.stringify(await (await viewer('/events?limit=20')).json());
    expect(events).not.toContain('Jane.Doe@example.com');
    expect(events).toContain('J***@***.com');
    const adminEvents = JSON.stringify(await (await t.admin('/events?limit=20')).json());
    expect(adminEvents).toContain('Jane.Doe@example.com');

    const lookup = await viewer('/profiles/lookup?type=user_id&value=mask-me');
    expect(lookup.status).toBe(200);
    const profile = (await lookup.json()) as { id: string; traits: Record<string, unknown>; identifiers: { type: string; value: string }[] };
    expect(profile.traits.email).toBe('J***@***.com');
    expect(profile.traits.plan).toBe('pro');
    expect(JSON.stringify(profile)).not.toContain('Jane.Doe@example.com');
    const timeline = JSON.stringify(await (await viewer(`/profiles/${profile.id}/events`)).json());
    expect(timeline).not.toContain('Jane.Doe@example.com');
    const adminProfile = (await (await t.admin('/profiles/lookup?type=user_id&value=mask-me')).json()) as { traits: Record<string, unknown> };
    expect(adminProfile.traits.email).toBe('Jane.Doe@example.com');

    const samples = JSON.stringify(await (await viewer('/metadata/events/identify')).json());
    expect(samples).not.toContain('Jane.Doe@example.com');
  });
});

describe('lineage and deprecation', () => {
  const audience = { key: 'big_spenders', name: 'Big spenders', condition: { all: [{ performed: 'Order Completed', where: [{ property: 'revenue', gte: 100 }] }, { trait: 'email', exists: true }] } };
  const trait = { key: 'total_revenue', event: 'Order Completed', compute: { sum: 'revenue' } };
  const signal = { key: 'revenue_rate', event: 'Order Completed', aggregate: 'sum', property: 'revenue' };

  it('lists every definition that references a property and follows changes', async () => {
    for (const [kind, body] of [['audiences', audience], ['traits', trait], ['signals', signal]] as const) {
      const res = await t.admin(`/${kind}`, { method: 'POST', json: body });
      expect(res.status, `${kind}: ${await res.clone().text()}`).toBe(201);
    }
    const template = { key: 'hello', channel: 'webhook', body: '{"email": {{ profile.traits.email | json }}, "ltv": {{ profile.computed.total_revenue | json }}}' };
    expect((await t.admin('/templates', { method: 'POST', json: template })).status).toBe(201);

    const q = `/lineage?event=${encodeURIComponent('Order Completed')}&property=revenue`;
    const lineage = (await (await t.admin(q)).json()) as { usedBy: { kind: string; key: string; paths: string[] }[]; downstream: { kind: string; key: string; via: string }[] };
    expect(lineage.usedBy.map((u) => `${u.kind}/${u.key}`).sort()).toEqual(['audiences/big_spenders', 'signals/revenue_rate', 'traits/total_revenue']);
    expect(lineage.usedBy.find((u) => u.kind === 'audiences')!.paths).toEqual(['condition.all[0].where[0].property']);
    // The template reads the computed trait the trait definition writes.
    expect(lineage.downstream).toContainEqual(expect.objectContaining({ kind: 'templates', key: 'hello', via: 'traits/total_revenue' }));

    const email = (await (await t.admin('/lineage?trait=email')).json()) as { usedBy: { kind: string; key: string }[] };
    expect(email.usedBy.map((u) => `${u.kind}/${u.key}`).sort()).toEqual(['audiences/big_spenders', 'templates/hello']);

    // The audience stops reading revenue: lineage follows the stored definitions.
    const changed = { ...audience, condition: { performed: 'Order Completed' } };
    expect((await t.admin('/audiences/big_spenders', { method: 'PUT', json: changed })).status).toBe(200);
    const after = (await (await t.admin(q)).json()) as { usedBy: { kind: string; key: string }[] };
    expect(after.usedBy.map((u) => `${u.kind}/${u.key}`).sort()).toEqual(['signals/revenue_rate', 'traits/total_revenue']);
    expect((await t.admin('/audiences/big_spenders', { method: 'PUT', json: audience })).status).toBe(200);

    const definition = (await (await t.admin('/lineage?definition=audiences/big_spenders')).json()) as { uses: { target: string }[] };
    expect(definition.uses.map((u) => u.target)).toContain('property:Order Completed:revenue');
    const bad = await t.admin('/lineage?trait=email&computed=x');
    expect(bad.status).toBe(400);
  });

  it('deprecating a property an audience uses warns in the plan and in the API', async () => {
    const entry = { key: 'order_revenue', event: 'Order Completed', property: 'revenue', status: 'deprecated', replacement: 'total' };
    const plan = await t.admin('/workspace/plan', { method: 'POST', json: { documents: [{ kind: 'dictionary', ...entry }, { kind: 'audiences', ...audience, name: 'Big spenders (renamed)' }] } });
    expect(plan.status).toBe(200);
    const p = (await plan.json()) as { changes: { kind: string; key: string; impact: string[] }[] };
    const dict = p.changes.find((c) => c.kind === 'dictionary')!;
    expect(dict.impact.join('\n')).toMatch(/warning: property 'revenue' of 'Order Completed' is deprecated and still used by .*audiences\/big_spenders/);
    const aud = p.changes.find((c) => c.kind === 'audiences')!;
    expect(aud.impact).toContain("warning: condition.all[0].where[0].property: property 'revenue' of 'Order Completed' is deprecated (dictionary entry 'order_revenue'); use total instead");

    const saved = await t.admin('/dictionary', { method: 'POST', json: entry });
    expect(saved.status).toBe(201);
    expect(saved.headers.get('tandem-warning')).toMatch(/still used by .*audiences\/big_spenders/);
    const put = await t.admin('/audiences/big_spenders', { method: 'PUT', json: audience });
    expect(put.status).toBe(200);
    expect(put.headers.get('tandem-warning')).toBe("condition.all[0].where[0].property: property 'revenue' of 'Order Completed' is deprecated (dictionary entry 'order_revenue'); use total instead");
    const clean = await t.admin('/audiences/big_spenders', { method: 'PUT', json: { ...audience, condition: { performed: 'Order Completed' } } });
    expect(clean.headers.get('tandem-warning')).toBeNull();
  });

  it('refuses bad dictionary entries with the field named', async () => {
    const res = await t.admin('/dictionary', { method: 'POST', json: { key: 'x', trait: 'email', classification: 'pii' } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { path: string } }).error.path).toBe('piiType');
    const dup = await t.admin('/dictionary', { method: 'POST', json: { key: 'y', trait: 'email' } });
    expect(dup.status).toBe(400);
    expect(((await dup.json()) as { error: { path: string } }).error.path).toBe('trait');
  });
});
