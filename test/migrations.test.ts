import { afterEach, describe, expect, it } from 'vitest';
import { startTandem, type Running } from './harness.js';

async function json<T = any>(res: Promise<Response> | Response, status = 200): Promise<T> {
  const r = await res;
  const text = await r.text();
  if (r.status !== status) throw new Error(`expected HTTP ${status}, got ${r.status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

const track = (t: Running, userId: string, event: string, properties: Record<string, unknown> = {}) => json(t.collect('/v1/track', { userId, event, properties }));
const lookup = (t: Running, userId: string) => json(t.admin(`/profiles/lookup?type=user_id&value=${userId}`));
const members = async (t: Running, key: string): Promise<string[]> => (await json(t.admin(`/audiences/${key}/members?limit=1000`))).data.map((m: { profileId: string }) => m.profileId);
const eventsNamed = async (t: Running, event: string) => (await json(t.admin(`/events?event=${encodeURIComponent(event)}&limit=1000`))).data;

/** Starts a migration and waits for its end; answers the finished record. */
async function migrate(t: Running, body: Record<string, unknown>): Promise<any> {
  const started = await json(t.admin('/migrations', { method: 'POST', json: body }), 202);
  expect(started.status).toBe('running');
  await t.app.migrations.idle();
  const done = await json(t.admin(`/migrations/${started.id}`));
  if (done.status !== 'done') throw new Error(`migration ${done.status}: ${JSON.stringify(done.error)}`);
  return done;
}

describe('data migrations', () => {
  let t: Running;
  afterEach(async () => t?.stop());

  it('a rename rewrites history and definitions', async () => {
    t = await startTandem();
    await json(t.admin('/tracking-plans', { method: 'POST', json: { key: 'shop', events: { 'Order Done': { type: 'object', properties: { total: { type: 'number' } } } } } }), 201);
    await json(t.admin('/audiences', { method: 'POST', json: { key: 'buyers', name: 'Buyers', condition: { performed: 'Order Done' } } }), 201);
    await json(t.admin('/audiences', { method: 'POST', json: { key: 'completers', name: 'Completers', condition: { performed: 'Order Completed' } } }), 201);
    await json(t.admin('/traits', { method: 'POST', json: { key: 'orders', event: 'Order Done', compute: { count: true } } }), 201);
    // Sent: u1 two 'Order Done', u2 one, u3 one 'Order Completed' (the new name already in use) and a page view.
    await track(t, 'u1', 'Order Done', { total: 10 });
    await track(t, 'u1', 'Order Done', { total: 20 });
    await track(t, 'u2', 'Order Done', { total: 5 });
    await track(t, 'u3', 'Order Completed', { total: 7 });
    await track(t, 'u3', 'Product Viewed');
    await t.settle();
    const [u1, u2, u3] = await Promise.all(['u1', 'u2', 'u3'].map((u) => lookup(t, u)));
    expect((await members(t, 'buyers')).sort()).toEqual([u1.id, u2.id].sort());
    expect(u1.computed.orders).toBe(2);
    const versionBefore = (await json(t.admin('/versions?limit=1'))).data[0].version;

    // The dry run reports the counts and the definitions, and writes nothing.
    const dry = await migrate(t, { kind: 'rename-event', from: 'Order Done', to: 'Order Completed', dryRun: true });
    expect(dry.report.history).toMatchObject({ matched: 3, changed: 3, conflicts: 0, failed: 0, warehouse: 0 });
    expect(dry.report.history.samples[0]).toMatchObject({ before: { event: 'Order Done' }, after: { event: 'Order Completed' } });
    expect(dry.report.definitions.map((d: any) => `${d.op} ${d.kind}/${d.key}`).sort()).toEqual(['create aliases/default', 'update audiences/buyers', 'update tracking-plans/shop', 'update traits/orders']);
    expect(dry.report.backfilled).toEqual(['audiences/completers']);
    expect(await eventsNamed(t, 'Order Done')).toHaveLength(3);
    expect((await json(t.admin('/versions?limit=1'))).data[0].version).toBe(versionBefore);
    expect((await json(t.admin('/audiences/buyers'))).condition).toEqual({ performed: 'Order Done' });
    expect((await json(t.admin('/audit'))).data.filter((a: any) => a.action.startsWith('migration.'))).toEqual([]);

    const done = await migrate(t, { kind: 'rename-event', from: 'Order Done', to: 'Order Completed', message: 'one name for orders', author: 'ana' });
    expect(done.report.history).toMatchObject({ matched: 3, changed: 3 });
    expect(done.report.history.warehouse).toBe(3);
    await t.settle();

    // History: the events API and the warehouse know only the new name.
    expect(await eventsNamed(t, 'Order Done')).toHaveLength(0);
    const renamed = await eventsNamed(t, 'Order Completed');
    expect(renamed.map((e: any) => [e.message.userId, e.message.properties.total]).sort()).toEqual([['u1', 10], ['u1', 20], ['u2', 5], ['u3', 7]]);
    const sql = await t.app.warehouse.query("SELECT event, count(*)::INTEGER AS n, count(DISTINCT json_extract_string(message, '$.event'))::INTEGER AS names FROM events WHERE workspace_id = 'default' AND event IN ('Order Done', 'Order Completed', 'Product Viewed') GROUP BY event ORDER BY event");
    expect(sql).toEqual([{ event: 'Order Completed', n: 4, names: 1 }, { event: 'Product Viewed', n: 1, names: 1 }]);
    const mirrored = await t.app.warehouse.query("SELECT event, count(*)::INTEGER AS n FROM m_events WHERE workspace_id = 'default' AND event LIKE 'Order%' GROUP BY event");
    expect(mirrored).toEqual([{ event: 'Order Completed', n: 4 }]);

    // Definitions: one new version, by the author, holding the aliases and every definition that named the old name.
    const version = await json(t.admin(`/versions/${done.report.version}`));
    expect(version).toMatchObject({ version: versionBefore + 1, author: 'ana', message: 'one name for orders' });
    expect(version.changes.map((c: any) => `${c.kind}/${c.key}`).sort()).toEqual(['aliases/default', 'audiences/buyers', 'tracking-plans/shop', 'traits/orders']);
    expect((await json(t.admin('/audiences/buyers'))).condition).toEqual({ performed: 'Order Completed' });
    expect((await json(t.admin('/traits/orders'))).event).toBe('Order Completed');
    expect(Object.keys((await json(t.admin('/tracking-plans/shop'))).events)).toEqual(['Order Completed']);

    // Audiences and traits answer over the rewritten history: buyers now reads 'Order Completed' (u3 too); the one
    // that already read the new name was backfilled; one created now finds the old events.
    expect((await members(t, 'buyers')).sort()).toEqual([u1.id, u2.id, u3.id].sort());
    expect((await members(t, 'completers')).sort()).toEqual([u1.id, u2.id, u3.id].sort());
    await json(t.admin('/audiences', { method: 'POST', json: { key: 'two_orders', name: 'Two orders', condition: { performed: 'Order Completed', count: { gte: 2 } } } }), 201);
    await t.settle();
    expect(await members(t, 'two_orders')).toEqual([u1.id]);
    expect((await lookup(t, 'u1')).computed.orders).toBe(2);
    expect((await lookup(t, 'u3')).computed.orders).toBe(1);

    // Collection: a message sent with the old name arrives with the new one.
    await track(t, 'u4', 'Order Done', { total: 3 });
    await t.settle();
    expect(await eventsNamed(t, 'Order Done')).toHaveLength(0);
    expect((await eventsNamed(t, 'Order Completed')).map((e: any) => e.message.userId)).toContain('u4');
    expect((await lookup(t, 'u4')).computed.orders).toBe(1);

    const audit = (await json(t.admin('/audit'))).data.find((a: any) => a.action === 'migration.rename-event');
    expect(audit).toMatchObject({ actor: 'ana', target: "rename event 'Order Done' to 'Order Completed'" });
    expect(audit.detail.report.history.changed).toBe(3);
  });

  it('renames a property in the history, the traits that read it and at collection', async () => {
    t = await startTandem();
    await json(t.admin('/traits', { method: 'POST', json: { key: 'spent', event: 'Order Completed', compute: { sum: 'total' } } }), 201);
    await track(t, 'u1', 'Order Completed', { total: 10 });
    await track(t, 'u1', 'Order Completed', { total: 15, amount: 1 }); // carries both names: a conflict, left as it is
    await track(t, 'u1', 'Cart Viewed', { total: 99 }); // another event: not renamed
    await t.settle();
    const done = await migrate(t, { kind: 'rename-property', event: 'Order Completed', from: 'total', to: 'amount' });
    expect(done.report.history).toMatchObject({ matched: 2, changed: 1, conflicts: 1 });
    expect((await json(t.admin('/traits/spent'))).compute).toEqual({ sum: 'amount' });
    await track(t, 'u1', 'Order Completed', { total: 4 });
    await t.settle();
    const props = (await eventsNamed(t, 'Order Completed')).map((e: any) => e.message.properties);
    expect(props).toEqual([{ amount: 4 }, { total: 15, amount: 1 }, { amount: 10 }]);
    expect((await eventsNamed(t, 'Cart Viewed'))[0].message.properties).toEqual({ total: 99 });
    // spent = 10 + 1 + 4 (the conflicting event keeps amount 1).
    expect((await lookup(t, 'u1')).computed.spent).toBe(15);
  });

  it('retypes a property: counts convertible and failing values, rewrites the history and converts at collection', async () => {
    t = await startTandem();
    await json(t.admin('/audiences', { method: 'POST', json: { key: 'pricey', name: 'Pricey', condition: { performed: 'Product Viewed', where: [{ property: 'price', gte: 10 }] } } }), 201);
    await track(t, 'a', 'Product Viewed', { price: '12.5' });
    await track(t, 'b', 'Product Viewed', { price: '3' });
    await track(t, 'c', 'Product Viewed', { price: 'about ten' });
    await track(t, 'd', 'Product Viewed', { price: 11 });
    await t.settle();
    const [a, d] = await Promise.all([lookup(t, 'a'), lookup(t, 'd')]);
    expect(await members(t, 'pricey')).toEqual([d.id]);

    const dry = await migrate(t, { kind: 'retype-property', event: 'Product Viewed', property: 'price', type: 'number', dryRun: true });
    expect(dry.report.history).toMatchObject({ matched: 4, changed: 2, unchanged: 1, failed: 1 });
    expect(dry.report.history.failures).toEqual([{ eventId: expect.any(Number), value: 'about ten', reason: 'string "about ten" is not a number' }]);
    expect(dry.report.backfilled).toEqual(['audiences/pricey']);
    expect((await eventsNamed(t, 'Product Viewed')).map((e: any) => e.message.properties.price).sort()).toEqual([11, '12.5', '3', 'about ten']);

    const done = await migrate(t, { kind: 'retype-property', event: 'Product Viewed', property: 'price', type: 'number' });
    expect(done.report.history).toMatchObject({ changed: 2, failed: 1 });
    await track(t, 'e', 'Product Viewed', { price: '20' });
    await t.settle();
    const prices = (await eventsNamed(t, 'Product Viewed')).map((e: any) => [e.message.userId, e.message.properties.price]);
    expect(prices.sort()).toEqual([['a', 12.5], ['b', 3], ['c', 'about ten'], ['d', 11], ['e', 20]]);
    const typed = await t.app.warehouse.query("SELECT json_type(json_extract(message, '$.properties.price')) AS t, count(*)::INTEGER AS n FROM events WHERE event = 'Product Viewed' GROUP BY t ORDER BY t");
    expect(typed).toEqual([{ t: 'DOUBLE', n: 1 }, { t: 'UBIGINT', n: 3 }, { t: 'VARCHAR', n: 1 }]);
    const e = await lookup(t, 'e');
    expect((await members(t, 'pricey')).sort()).toEqual([a.id, d.id, e.id].sort());
    expect((await json(t.admin('/audit'))).data.some((x: any) => x.action === 'migration.retype-property')).toBe(true);
  });

  it('updates traits from CSV and deletes traits from JSON lines, with lineage and audit entries', async () => {
    t = await startTandem();
    await json(t.admin('/audiences', { method: 'POST', json: { key: 'pro', name: 'Pro', condition: { trait: 'plan', eq: 'pro' } } }), 201);
    await json(t.collect('/v1/identify', { userId: 'u1', traits: { email: 'ana@example.com', plan: 'free' } }));
    await json(t.collect('/v1/identify', { userId: 'u2', traits: { email: 'bo@example.com', plan: 'free', nickname: 'bee' } }));
    await t.settle();
    const csv = 'email,plan,seats\nANA@example.com,pro,5\nnobody@example.com,pro,1\n';

    const dry = await migrate(t, { kind: 'traits-update', format: 'csv', data: csv, identifier: 'email', dryRun: true });
    const [u1, u2] = await Promise.all([lookup(t, 'u1'), lookup(t, 'u2')]);
    expect(dry.report).toMatchObject({ rows: 2, profiles: 1, notFound: 1, values: 2, samples: [{ profileId: u1.id, before: { plan: 'free', seats: null }, after: { plan: 'pro', seats: '5' } }] });
    expect(dry.report.notFoundSamples).toEqual([{ line: 3, identifier: 'nobody@example.com' }]);
    expect((await lookup(t, 'u1')).traits.plan).toBe('free');

    await migrate(t, { kind: 'traits-update', format: 'csv', data: csv, identifier: 'email' });
    await t.settle();
    const after = await lookup(t, 'u1');
    expect(after.traits).toMatchObject({ plan: 'pro', seats: '5', email: 'ana@example.com' });
    const source = (await json(t.admin('/sources'))).data.find((s: any) => s.key === 'migrations');
    expect(source).toBeDefined();
    expect(after.lineage.plan).toMatchObject({ source: 'migrations' });
    expect(await members(t, 'pro')).toEqual([u1.id]);

    const gone = await migrate(t, { kind: 'traits-delete', format: 'jsonl', data: '{"user_id":"u2"}\n{"user_id":"u1"}\n', traits: ['nickname'] });
    expect(gone.report).toMatchObject({ rows: 2, profiles: 2, values: 1, samples: [{ profileId: u2.id, before: { nickname: 'bee' }, after: {} }] });
    const u2After = await lookup(t, 'u2');
    expect(u2After.traits).toEqual({ email: 'bo@example.com', plan: 'free' });
    const identifies = (await json(t.admin(`/profiles/${u2.id}/events`))).data.map((e: any) => e.message.traits);
    expect(identifies).toEqual([{ email: 'bo@example.com', plan: 'free' }]);
    const actions = (await json(t.admin('/audit'))).data.map((a: any) => a.action);
    expect(actions).toEqual(expect.arrayContaining(['migration.traits-update', 'migration.traits-delete']));
  });

  it('refuses bad requests with a 400 naming the field', async () => {
    t = await startTandem();
    const missing = await json(t.admin('/migrations', { method: 'POST', json: { kind: 'rename-event', from: 'A' } }), 400);
    expect(missing.error).toMatchObject({ path: 'to' });
    const unknown = await json(t.admin('/migrations', { method: 'POST', json: { kind: 'rename-swap' } }), 400);
    expect(unknown.error.message).toContain('kind');
    const column = await json(t.admin('/migrations', { method: 'POST', json: { kind: 'traits-update', format: 'csv', data: 'mail,plan\na,b\n', identifier: 'email' } }), 400);
    expect(column.error).toMatchObject({ path: 'data' });
    expect(column.error.message).toContain("no column 'email'");
    const notUsed = await json(t.admin('/migrations', { method: 'POST', json: { kind: 'rename-event', from: 'A', to: 'B', traits: ['x'] } }), 400);
    expect(notUsed.error).toMatchObject({ path: 'traits' });
    expect(await json(t.admin('/migrations/nope'), 404)).toMatchObject({ error: { code: 'not_found' } });
  });
});
