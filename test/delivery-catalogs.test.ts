import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluate, parseCondition } from '../src/conditions/index.js';
import type { CatalogLookup } from '../src/conditions/model.js';
import { startTandem, type Running } from './harness.js';

describe('catalogs: load, real-time changes, lookup, change notification', () => {
  let tandem: Running;
  const changes: { catalog: string; key: string; before?: Record<string, unknown>; after?: Record<string, unknown> }[] = [];

  beforeAll(async () => {
    tandem = await startTandem({ config: { collect: { threads: 0 } } });
    tandem.app.catalogs.onRowChanged((workspaceId, catalog, key, before, after) => {
      expect(workspaceId).toBe('default');
      changes.push({ catalog, key, before, after });
    });
    const res = await tandem.admin('/catalogs', {
      method: 'POST',
      json: {
        key: 'inventory', keyField: 'id',
        schema: { type: 'object', required: ['sku', 'store', 'stock'], properties: { id: { type: 'string' }, sku: { type: 'string' }, store: { type: 'string' }, stock: { type: 'integer', minimum: 0 }, price: { type: 'number' }, online: { type: 'boolean' } } },
      },
    });
    expect(res.status).toBe(201);
  });
  afterAll(() => tandem?.stop());

  const csv = 'id,sku,store,stock,price,online\r\nA-1:paris,A-1,paris,0,19.5,true\r\nA-1:lyon,A-1,lyon,4,19.5,false\r\n"B-2:paris",B-2,paris,12,"1,5",true\r\n';

  it('loads CSV with the types the row schema declares, all or nothing, naming the line of a bad row', async () => {
    const bad = await tandem.admin('/catalogs/inventory/rows', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'id,sku,store,stock\nX:1,X,paris,3\nX:2,X,paris,many\n' });
    expect(bad.status).toBe(400);
    const err = ((await bad.json()) as { error: { message: string; path: string } }).error;
    expect(err.path).toBe('line 3: stock');
    expect(err.message).toBe('line 3: stock must be integer');
    expect(tandem.app.catalogs.get('default', 'inventory', 'X:1')).toBeUndefined(); // nothing of the failed load was kept

    const fieldCount = await tandem.admin('/catalogs/inventory/rows', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'id,sku,store,stock\nX:1,X,paris\n' });
    expect(((await fieldCount.json()) as { error: { message: string } }).error.message).toBe('line 2: 3 fields, but the header has 4');

    const priceIsNumber = csv.replace('"1,5"', '1.5');
    const ok = await tandem.admin('/catalogs/inventory/rows', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: priceIsNumber });
    expect(ok.status, await ok.clone().text()).toBe(200);
    expect(await ok.json()).toEqual({ upserted: 3, changed: 3 });
    const lookup: CatalogLookup = tandem.app.catalogs.lookup('default');
    expect(lookup.get('inventory', 'A-1:lyon')).toEqual({ id: 'A-1:lyon', sku: 'A-1', store: 'lyon', stock: 4, price: 19.5, online: false });
    expect(lookup.get('inventory', 'nope')).toBeUndefined();
    expect(changes.map((c) => c.key)).toEqual(['A-1:paris', 'A-1:lyon', 'B-2:paris']);

    // The same data again changes nothing and notifies nobody.
    const again = await tandem.admin('/catalogs/inventory/rows', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: priceIsNumber });
    expect(await again.json()).toEqual({ upserted: 3, changed: 0 });
    expect(changes).toHaveLength(3);
  });

  it('a quoted comma in CSV stays in its field; JSON rows are checked against the schema', async () => {
    const wrong = await tandem.admin('/catalogs/inventory/rows', { method: 'POST', json: [{ id: 'C:1', sku: 'C', store: 'paris', stock: 1 }, { id: 'C:2', sku: 'C', store: 'paris', stock: -1 }] });
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { error: { path: string } }).error.path).toBe('rows[1].stock');
    const missingKey = await tandem.admin('/catalogs/inventory/rows', { method: 'POST', json: [{ sku: 'C', store: 'paris', stock: 1 }] });
    expect(((await missingKey.json()) as { error: { path: string } }).error.path).toBe('rows[0].id');
    const quoted = await tandem.admin('/catalogs/inventory/rows', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'id,sku,store,stock\n"D:1","D, the ""best""",paris,2\n' });
    expect(quoted.status).toBe(200);
    expect(tandem.app.catalogs.get('default', 'inventory', 'D:1')?.sku).toBe('D, the "best"');
  });

  it('real-time updates are visible to lookups and conditions at once, and listeners see before and after ("back in stock")', async () => {
    const profile = { id: 'p1', traits: { watching: 'A-1:paris' }, computed: {}, identifiers: [], audiences: [], subscriptions: {} };
    const inStock = parseCondition({ catalog: 'inventory', key_from: { trait: 'watching' }, where: [{ field: 'stock', gt: 0 }] });
    const catalogs = tandem.app.catalogs.lookup('default');
    expect(evaluate(inStock, { profile, events: [], now: 0, catalogs })).toBe(false);

    changes.length = 0;
    const put = await tandem.admin('/catalogs/inventory/rows/A-1:paris', { method: 'PUT', json: { sku: 'A-1', store: 'paris', stock: 5, price: 19.5 } });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ id: 'A-1:paris', stock: 5 });
    expect(evaluate(inStock, { profile, events: [], now: 0, catalogs })).toBe(true);
    expect(changes).toEqual([{ catalog: 'inventory', key: 'A-1:paris', before: expect.objectContaining({ stock: 0 }), after: expect.objectContaining({ stock: 5 }) }]);

    const mismatch = await tandem.admin('/catalogs/inventory/rows/A-1:paris', { method: 'PUT', json: { id: 'other', sku: 'A-1', store: 'paris', stock: 5 } });
    expect(mismatch.status).toBe(400);
    const created = await tandem.admin('/catalogs/inventory/rows/E:1', { method: 'PUT', json: { sku: 'E', store: 'lyon', stock: 1 } });
    expect(created.status).toBe(201);

    expect((await tandem.admin('/catalogs/inventory/rows/A-1:paris', { method: 'DELETE' })).status).toBe(204);
    expect((await tandem.admin('/catalogs/inventory/rows/A-1:paris', { method: 'DELETE' })).status).toBe(404);
    expect(catalogs.get('inventory', 'A-1:paris')).toBeUndefined();
    expect(evaluate(inStock, { profile, events: [], now: 0, catalogs })).toBe(false);
    expect(changes.at(-1)).toEqual({ catalog: 'inventory', key: 'A-1:paris', before: expect.objectContaining({ stock: 5 }), after: undefined });
  });

  it('pages rows in key order', async () => {
    const first = (await (await tandem.admin('/catalogs/inventory/rows?limit=2')).json()) as { data: { key: string }[]; total: number; next?: string };
    expect(first.total).toBe(4);
    expect(first.data.map((r) => r.key)).toEqual(['A-1:lyon', 'B-2:paris']);
    const second = (await (await tandem.admin(`/catalogs/inventory/rows?limit=2&after=${encodeURIComponent(first.next!)}`)).json()) as { data: { key: string }[] };
    expect(second.data.map((r) => r.key)).toEqual(['D:1', 'E:1']);
    expect((await tandem.admin('/catalogs/missing/rows')).status).toBe(404);
  });

  it('deleting a catalog drops its rows', async () => {
    expect((await tandem.admin('/catalogs/inventory', { method: 'DELETE' })).status).toBe(204);
    expect(tandem.app.catalogs.get('default', 'inventory', 'B-2:paris')).toBeUndefined();
    expect((await tandem.admin('/catalogs', { method: 'POST', json: { key: 'inventory', keyField: 'id' } })).status).toBe(201);
    expect(((await (await tandem.admin('/catalogs/inventory/rows')).json()) as { total: number }).total).toBe(0);
  });
});
