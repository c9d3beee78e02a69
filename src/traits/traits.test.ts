import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TandemError } from '../core/errors.js';
import type { EventRecord, JsonValue } from '../conditions/model.js';
import { loadDuckDbInputs } from '../conditions/sql/duckdb-inputs.js';
import { duckdbDialect } from '../conditions/sql/duckdb.js';
import { DAY, HOUR, MINUTE, NOW, track } from '../conditions/test-support.js';
import { parseTraitDefinition, parseTraitDefinitionText, traitMode, type EventTraitDefinition, type SqlTraitDefinition } from './definition.js';
import { traitReference } from './reference.js';
import { compileSqlTraitQuery, compileTraitQuery } from './sql.js';
import { createTraitEvaluator, WINDOW_ENTRY_CAP } from './streaming.js';
import { expectSqlValue, parseSql } from './test-support.js';
import { addToPartials, sumOfPartials } from './values.js';

let instance: DuckDBInstance;
let conn: DuckDBConnection;
beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  conn = await instance.connect();
});
afterAll(() => {
  conn.closeSync();
  instance.closeSync();
});

/** The value of a definition on one profile's events as of `now`, after checking that reference, streaming and DuckDB SQL give it. */
async function valueOf(raw: unknown, events: EventRecord[], now = NOW): Promise<JsonValue> {
  const def = parseTraitDefinition(raw) as EventTraitDefinition;
  const reference = traitReference(def, events, now);
  const evaluator = createTraitEvaluator(def);
  const state = events.filter((e) => e.timestamp <= now).reduce((s, e) => evaluator.onEvent(s, e), evaluator.init());
  expect(evaluator.value(state, now), 'streaming').toEqual(reference);
  await loadDuckDbInputs(conn, {
    profiles: [{ id: 'p1', traits: {}, computed: {}, identifiers: [], audiences: [], subscriptions: {} }],
    events: events.map((event) => ({ profileId: 'p1', event })),
    catalogs: [],
  });
  const query = compileTraitQuery(def, duckdbDialect, now);
  const rows = (await conn.runAndReadAll(query.sql, query.params as DuckDBValue[])).getRowObjectsJS();
  expect(rows.length).toBe(1);
  expectSqlValue(def, parseSql(rows[0].value), reference, 'DuckDB');
  return reference;
}

function nextChangeOf(raw: unknown, events: EventRecord[], now = NOW): number | undefined {
  const evaluator = createTraitEvaluator(parseTraitDefinition(raw));
  return evaluator.nextChange(events.reduce((s, e) => evaluator.onEvent(s, e), evaluator.init()), now);
}

function refusal(raw: unknown): { path: string | undefined; message: string } {
  try {
    parseTraitDefinition(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(TandemError);
    expect((error as TandemError).code).toBe('invalid_trait');
    return { path: (error as TandemError).path, message: (error as TandemError).message };
  }
  throw new Error('definition was accepted');
}

const order = (ago: number, properties: Record<string, unknown> = {}) => track('Order Completed', NOW - ago, properties);

describe('parseTraitDefinition', () => {
  it('reads YAML', () => {
    expect(
      parseTraitDefinitionText(`
key: lifetime_revenue
event: Order Completed
where:
  - { property: currency, eq: EUR }
within: 90d
compute: { sum: total }
`),
    ).toEqual({ key: 'lifetime_revenue', event: 'Order Completed', where: [{ property: 'currency', eq: 'EUR' }], within: '90d', compute: { sum: 'total' } });
  });

  it('points into the definition', () => {
    expect(refusal({ key: 'x', compute: { sum: 5 } })).toEqual({ path: 'compute.sum', message: 'compute.sum: must be a property path such as total or address.city' });
    expect(refusal({ key: 'x', compute: { sum: 'a', max: 'b' } }).message).toBe('compute: names several kinds (sum, max); a trait computes one value');
    expect(refusal({ key: 'x', compute: {} }).path).toBe('compute');
    expect(refusal({ key: 'x', compute: { sum: 'total', limit: 3 } }).path).toBe('compute.limit');
    expect(refusal({ key: 'x', compute: { unique: 'sku', limit: 5000 } }).message).toBe('compute.limit: must be a whole number from 1 to 1000');
    expect(refusal({ key: 'x', compute: { since_last: 'weeks' } }).path).toBe('compute.since_last');
    expect(refusal({ key: 'x', compute: { count: true }, within: '1 day' }).message).toBe('within: must be a duration such as 24h, 30m or 7d');
    expect(refusal({ key: 'x', compute: { count: true }, within: '0h' }).path).toBe('within');
    expect(refusal({ key: 'x', compute: { count: true }, where: [{ property: 'total', gte: 1, lte: 5 }] }).path).toBe('where[0]');
    expect(refusal({ key: 'x', compute: { count: true }, colour: 'red' }).path).toBe('colour');
    expect(refusal({ compute: { count: true } }).path).toBe('key');
    expect(() => parseTraitDefinition({ key: 'x', compute: { count: true } }, 'traits[2]')).not.toThrow();
    expect(() => parseTraitDefinition({ key: 'x', compute: { count: 1 } }, 'traits[2]')).toThrow('traits[2].compute.count: must be true');
  });

  it('accepts read-only SQL over the views and refuses the rest', () => {
    const sql = (text: string) => ({ key: 's', sql: text, schedule: '1h' });
    const ok = [
      `SELECT profile_id, count(*) AS value FROM c_events WHERE event = 'Ticket; DELETE' GROUP BY profile_id;`,
      `WITH t AS (SELECT profile_id, max(ts) m FROM c_events GROUP BY 1) SELECT p.profile_id, t.m AS value FROM c_profiles p JOIN t ON t.profile_id = p.profile_id`,
      `select i.profile_id, count(*) value from c_identifiers i, c_catalog_rows r -- update\n where r.key = i.value group by 1`,
      `SELECT profile_id, (SELECT count(*) FROM c_events e2 WHERE e2.profile_id = e.profile_id) AS value FROM c_events e`,
      `SELECT profile_id, max(extract(epoch FROM to_timestamp(ts / 1000))) AS value FROM c_events GROUP BY profile_id`,
      `SELECT profile_id, count(*) AS value FROM c_events WHERE profile_id IN (SELECT profile_id FROM c_identifiers) GROUP BY 1`,
    ];
    for (const text of ok) expect(traitMode(parseTraitDefinition(sql(text)))).toBe('batch');
    const refusals: [string, string][] = [
      ['SELECT 1 AS profile_id, 2 AS value; DROP TABLE c_events', 'sql: must be a single statement (no ; between statements)'],
      ['DELETE FROM c_events', 'sql: must be a read-only query starting with SELECT or WITH'],
      ['WITH d AS (DELETE FROM c_events RETURNING *) SELECT * FROM d', 'sql: cannot use DELETE: an SQL trait only reads'],
      ['SELECT * INTO copy FROM c_events', 'sql: cannot use INTO: an SQL trait only reads'],
      ["SELECT * FROM read_csv('/etc/passwd')", 'sql: cannot call read_csv(): an SQL trait reads only the views c_events, c_profiles, c_identifiers, c_catalog_rows'],
      ["SELECT * FROM '/etc/passwd'", 'sql: cannot read a file or a string as a table'],
      ['SELECT * FROM events', 'sql: reads events, which is not one of the views c_events, c_profiles, c_identifiers, c_catalog_rows'],
      ['SELECT * FROM c_events WHERE ts IN (SELECT ts FROM secrets)', 'sql: reads secrets, which is not one of the views c_events, c_profiles, c_identifiers, c_catalog_rows'],
      ['SELECT * FROM c_events e JOIN pg_catalog.pg_authid a ON true', 'sql: cannot read pg_catalog.pg_authid: use the views c_events, c_profiles, c_identifiers, c_catalog_rows by their plain names'],
      ['SELECT * FROM c_events WHERE ts > $1', 'sql: cannot use $ (parameters and dollar-quoted strings are not allowed)'],
    ];
    for (const [text, message] of refusals) expect(refusal(sql(text)).message, text).toBe(message);
    expect(refusal({ key: 's', sql: 'SELECT 1', schedule: 'hourly' }).path).toBe('schedule');
    expect(refusal({ key: 's', sql: 'SELECT 1', schedule: '1h', compute: { count: true } }).path).toBe('sql');
  });
});

describe('values of each kind (reference, streaming and DuckDB alike)', () => {
  const orders = [order(3 * DAY, { total: 10, sku: 'b' }), order(2 * DAY, { total: 2.5, sku: 'a' }), order(DAY, { total: '99', sku: 'b' }), order(HOUR, { total: 7, sku: true })];
  const base = { key: 'x', event: 'Order Completed' };

  it('count, sum, avg, min, max skip non-numbers', async () => {
    expect(await valueOf({ ...base, compute: { count: true } }, orders)).toBe(4);
    expect(await valueOf({ ...base, compute: { sum: 'total' } }, orders)).toBe(19.5);
    expect(await valueOf({ ...base, compute: { avg: 'total' } }, orders)).toBe(6.5);
    expect(await valueOf({ ...base, compute: { min: 'total' } }, orders)).toBe(2.5);
    expect(await valueOf({ ...base, compute: { max: 'total' } }, orders)).toBe(10);
    expect(await valueOf({ ...base, compute: { sum: 'total' } }, [])).toBeNull();
    expect(await valueOf({ ...base, compute: { count: true } }, [])).toBe(0);
  });

  it('first, last, most frequent, unique, unique count', async () => {
    expect(await valueOf({ ...base, compute: { first: 'sku' } }, orders)).toBe('b');
    expect(await valueOf({ ...base, compute: { last: 'sku' } }, orders)).toBe(true);
    expect(await valueOf({ ...base, compute: { last: 'total' } }, orders)).toBe(7);
    expect(await valueOf({ ...base, compute: { most_frequent: 'sku' } }, orders)).toBe('b');
    expect(await valueOf({ ...base, compute: { unique: 'total' } }, orders)).toEqual([2.5, 7, 10, '99']);
    expect(await valueOf({ ...base, compute: { unique: 'sku', limit: 2 } }, orders)).toEqual(['a', 'b']);
    expect(await valueOf({ ...base, compute: { unique_count: 'sku' } }, orders)).toBe(3);
    expect(await valueOf({ ...base, compute: { unique_count: 'sku', limit: 2 } }, orders)).toBe(2);
  });

  it('ties: most frequent goes to the first value in value order, first / last at one instant to the least / greatest value', async () => {
    const tied = [order(HOUR, { sku: 'b' }), order(HOUR, { sku: 'a' }), order(2 * HOUR, { sku: 10 }), order(2 * HOUR, { sku: 'b' }), order(3 * HOUR, { sku: 10 })];
    // 'b' and 10 are seen twice each; numbers come before strings.
    expect(await valueOf({ ...base, compute: { most_frequent: 'sku' } }, tied)).toBe(10);
    // The latest instant (1h ago) has 'a' and 'b': last takes the greatest.
    expect(await valueOf({ ...base, compute: { last: 'sku' } }, tied)).toBe('b');
    expect(await valueOf({ ...base, compute: { first: 'sku' } }, [order(HOUR, { sku: 'b' }), order(HOUR, { sku: 'a' })])).toBe('a');
  });

  it('since first / last in whole units, floored', async () => {
    expect(await valueOf({ ...base, compute: { since_first: 'days' } }, orders)).toBe(3);
    expect(await valueOf({ ...base, compute: { since_last: 'hours' } }, orders)).toBe(1);
    expect(await valueOf({ ...base, compute: { since_last: 'days' } }, [order(DAY - 1)])).toBe(0);
    expect(await valueOf({ ...base, compute: { since_last: 'days' } }, [])).toBeNull();
  });

  it('windows (now - D, now], property filters, any track event when no name is given', async () => {
    expect(await valueOf({ ...base, within: '2d', compute: { sum: 'total' } }, orders)).toBe(7);
    expect(await valueOf({ ...base, within: '2d', compute: { count: true } }, [...orders, order(2 * DAY - 1)])).toBe(3);
    expect(await valueOf({ ...base, where: [{ property: 'sku', eq: 'b' }], compute: { count: true } }, orders)).toBe(2);
    const mixed = [track('A', NOW - 1), track('B', NOW - 2), { type: 'page', event: 'A', timestamp: NOW - 3, properties: {} }];
    expect(await valueOf({ key: 'x', compute: { count: true } }, mixed)).toBe(2);
    expect(await valueOf({ key: 'x', event: 'A', compute: { count: true } }, mixed)).toBe(2);
  });
});

describe('nextChange', () => {
  it('a windowed count changes when its oldest event leaves the window', () => {
    const events = [order(20 * HOUR), order(5 * HOUR)];
    expect(nextChangeOf({ key: 'x', event: 'Order Completed', within: '24h', compute: { count: true } }, events)).toBe(NOW + 4 * HOUR);
  });

  it('a windowed max changes only when the max leaves (a smaller older value does not matter)', () => {
    const events = [order(20 * HOUR, { total: 1 }), order(10 * HOUR, { total: 9 }), order(HOUR, { total: 3 })];
    expect(nextChangeOf({ key: 'x', event: 'Order Completed', within: '24h', compute: { max: 'total' } }, events)).toBe(NOW + 14 * HOUR);
  });

  it('since_last ticks at the next whole unit; the last event leaving the window makes it null', () => {
    const events = [order(DAY + 5 * HOUR)];
    expect(nextChangeOf({ key: 'x', compute: { since_last: 'days' } }, events)).toBe(NOW + 19 * HOUR);
    // 29h old: within 60h it ticks to 2 days at +19h, then leaves the window at +31h.
    expect(nextChangeOf({ key: 'x', within: '60h', compute: { since_last: 'days' } }, events)).toBe(NOW + 19 * HOUR);
    expect(nextChangeOf({ key: 'x', within: '60h', compute: { since_last: 'days' } }, events, NOW + 19 * HOUR)).toBe(NOW + 31 * HOUR);
    // Within 30h it leaves the window (value null) at +1h, before any tick.
    expect(nextChangeOf({ key: 'x', within: '30h', compute: { since_last: 'days' } }, events)).toBe(NOW + HOUR);
  });

  it('is undefined for all-time aggregates', () => {
    expect(nextChangeOf({ key: 'x', compute: { sum: 'total' } }, [order(HOUR, { total: 1 })])).toBeUndefined();
  });
});

describe('state bounds', () => {
  it('keeps the limit first distinct values of unique and most_frequent', () => {
    const evaluator = createTraitEvaluator(parseTraitDefinition({ key: 'x', compute: { most_frequent: 'sku', limit: 2 } }));
    let state = evaluator.init();
    for (const sku of ['d', 'c', 'b', 'c', 'a', 'b', 'b']) state = evaluator.onEvent(state, track('A', NOW, { sku }));
    expect(state).toEqual([['a', 1], ['b', 3]]);
    expect(evaluator.value(state, NOW)).toBe('b');
  });

  it(`keeps at most ${WINDOW_ENTRY_CAP} window entries, the newest (a documented divergence beyond the cap)`, () => {
    const evaluator = createTraitEvaluator(parseTraitDefinition({ key: 'x', within: '30d', compute: { count: true } }));
    let state = evaluator.init();
    for (let i = 0; i < WINDOW_ENTRY_CAP + 500; i++) state = evaluator.onEvent(state, track('A', NOW - i * MINUTE));
    expect((state as unknown[]).length).toBe(WINDOW_ENTRY_CAP);
    expect(evaluator.value(state, NOW)).toBe(WINDOW_ENTRY_CAP);
    // Events at one instant share one entry: 5000 of them are one entry with multiplicity 5000.
    let burst = evaluator.init();
    for (let i = 0; i < 5000; i++) burst = evaluator.onEvent(burst, track('A', NOW));
    expect(burst).toEqual([[NOW, null, 5000]]);
  });

  it('prunes entries that left every window that can still be asked', () => {
    const evaluator = createTraitEvaluator(parseTraitDefinition({ key: 'x', within: '1h', compute: { count: true } }));
    const state = [NOW - 2 * HOUR, NOW - HOUR, NOW - 30 * MINUTE, NOW].reduce((s, t) => evaluator.onEvent(s, track('A', t)), evaluator.init());
    expect(state).toEqual([[NOW - 30 * MINUTE, null, 1], [NOW, null, 1]]);
  });

  it('sums exactly, whatever the order', () => {
    const sum = (xs: number[]) => sumOfPartials(xs.reduce(addToPartials, [] as number[]));
    expect(sum([0.1, 0.2, 0.3])).toBe(0.6);
    expect(sum([0.3, 0.2, 0.1])).toBe(0.6);
    expect(sum([1e100, 1, -1e100])).toBe(1);
    expect(sum([1e16, 1, 1])).toBe(10000000000000002);
  });
});

describe('SQL traits', () => {
  it('are batch only', () => {
    const def = parseTraitDefinition({ key: 's', sql: 'SELECT profile_id, 1 AS value FROM c_profiles', schedule: '1h' });
    expect(() => createTraitEvaluator(def)).toThrow(/SQL trait/);
  });

  it('run wrapped, with the value as JSON text', async () => {
    await loadDuckDbInputs(conn, {
      profiles: ['p1', 'p2'].map((id) => ({ id, traits: {}, computed: {}, identifiers: [], audiences: [], subscriptions: {} })),
      events: [track('Ticket', NOW - DAY), track('Ticket', NOW - HOUR), track('Other', NOW)].map((event) => ({ profileId: 'p1', event })),
      catalogs: [],
    });
    const def = parseTraitDefinition({
      key: 'tickets',
      sql: "SELECT p.profile_id, (SELECT count(*) FROM c_events e WHERE e.profile_id = p.profile_id AND e.event = 'Ticket') AS value FROM c_profiles p;",
      schedule: '1h',
    }) as SqlTraitDefinition;
    const query = compileSqlTraitQuery(def, duckdbDialect);
    const rows = (await conn.runAndReadAll(query.sql, query.params as DuckDBValue[])).getRowObjectsJS();
    expect(rows.map((r) => [r.profile_id, parseSql(r.value)])).toEqual([['p1', 2], ['p2', 0]]);
  });
});
