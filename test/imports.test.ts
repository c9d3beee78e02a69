import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTestPostgres } from '../src/conditions/sql/postgres-test-client.js';
import { runImportCommand } from '../src/imports/cli.js';
import type { ImportSummary } from '../src/imports/run.js';
import { startTandem, type Running } from './harness.js';

/**
 * `tandem import` against a real Tandem (test/harness.ts) and, for the incremental import, a real PostgreSQL at
 * 127.0.0.1:5432, database `test` (user PGUSER or postgres). Without PostgreSQL those tests are skipped, except in
 * CI (CI=true), where they fail.
 */

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');

let t: Running;
let dir: string;

beforeAll(async () => {
  t = await startTandem();
  dir = mkdtempSync(join(tmpdir(), 'tandem-imports-'));
});
afterAll(async () => {
  await t.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface StoredEvent {
  message: { userId?: string; anonymousId?: string; event: string; timestamp: string; messageId: string; properties: Record<string, unknown> };
}
const eventsNamed = async (name: string): Promise<StoredEvent[]> => (await (await t.admin(`/events?event=${encodeURIComponent(name)}&limit=1000`)).json()).data;
const errorLines = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { row: number; column?: string; field?: string; problem: string; code?: string; key?: Record<string, unknown> });

const options = (extra: Record<string, unknown>) => ({ map: [] as string[], ignore: [] as string[], url: t.url, writeKey: t.writeKey, batch: 500, concurrency: 2, pageSize: 5000, ...extra });

describe('tandem import from files', () => {
  // Line numbers: 1 header; 8-9 is one record (a quoted line break).
  const LONG = 'x'.repeat(600); // an event name over the server's 512 characters: refused by the API, not by the mapping
  const csv = [
    'order_id,customer,amount,paid,at,name,coupon',
    '1001,c-1,19.90,yes,2026-01-02T03:04:05Z,Order Completed,',
    '1002,c-2,abc,no,2026-01-03T00:00:00Z,Order Completed,SPRING',
    '1003,c-3,5,true,2026-01-04,Order Completed,',
    '1004,c-4,7.5,maybe,2026-01-05T10:00:00+02:00,Order Completed,X',
    '1006,,3,yes,2026-01-06,Order Completed,',
    '1007,c-7,2,1',
    '1008,c-8,4.25,no,2026-01-08T08:00:00.5+01:00,Order Completed,"two',
    'lines"',
    `1009,c-9,1,yes,2026-01-09T00:00:00Z,${LONG},`,
    '1010,c-10,"1,000.5",yes,2026-01-10T00:00:00Z,Order Completed,',
    '1011,c-11,0.1,no,2026-01-11T12:30:00-05:00,Order Completed,WINTER',
    '',
  ].join('\n');
  const map = ['order_id=properties.order_id:integer', 'customer=userId', 'amount=properties.revenue:number', 'paid=properties.paid:boolean', 'at=timestamp', 'name=event'];

  it('imports mapped CSV columns as events with their types and times (the CLI as a child process), and reports each bad row', async () => {
    const file = join(dir, 'orders.csv');
    writeFileSync(file, csv);
    const args = ['bin/tandem.js', 'import', 'events', file, '--url', t.url, '--write-key', t.writeKey, '--errors', join(dir, 'orders.errors.jsonl'), '--json', ...map.flatMap((m) => ['--map', m])];
    // Rejected rows make the exit code 1; the summary is still printed.
    const child = await run(process.execPath, args, { cwd: ROOT }).catch((error: { code: number; stdout: string; stderr: string }) => {
      expect(error.code, error.stderr).toBe(1);
      return error;
    });
    const summary = JSON.parse(child.stdout) as ImportSummary;
    // 10 records after the header: 4 good (1001, 1003, 1008, 1011), 1009 refused by the server (its event name),
    // 1002, 1004, 1006, 1007 and 1010 refused by the mapping.
    expect(summary).toMatchObject({ rowsRead: 10, accepted: 4, quarantined: 0, rejected: 6, notSent: 0 });

    const errors = errorLines(join(dir, 'orders.errors.jsonl'));
    const byRow = new Map(errors.map((e) => [e.row, e]));
    expect([...byRow.keys()].sort((a, b) => a - b)).toEqual([3, 5, 6, 7, 10, 11]);
    expect(byRow.get(3)).toMatchObject({ column: 'amount', field: 'properties.revenue' });
    expect(byRow.get(3)!.problem).toContain('"abc" is not a number');
    expect(byRow.get(5)).toMatchObject({ column: 'paid', field: 'properties.paid' });
    expect(byRow.get(6)).toMatchObject({ field: 'userId' });
    expect(byRow.get(7)!.problem).toBe('4 fields, but the header has 7');
    expect(byRow.get(10)).toMatchObject({ column: 'name', field: 'event', code: 'invalid_value' }); // from the API's answer
    expect(byRow.get(11)).toMatchObject({ column: 'amount', field: 'properties.revenue' }); // "1,000.5": no thousands separators

    await t.settle();
    const events = await eventsNamed('Order Completed');
    const byUser = new Map(events.map((e) => [e.message.userId, e.message]));
    expect([...byUser.keys()].sort()).toEqual(['c-1', 'c-11', 'c-3', 'c-8']);
    // Times are kept as written (an import), converted to UTC by hand: 08:00:00.5 at +01:00 is 07:00:00.500Z,
    // 12:30 at -05:00 is 17:30Z.
    expect(byUser.get('c-1')).toMatchObject({ timestamp: '2026-01-02T03:04:05.000Z', properties: { order_id: 1001, revenue: 19.9, paid: true } });
    expect(byUser.get('c-3')).toMatchObject({ timestamp: '2026-01-04T00:00:00.000Z', properties: { order_id: 1003, revenue: 5, paid: true } });
    expect(byUser.get('c-8')).toMatchObject({ timestamp: '2026-01-08T07:00:00.500Z', properties: { order_id: 1008, revenue: 4.25, paid: false, coupon: 'two\nlines' } });
    expect(byUser.get('c-11')).toMatchObject({ timestamp: '2026-01-11T17:30:00.000Z', properties: { order_id: 1011, revenue: 0.1, paid: false, coupon: 'WINTER' } });
    expect('coupon' in byUser.get('c-1')!.properties).toBe(false); // an empty cell states nothing
  }, 60_000);

  it('re-running the same file adds no duplicates (stable messageIds); a new --id-salt imports the rows again', async () => {
    const file = join(dir, 'orders.csv');
    const first = (await eventsNamed('Order Completed')).map((e) => e.message.messageId).sort();
    expect(first).toHaveLength(4);
    const again = await runImportCommand('events', file, options({ map, errors: join(dir, 'again.errors.jsonl') }));
    expect(again).toMatchObject({ rowsRead: 10, accepted: 4, rejected: 6 });
    await t.settle();
    expect((await eventsNamed('Order Completed')).map((e) => e.message.messageId).sort()).toEqual(first);

    await runImportCommand('events', file, options({ map, errors: join(dir, 'salted.errors.jsonl'), idSalt: 'second' }));
    await t.settle();
    expect(await eventsNamed('Order Completed')).toHaveLength(8);
  }, 30_000);

  it('keeps two identical rows as two events (the line is part of the messageId)', async () => {
    const file = join(dir, 'twice.csv');
    writeFileSync(file, 'userId,event,timestamp\nt-1,Coffee Bought,2026-01-01T08:00:00Z\nt-1,Coffee Bought,2026-01-01T08:00:00Z\n');
    expect(await runImportCommand('events', file, options({ errors: join(dir, 'twice.errors.jsonl') }))).toMatchObject({ rowsRead: 2, accepted: 2 });
    await t.settle();
    expect(await eventsNamed('Coffee Bought')).toHaveLength(2);
  });

  it('imports traits from JSON lines onto the right profiles, by userId or by e-mail alone', async () => {
    const file = join(dir, 'crm.jsonl');
    writeFileSync(
      file,
      [
        '{"id":"u-1","plan":"pro","seats":3,"signup":"2025-12-01"}',
        '{"id":"u-2","plan":"free","seats":"5","vip":true}',
        '{"id":"u-9", "plan": ',
        '{"id":"u-3","seats":"many","plan":"team"}',
        '',
        '{"email":"Dee@Example.com","plan":"team","seats":2}',
        '["u-4"]',
      ].join('\n'),
    );
    const errorsPath = join(dir, 'crm.errors.jsonl');
    const summary = await runImportCommand('traits', file, options({ map: ['id=userId', 'seats=traits.seats:integer', 'signup=traits.signed_up_at:date'], errors: errorsPath }));
    expect(summary).toMatchObject({ rowsRead: 6, accepted: 3, rejected: 3 });
    const errors = errorLines(errorsPath);
    expect(errors.map((e) => e.row)).toEqual([3, 4, 7]);
    expect(errors[0].problem).toMatch(/^not JSON/);
    expect(errors[1]).toMatchObject({ column: 'seats', field: 'traits.seats' });
    expect(errors[2].problem).toContain('must be a JSON object');

    await t.settle();
    const profile = async (type: string, value: string) => {
      const res = await t.admin(`/profiles/lookup?type=${type}&value=${encodeURIComponent(value)}`);
      return res.status === 200 ? ((await res.json()) as { traits: Record<string, unknown> }).traits : undefined;
    };
    expect(await profile('user_id', 'u-1')).toMatchObject({ plan: 'pro', seats: 3, signed_up_at: '2025-12-01T00:00:00.000Z' });
    expect(await profile('user_id', 'u-2')).toMatchObject({ plan: 'free', seats: 5, vip: true });
    expect(await profile('email', 'dee@example.com')).toMatchObject({ plan: 'team', seats: 2 });
    expect(await profile('user_id', 'u-3')).toBeUndefined(); // its row was rejected, not half-imported
  }, 30_000);

  it('names the field of a bad option or mapping before sending anything', async () => {
    await expect(runImportCommand('events', join(dir, 'orders.csv'), options({ map: ['nope=userId'] }))).rejects.toThrow("has no column 'nope'");
    await expect(runImportCommand('events', join(dir, 'orders.csv'), options({ map: ['amount=price'] }))).rejects.toThrow("--map amount=price: unknown field 'price'");
    await expect(runImportCommand('events', join(dir, 'missing.csv'), options({}))).rejects.toThrow('missing.csv');
    await expect(runImportCommand('events', join(dir, 'orders.csv'), options({ map, writeKey: 'wrong', errors: join(dir, 'x.jsonl') }))).resolves.toMatchObject({ stopped: expect.stringContaining('refused the write key') });
  });
});

describe('tandem import against a rate-limited source', () => {
  it('waits out 429 answers (Retry-After) and loses no row', async () => {
    // A source of 100 events per second, burst 100: of three batches of 100 the second and third must wait about a second each.
    const created = await t.admin('/sources', { method: 'POST', json: { key: 'limited', rateLimit: { eventsPerSecond: 100, burst: 100 } } });
    expect(created.status).toBe(201);
    const { writeKey } = (await created.json()) as { writeKey: string };
    const file = join(dir, 'many.jsonl');
    writeFileSync(file, Array.from({ length: 250 }, (_, i) => JSON.stringify({ userId: `r-${i}`, event: 'Rated', timestamp: '2026-01-01T00:00:00Z', n: i })).join('\n'));
    const summary = await runImportCommand('events', file, options({ batch: 100, concurrency: 1, errors: join(dir, 'many.errors.jsonl'), writeKey }));
    expect(summary).toMatchObject({ rowsRead: 250, accepted: 250, rejected: 0, notSent: 0 });
    expect(summary.retries).toBeGreaterThanOrEqual(2);
    await t.settle();
    const stored = await eventsNamed('Rated');
    expect(stored.map((e) => e.message.properties.n).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 250 }, (_, i) => i));
  }, 30_000);
});

const pg = await connectTestPostgres();

describe.skipIf(!pg.reachable && process.env.CI !== 'true')('tandem import --from-postgres', () => {
  const table = `imp_orders_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
  const url = `postgres://${process.env.PGUSER ?? 'postgres'}@127.0.0.1:5432/test`;
  const state = () => join(dir, `${table}.state.json`);
  const importOrders = () =>
    runImportCommand(
      'events',
      undefined,
      options({
        fromPostgres: url, table, updatedAt: 'updated_at', state: state(), pageSize: 2, errors: join(dir, `${table}.errors.jsonl`), event: 'Order Synced',
        map: ['customer=userId', 'total=properties.total:number', 'created_at=timestamp'],
      }),
    );

  beforeAll(async () => {
    if (!pg.reachable) throw new Error('PostgreSQL at 127.0.0.1:5432 (database test) is not reachable, and CI=true requires it');
    await pg.client.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, customer text NOT NULL, total numeric(10,2), status text, created_at timestamptz NOT NULL, updated_at timestamptz)`);
    // Rows 1 and 2 share an updated_at, and pages hold 2 rows: the page boundary falls inside a tie.
    await pg.insert(table, [
      [1, 'p-1', '10.50', 'paid', '2026-02-01T10:00:00Z', '2026-02-01T10:00:00Z'],
      [2, 'p-2', '20.00', 'paid', '2026-02-01T11:00:00Z', '2026-02-01T12:00:00Z'],
      [3, 'p-3', '30.25', 'paid', '2026-02-01T11:30:00Z', '2026-02-01T12:00:00Z'],
      [4, 'p-4', '5.00', 'draft', '2026-02-01T11:45:00Z', null],
    ]);
  });
  afterAll(async () => {
    if (pg.reachable) await pg.client.query(`DROP TABLE IF EXISTS ${table}`);
    await pg.client.end().catch(() => undefined);
  });

  it('imports the rows, then after an UPDATE and an INSERT only those, advancing the mark in the state file', async () => {
    const first = await importOrders();
    expect(first).toMatchObject({ rowsRead: 3, accepted: 3, rejected: 0, notSent: 0 });
    expect(first.warnings[0]).toContain('1 rows');
    expect(first.mark).toEqual({ updatedAt: '2026-02-01 12:00:00+00', key: ['3'] });
    expect(JSON.parse(readFileSync(state(), 'utf8'))).toMatchObject({ table, updatedAtColumn: 'updated_at', keyColumns: ['id'], rowsImported: 3, mark: { key: ['3'] } });
    await t.settle();
    const firstEvents = await eventsNamed('Order Synced');
    expect(firstEvents.map((e) => e.message.userId).sort()).toEqual(['p-1', 'p-2', 'p-3']);
    const p1 = firstEvents.find((e) => e.message.userId === 'p-1')!.message;
    // numeric(10,2) arrives as text and is declared a number; unmapped columns become properties.
    expect(p1).toMatchObject({ timestamp: '2026-02-01T10:00:00.000Z', properties: { total: 10.5, status: 'paid', id: 1 } });
    expect((p1.properties.updated_at as string)).toBe('2026-02-01T10:00:00.000Z');

    expect(await importOrders()).toMatchObject({ rowsRead: 0, accepted: 0 });

    await pg.client.query(`UPDATE ${table} SET status = 'refunded', updated_at = '2026-02-02T09:00:00Z' WHERE id = 2`);
    await pg.insert(table, [[5, 'p-5', '7.75', 'paid', '2026-02-02T08:00:00Z', '2026-02-02T08:30:00Z']]);
    const second = await importOrders();
    expect(second).toMatchObject({ rowsRead: 2, accepted: 2, rejected: 0 });
    expect(second.mark).toEqual({ updatedAt: '2026-02-02 09:00:00+00', key: ['2'] });
    await t.settle();
    const all = await eventsNamed('Order Synced');
    expect(all).toHaveLength(5);
    const p2 = all.filter((e) => e.message.userId === 'p-2').map((e) => e.message.properties.status).sort();
    expect(p2).toEqual(['paid', 'refunded']); // the old version's event and the new one's
    expect(all.filter((e) => e.message.userId === 'p-5')).toHaveLength(1);
    expect(JSON.parse(readFileSync(state(), 'utf8')).rowsImported).toBe(5);
  }, 30_000);

  it('imports CRM traits from a table without a primary key (ctid order), leaving out rows changed within --lag', async () => {
    const crm = `${table}_crm`;
    await pg.client.query(`CREATE TABLE ${crm} (email text, full_name text, plan text, score numeric, changed timestamp)`);
    try {
      await pg.insert(crm, [
        ['Ann@Example.com', 'Ann A', 'pro', '0.75', '2026-03-01 10:00:00'],
        ['bob@example.com', 'Bob B', 'free', null, '2026-03-01 10:00:00'],
        ['cy@example.com', 'Cy C', 'team', '1', '2999-01-01 00:00:00'], // "changed" in the future: within any lag
      ]);
      const crmImport = (extra: Record<string, unknown>) =>
        runImportCommand('traits', undefined, options({ fromPostgres: url, table: crm, updatedAt: 'changed', state: join(dir, `${crm}.state.json`), errors: join(dir, `${crm}.errors.jsonl`), map: ['email=traits.email', 'score=traits.score:number'], ignore: ['changed'], ...extra }));
      const summary = await crmImport({ lag: '1m' });
      expect(summary).toMatchObject({ rowsRead: 2, accepted: 2, rejected: 0 });
      expect(summary.mark?.key).toEqual(['(0,2)']); // the second row of the first page of the heap
      await t.settle();
      const traits = async (email: string) => ((await (await t.admin(`/profiles/lookup?type=email&value=${encodeURIComponent(email)}`)).json()) as { traits: Record<string, unknown> }).traits;
      expect(await traits('ann@example.com')).toMatchObject({ email: 'Ann@Example.com', full_name: 'Ann A', plan: 'pro', score: 0.75 });
      expect(await traits('bob@example.com')).toMatchObject({ full_name: 'Bob B', plan: 'free', score: null });
      expect((await t.admin('/profiles/lookup?type=email&value=cy%40example.com')).status).toBe(404);
      // Without the lag the third row comes, and only it.
      expect(await crmImport({})).toMatchObject({ rowsRead: 1, accepted: 1 });
    } finally {
      await pg.client.query(`DROP TABLE IF EXISTS ${crm}`);
    }
  }, 30_000);

  it('does not move the mark when the server does not acknowledge the rows', async () => {
    await pg.insert(table, [[6, 'p-6', '1.00', 'paid', '2026-02-03T08:00:00Z', '2026-02-03T08:00:00Z']]);
    const before = readFileSync(state(), 'utf8');
    const failed = await runImportCommand(
      'events',
      undefined,
      options({ fromPostgres: url, table, updatedAt: 'updated_at', state: state(), errors: join(dir, 'down.errors.jsonl'), event: 'Order Synced', map: ['customer=userId'], url: 'http://127.0.0.1:9', retries: 0 }),
    ).catch((e: Error) => e);
    expect(failed).not.toBeInstanceOf(Error);
    expect((failed as ImportSummary).stopped).toContain('could not reach Tandem');
    expect((failed as ImportSummary).notSent).toBe(1);
    expect(readFileSync(state(), 'utf8')).toBe(before);
    const retried = await importOrders();
    expect(retried).toMatchObject({ rowsRead: 1, accepted: 1 });
  }, 120_000);
});
