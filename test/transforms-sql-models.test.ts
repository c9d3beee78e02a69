import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTandem, type Running } from './harness.js';

// A DAG of SQL models on a real Tandem: orders enriched with the catalog's category (incremental), the category
// of each profile's first purchase (a computed trait) and percentiles of order value per category.
let t: Running;
beforeAll(async () => {
  t = await startTandem();
  await t.admin('/catalogs', { method: 'POST', json: { key: 'products', keyField: 'sku' } });
  await t.admin('/catalogs/products/rows', { method: 'POST', json: [{ sku: 'A1', category: 'shoes' }, { sku: 'B2', category: 'hats' }, { sku: 'C3', category: 'bags' }] });
  await t.admin('/catalogs', { method: 'POST', json: { key: 'category_stats', keyField: 'category' } });
});
afterAll(async () => t?.stop());

const json = async <T>(r: Promise<Response>): Promise<T> => (await r).json() as Promise<T>;
let n = 0;
const order = (userId: string, sku: string, total: number, day: number) => ({ type: 'track', messageId: `o${++n}`, userId, event: 'Order Completed', properties: { sku, total }, timestamp: `2024-03-${String(day).padStart(2, '0')}T10:00:00.000Z` });

const MODELS = [
  {
    key: 'orders',
    materialized: 'incremental',
    uniqueKey: ['event_id'],
    sql: `SELECT e.event_id, e.profile_id, e.ts, e.properties->>'sku' AS sku, CAST(e.properties->>'total' AS DOUBLE) AS total, c."row"->>'category' AS category
FROM events e LEFT JOIN catalogs c ON c.catalog = 'products' AND c.key = (e.properties->>'sku')
WHERE e.type = 'track' AND e.event = 'Order Completed'`,
  },
  { key: 'first_purchase_category', sql: 'SELECT profile_id, arg_min(category, ts) AS value FROM orders GROUP BY profile_id', output: { trait: 'first_purchase_category' } },
  {
    key: 'order_value_percentiles',
    sql: 'SELECT category, quantile_cont(total, 0.5) AS p50, quantile_cont(total, 0.9) AS p90, count(*) AS orders FROM orders GROUP BY category',
    output: { catalog: 'category_stats' },
  },
];

type Rows = { columns: string[]; rows: Record<string, unknown>[] };
const rowsOf = async (key: string, order: string) => {
  const r = await json<Rows>(t.admin(`/models-sql/${key}/rows?limit=1000`));
  return r.rows.sort((a, b) => String(a[order]).localeCompare(String(b[order])));
};
/** Percentile with linear interpolation between closest ranks (quantile_cont's definition), computed here by hand. */
const percentile = (values: number[], q: number) => {
  const s = [...values].sort((a, b) => a - b);
  const h = (s.length - 1) * q;
  return s[Math.floor(h)] + (h - Math.floor(h)) * (s[Math.ceil(h)] - s[Math.floor(h)]);
};

describe('SQL models', () => {
  it('refuses what is not a read-only SELECT over the workspace views, with the position', async () => {
    const preview = (sql: string) => json<{ error: { code: string; message: string; path: string } }>(t.admin('/models-sql/preview', { method: 'POST', json: { sql } }));
    expect((await preview('DROP TABLE events')).error.code).toBe('not_select');
    expect((await preview('SELECT * FROM m_events')).error).toMatchObject({ code: 'unknown_relation', path: 'sql:1:15' });
    expect((await preview('SELECT * FROM main.events')).error.code).toBe('not_allowed');
    expect((await preview("SELECT * FROM read_csv('/etc/passwd')")).error.code).toBe('not_allowed');
    expect((await preview("SELECT * FROM '/etc/passwd'")).error.code).toBe('unknown_relation');
    expect((await preview('SELECT 1 FROM events;\nDROP TABLE events')).error.code).toBe('not_select');
    const syntax = await preview('SELECT event,\n  count(*\nFROM events');
    expect(syntax.error.code).toBe('sql_syntax');
    expect(syntax.error.path).toMatch(/^sql:3:/);
    const binder = await preview('SELECT event,\n  nope FROM events');
    expect(binder.error.message).toContain('LINE 2:');
    expect(binder.error.path).toBe('sql:2');
    const bad = await t.admin('/models-sql', { method: 'POST', json: { key: 'loop_a', sql: 'SELECT * FROM loop_a' } });
    expect(bad.status).toBe(400);
  });

  it('incremental runs of the DAG equal a full refresh, and feed a computed trait and a catalog', async () => {
    for (const m of MODELS) {
      const r = await t.admin('/models-sql', { method: 'POST', json: m });
      expect(r.status, await r.text()).toBe(201);
    }
    const first = [order('u1', 'A1', 30, 1), order('u2', 'B2', 10, 2), order('u1', 'B2', 20, 3), order('u3', 'C3', 50, 4)];
    await t.collect('/v1/batch', { batch: first });
    await t.settle();
    const run1 = await json<{ data: { key: string; mode: string; added: number }[] }>(t.admin('/models-sql/run', { method: 'POST', json: {} }));
    expect(run1.data, JSON.stringify(run1)).toBeDefined();
    expect(run1.data.map((r) => r.key)).toEqual(['orders', 'first_purchase_category', 'order_value_percentiles']);

    const second = [order('u2', 'A1', 70, 5), order('u4', 'A1', 40, 6), order('u4', 'C3', 5, 7), order('u1', 'A1', 90, 8)];
    await t.collect('/v1/batch', { batch: second });
    await t.settle();
    const run2 = await json<{ data: { key: string; mode: string; added: number }[] }>(t.admin('/models-sql/run', { method: 'POST', json: {} }));
    expect(run2.data[0]).toMatchObject({ key: 'orders', mode: 'incremental', added: 4 });

    const incremental = { orders: await rowsOf('orders', 'event_id'), first: await rowsOf('first_purchase_category', 'profile_id'), pct: await rowsOf('order_value_percentiles', 'category') };
    const full = await json<{ data: { mode: string }[] }>(t.admin('/models-sql/run', { method: 'POST', json: { full: true } }));
    expect(full.data.every((r) => r.mode === 'full')).toBe(true);
    expect({ orders: await rowsOf('orders', 'event_id'), first: await rowsOf('first_purchase_category', 'profile_id'), pct: await rowsOf('order_value_percentiles', 'category') }).toEqual(incremental);

    // Independently: categories from the catalog, first purchase by time, percentiles by the closest-ranks rule.
    const all = [...first, ...second];
    const category: Record<string, string> = { A1: 'shoes', B2: 'hats', C3: 'bags' };
    expect(incremental.orders.map((o) => [o.sku, o.total, o.category])).toEqual(all.map((o) => [o.properties.sku, o.properties.total, category[o.properties.sku]]));
    for (const c of ['bags', 'hats', 'shoes']) {
      const totals = all.filter((o) => category[o.properties.sku] === c).map((o) => o.properties.total);
      const row = incremental.pct.find((r) => r.category === c)!;
      expect(row.orders).toBe(totals.length);
      expect(row.p50).toBeCloseTo(percentile(totals, 0.5), 9);
      expect(row.p90).toBeCloseTo(percentile(totals, 0.9), 9);
    }
    const expectedFirst: Record<string, string> = { u1: 'shoes', u2: 'hats', u3: 'bags', u4: 'shoes' };
    for (const [user, cat] of Object.entries(expectedFirst)) {
      const profile = await json<{ id: string; computed: Record<string, unknown> }>(t.admin(`/profiles/lookup?type=user_id&value=${user}`));
      expect(profile.computed.first_purchase_category).toBe(cat);
    }
    const stats = await json<{ data: { key: string; row: { p50: number } }[] }>(t.admin('/catalogs/category_stats/rows'));
    expect(stats.data.map((r) => r.key)).toEqual(['bags', 'hats', 'shoes']);
    expect(stats.data.find((r) => r.key === 'shoes')!.row.p50).toBeCloseTo(percentile([30, 70, 40, 90], 0.5), 9);
  });

  it('previews at most the limit, over the models too', async () => {
    const r = await json<{ rows: unknown[]; truncated: boolean; reads: string[] }>(t.admin('/models-sql/preview', { method: 'POST', json: { sql: 'SELECT * FROM orders ORDER BY event_id', limit: 3 } }));
    expect(r.rows).toHaveLength(3);
    expect(r.truncated).toBe(true);
    expect(r.reads).toEqual(['orders']);
  });
});
