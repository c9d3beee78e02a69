import { describe, expect, it } from 'vitest';
import { DAY, holds, HOUR, nextChange, NOW, profile, track } from '../../test-support.js';

const catalogs = {
  products: { sku1: { stock: 0, name: 'Boots' }, sku2: { stock: 4, sale_ends: new Date(NOW + 2 * HOUR).toISOString() } },
  stores: { lyon: { open: true } },
};

describe('catalog', () => {
  const viewed = (sku: unknown, at: number) => track('Product Viewed', at, { sku });
  const inStock = { catalog: 'products', key_from: { last_event: 'Product Viewed', property: 'sku' }, where: [{ field: 'stock', gt: 0 }] };

  it('the last viewed product is in stock', async () => {
    expect(await holds(inStock, { catalogs, events: [viewed('sku1', NOW - DAY), viewed('sku2', NOW - HOUR)] })).toBe(true);
    expect(await holds(inStock, { catalogs, events: [viewed('sku2', NOW - DAY), viewed('sku1', NOW - HOUR)] })).toBe(false);
  });

  it('skips events without a string key, and breaks ties by the greater key', async () => {
    expect(await holds(inStock, { catalogs, events: [viewed('sku2', NOW - DAY), viewed(7, NOW - HOUR)] })).toBe(true);
    expect(await holds(inStock, { catalogs, events: [viewed('sku1', NOW - HOUR), viewed('sku2', NOW - HOUR)] })).toBe(true);
  });

  it('a missing row is false; no filter means the row exists', async () => {
    expect(await holds({ catalog: 'stores', key_from: { trait: 'store' } }, { catalogs, profile: profile({ traits: { store: 'lyon' } }) })).toBe(true);
    expect(await holds({ catalog: 'stores', key_from: { trait: 'store' } }, { catalogs, profile: profile({ traits: { store: 'paris' } }) })).toBe(false);
  });

  it('a date in the row can cross a boundary with time', async () => {
    const onSale = { catalog: 'products', key_from: { trait: 'fav' }, where: [{ field: 'sale_ends', after: { ago: '0s' } }] };
    const example = { catalogs, profile: profile({ traits: { fav: 'sku2' } }) };
    expect(await holds(onSale, example)).toBe(true);
    expect(nextChange(onSale, example)).toBe(NOW + 2 * HOUR);
  });
});
