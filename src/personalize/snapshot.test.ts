import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqlite, type Sqlite } from '../storage/sqlite/database.js';
import { SnapshotCache } from './snapshot.js';

// The front thread's cache over store.db: two real connections to one file, as the core (writer) and the front
// (reader) hold them. A value is read once while nothing is committed, and read again after any commit.
let dir: string;
let writer: Sqlite;
let reader: Sqlite;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tandem-snapshot-'));
  writer = openSqlite(join(dir, 'store.db'), 'normal');
  writer.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL); CREATE TABLE other (x INTEGER)');
  writer.prepare('INSERT INTO t VALUES (?, ?)').run('stock', 5);
  reader = openSqlite(join(dir, 'store.db'), 'normal');
});

afterEach(() => {
  reader.close();
  writer.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('SnapshotCache', () => {
  it('keeps a value while no other connection commits, and reads it again after a commit to any table', () => {
    const cache = new SnapshotCache(reader);
    const values = cache.map<number>();
    const select = reader.prepare('SELECT v FROM t WHERE k = ?').pluck();
    let reads = 0;
    const stock = () => values.get('stock', () => (reads++, select.get('stock') as number));

    cache.refresh();
    expect(stock()).toBe(5);
    cache.refresh();
    expect(stock()).toBe(5);
    expect(reads).toBe(1);

    writer.prepare('UPDATE t SET v = ? WHERE k = ?').run(0, 'stock');
    cache.refresh();
    expect(stock()).toBe(0);
    expect(reads).toBe(2);

    // A commit that does not touch the row still drops it (the cache cannot tell what changed).
    writer.prepare('INSERT INTO other VALUES (1)').run();
    cache.refresh();
    expect(stock()).toBe(0);
    expect(reads).toBe(3);
  });

  it('keeps at most its limit of values', () => {
    const cache = new SnapshotCache(reader, 2);
    const values = cache.map<number>();
    cache.refresh();
    values.get('a', () => 1);
    values.get('b', () => 2);
    expect(values.size).toBe(2);
    values.get('c', () => 3);
    expect(values.size).toBe(1);
    expect(values.get('a', () => 10)).toBe(10);
  });
});
