// The data-issue workflow end to end: a violation_rate alert on a source whose tracking plan blocks bad orders, the
// incident's links to the quarantine (per reason) and to the offending events of its time range (followed here, as an
// operator would), the link to bulk trait corrections, flags, and the audit of every operator action.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/core/clock.js';
import { ADMIN_TOKEN, startTandem, type Running } from './harness.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = Date.UTC(2026, 3, 7, 14, 0, 0);

type Link = { href: string; text: string };
type Incident = { id: number; state: string; openedAt: string; resolvedAt: string | null; window: { from: string; to: string }; links: Link[]; timeline?: { kind: string; actor: string | null; detail: Record<string, unknown> }[]; detail: { pendingSince: number; value: number } };

describe('data issues: from an alert to the quarantine, the offending events and bulk corrections, audited', () => {
  const clock = new ManualClock(T0);
  let t: Running;
  const ok = async (res: Promise<Response>, status = 201) => {
    const r = await res;
    expect(r.status, await r.clone().text()).toBe(status);
    return r;
  };
  const order = (i: number, total: unknown) => ({ type: 'track', userId: `buyer-${i}`, event: 'Order Completed', messageId: `order-${i}-${String(total)}`, properties: { total } });
  const follow = async (href: string) => {
    expect(href.startsWith(t.url)).toBe(true);
    const r = await fetch(href, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(r.status, await r.clone().text()).toBe(200);
    return (await r.json()) as { data: Record<string, any>[] };
  };
  const incident = async (id: number) => (await (await ok(t.admin(`/incidents/${id}`), 200)).json()) as Incident;

  beforeAll(async () => {
    t = await startTandem({ clock, config: { collect: { threads: 0 } } });
    await ok(t.admin('/tracking-plans', { method: 'POST', json: { key: 'shop', events: { 'Order Completed': { type: 'object', required: ['total'], properties: { total: { type: 'number' } } } } } }));
    await ok(t.admin('/sources/default', { method: 'PUT', json: { key: 'default', name: 'Default source', trackingPlan: 'shop', mode: 'block' } }), 200);
    await ok(t.admin('/monitors', { method: 'POST', json: { key: 'order-violations', type: 'violation_rate', event: 'Order Completed', window: '1h', minCount: 10, threshold: 0.05 } }));
    await ok(t.admin('/alerts', { method: 'POST', json: { key: 'bad-orders', severity: 'error', monitor: 'order-violations' } }));
    await ok(t.admin('/alerts', { method: 'POST', json: { key: 'orders-seen', severity: 'info', series: { metric: 'events', match: { event: 'Order Completed' }, window: '1h' }, threshold: { op: 'gte', value: 1 } } }));
    await t.app.operations.tick();
  });
  afterAll(async () => {
    await t?.stop();
  });

  let badOrders: number;
  let ordersSeen: number;

  it('a violation_rate incident links to its quarantine per reason, and to its offending events, within its window', async () => {
    const good = Array.from({ length: 20 }, (_, i) => order(i, 10 + i));
    const bad = Array.from({ length: 5 }, (_, i) => order(100 + i, `${i}.99`)); // totals sent as strings
    const res = await ok(t.collect('/v1/batch', { batch: [...good, ...bad] }), 200);
    expect(await res.json()).toMatchObject({ quarantined: 5 });
    await t.settle();
    clock.advance(MINUTE);
    await t.app.operations.tick();

    const firing = (await (await t.admin('/incidents?state=firing')).json()).data as Incident[];
    const incidentOf = (rule: string) => (firing as (Incident & { rule: string })[]).find((i) => i.rule === rule) as Incident;
    badOrders = incidentOf('bad-orders').id;
    ordersSeen = incidentOf('orders-seen').id;
    const i = await incident(badOrders);
    expect(i.detail.value).toBeCloseTo(5 / 25, 12); // 5 held of 25 messages
    // The window: from the start of the monitor's window (1h) before the condition first held, to now (still firing).
    expect(i.window).toEqual({ from: new Date(i.detail.pendingSince - HOUR).toISOString(), to: new Date(clock.now()).toISOString() });

    const texts = i.links.map((l) => l.text);
    const perReason = i.links.find((l) => l.text === 'Quarantine: 5 type_mismatch') as Link;
    expect(perReason, texts.join(' | ')).toBeDefined();
    const params = new URL(perReason.href).searchParams;
    expect(Object.fromEntries(params)).toEqual({ event: 'Order Completed', reason: 'type_mismatch', from: i.window.from, to: i.window.to });
    const held = await follow(perReason.href);
    expect(held.data.map((h) => h.messageId).sort()).toEqual(bad.map((b) => b.messageId).sort());
    expect(held.data.every((h) => h.reasons.some((r: { kind: string }) => r.kind === 'type_mismatch'))).toBe(true);

    const events = await follow(i.links.find((l) => l.text.startsWith('Offending events'))!.href);
    expect(events.data.map((e) => e.message.messageId).sort()).toEqual(good.map((g) => g.messageId).sort());
    // Bad totals are property values: the incident points to bulk trait corrections (data migrations).
    expect(i.links.find((l) => l.href.endsWith('/api/v1/migrations'))?.text).toContain('traits-update');
  });

  it('after the incident resolves, its events link stops at the end of its window', async () => {
    clock.advance(HOUR + MINUTE);
    await t.app.operations.tick();
    const i = await incident(badOrders);
    expect(i.state).toBe('resolved');
    expect(i.window.to).toBe(i.resolvedAt);
    // Later orders are not part of it.
    const later = [order(500, 5), order(501, 6)];
    await ok(t.collect('/v1/batch', { batch: later }), 200);
    await t.settle();
    const after = await incident(badOrders);
    const link = after.links.find((l) => l.text.startsWith('Offending events'))!;
    expect(new URL(link.href).searchParams.get('before')).not.toBeNull();
    const events = await follow(link.href);
    expect(events.data).toHaveLength(20);
    expect(events.data.some((e) => later.some((l) => l.messageId === e.message.messageId))).toBe(false);
    expect((await follow(`${t.url}/api/v1/events?event=Order%20Completed`)).data).toHaveLength(22);
  });

  it('flags, acknowledgements, notes and silences are audited; a profile flag adds the bulk-correction link', async () => {
    // The later orders open a new orders-seen incident (the first one resolved with the window).
    expect((await incident(ordersSeen)).state).toBe('resolved');
    expect((await t.admin(`/incidents/${ordersSeen}/acknowledge`, { method: 'POST', json: { by: 'ana' } })).status).toBe(409);
    clock.advance(MINUTE);
    await t.app.operations.tick();
    ordersSeen = ((await (await t.admin('/incidents?state=firing&rule=orders-seen')).json()).data as Incident[])[0].id;
    // orders-seen is not about property values: no migrations link until a profile on it is flagged.
    let seen = await incident(ordersSeen);
    expect(seen.links.some((l) => l.href.endsWith('/api/v1/migrations'))).toBe(false);
    const profileId = ((await (await t.admin('/profiles/lookup?type=user_id&value=buyer-3')).json()) as { id: string }).id;
    const flag = (await (await ok(t.admin('/flags', { method: 'POST', json: { targetType: 'profile', targetId: profileId, note: 'total in cents', incident: ordersSeen, by: 'ana' } }))).json()) as { id: number };
    seen = await incident(ordersSeen);
    expect(seen.links.some((l) => l.href.endsWith('/api/v1/migrations'))).toBe(true);

    await ok(t.admin(`/incidents/${ordersSeen}/acknowledge`, { method: 'POST', json: { by: 'ana', note: 'on it' } }), 200);
    await ok(t.admin(`/incidents/${badOrders}/notes`, { method: 'POST', json: { text: 'plan v2 fixes the type', by: 'ana' } }), 204);
    const silence = (await (await ok(t.admin('/silences', { method: 'POST', json: { matchers: { alert: 'bad-orders' }, duration: '1h', comment: 'fix deploying', by: 'ana' } }))).json()) as { id: number };
    await ok(t.admin(`/silences/${silence.id}`, { method: 'DELETE' }), 204);
    await ok(t.admin(`/flags/${flag.id}/resolve`, { method: 'POST', json: { resolution: 'traits corrected by migration', by: 'ana' } }), 200);

    const audit = ((await (await t.admin('/audit?limit=50')).json()) as { data: { action: string; target: string; actor: string }[] }).data;
    const actions = audit.map((a) => `${a.action} ${a.target}`);
    const expected = [
      `flag.create profile:${profileId}`,
      `incident.acknowledge ${ordersSeen}`,
      `incident.note ${badOrders}`,
      `silence.create ${silence.id}`,
      `silence.expire ${silence.id}`,
      `flag.resolve profile:${profileId}`,
    ];
    for (const e of expected) expect(actions, e).toContain(e);
    // The silence was expired by its caller, recorded as such.
    expect(audit.find((a) => a.action === 'silence.expire')?.actor).toBe(audit.find((a) => a.action === 'silence.create')?.actor.replace(' (for ana)', ''));
    expect(audit.find((a) => a.action === 'silence.create')?.actor).toMatch(/\(for ana\)$/);
    const timeline = (await incident(ordersSeen)).timeline!.map((e) => e.kind);
    expect(timeline).toEqual(['fired', 'flagged', 'acknowledged']);
  });
});
