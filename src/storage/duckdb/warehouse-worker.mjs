// The embedded warehouse's thread: it owns the DuckDB connection and reads new events straight from the SQLite
// store file, so neither the appends (synchronous in DuckDB's appender) nor the copying cost the event loop that
// answers collection requests. Plain JavaScript, so the thread starts without a TypeScript loader.
import { parentPort, workerData } from 'node:worker_threads';
import { DuckDBInstance } from '@duckdb/node-api';
import Database from 'better-sqlite3';
import { existsSync, renameSync, rmSync } from 'node:fs';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS events (
    id BIGINT PRIMARY KEY,
    workspace_id VARCHAR NOT NULL,
    source_id VARCHAR NOT NULL,
    message_id VARCHAR NOT NULL,
    type VARCHAR NOT NULL,
    event VARCHAR,
    user_id VARCHAR,
    anonymous_id VARCHAR,
    timestamp_ms BIGINT NOT NULL,
    received_at_ms BIGINT NOT NULL,
    message JSON NOT NULL
  );`;

let instance = await DuckDBInstance.create(workerData.file);
let conn = await instance.connect();
await conn.run(SCHEMA);
let store; // opened lazily: the store file may be created after the warehouse
let select;

async function lastEventId() {
  const reader = await conn.runAndReadAll('SELECT COALESCE(MAX(id), 0) AS id FROM events');
  return Number(reader.getRowObjectsJS()[0].id);
}

let last = await lastEventId();

/** Copies up to `limit` events after the last one held; the appended ids are the checkpoint. */
async function catchUp(limit) {
  if (!store) {
    store = new Database(workerData.storeFile, { readonly: true, fileMustExist: true });
    select = store.prepare('SELECT id, workspace_id, source_id, message_id, type, event, user_id, anonymous_id, timestamp, received_at, message FROM events WHERE id > ? ORDER BY id LIMIT ?').raw();
  }
  const rows = select.all(last, limit);
  if (rows.length === 0) return false;
  const appender = await conn.createAppender('events');
  for (const r of rows) {
    appender.appendBigInt(BigInt(r[0]));
    for (let i = 1; i <= 7; i++) (r[i] === null ? appender.appendNull() : appender.appendVarchar(r[i]));
    appender.appendBigInt(BigInt(r[8]));
    appender.appendBigInt(BigInt(r[9]));
    appender.appendVarchar(r[10]);
    appender.endRow();
  }
  appender.closeSync();
  last = rows[rows.length - 1][0];
  return rows.length === limit;
}

async function query(sql, params) {
  const reader = await conn.runAndReadAll(sql, params);
  return reader.getRowObjectsJS();
}

/**
 * Privacy erasure: DuckDB keeps deleted rows' bytes in the file (VACUUM does not reclaim them), so the database is
 * copied into a fresh file that replaces the old one. Costs a full copy: erasures are batched before calling it.
 */
async function compact() {
  const file = workerData.file;
  const fresh = `${file}.compact`;
  if (existsSync(fresh)) rmSync(fresh);
  await conn.run('CHECKPOINT');
  const name = (await conn.runAndReadAll('SELECT current_database() AS db')).getRowObjectsJS()[0].db;
  await conn.run(`ATTACH '${fresh.replaceAll("'", "''")}' AS tandem_compact`);
  await conn.run(`COPY FROM DATABASE "${name}" TO tandem_compact`);
  await conn.run('DETACH tandem_compact');
  conn.closeSync();
  instance.closeSync();
  if (existsSync(`${file}.wal`)) rmSync(`${file}.wal`); // empty after the checkpoint; must not replay into the copy
  renameSync(fresh, file); // atomic: a crash leaves either the old file or the compacted one
  instance = await DuckDBInstance.create(file);
  conn = await instance.connect();
}

/**
 * Replaces a connection-scoped TEMP table with these rows (inputs of a compiled query, such as the condition
 * language's c_* relations; TEMP so that nothing of them reaches the warehouse file).
 */
async function load(table, columns, rows) {
  await conn.run(`CREATE OR REPLACE TEMP TABLE "${table}" (${columns.map(([name, type]) => `"${name}" ${type}`).join(', ')})`);
  const appender = await conn.createAppender(table, 'main', 'temp');
  for (const row of rows) {
    columns.forEach(([, type], i) => {
      const v = row[i];
      if (v === null || v === undefined) appender.appendNull();
      else if (type === 'BIGINT') appender.appendBigInt(BigInt(v));
      else appender.appendVarchar(String(v));
    });
    appender.endRow();
  }
  appender.closeSync();
}

const ops = { load: (m) => load(m.table, m.columns, m.rows), catchUp: (m) => catchUp(m.limit), lastEventId: () => lastEventId(), query: (m) => query(m.sql, m.params), compact: () => compact() };

// Messages run one after another: a DELETE (privacy erasure) must not slip into a catch-up's await between reading
// the store and appending, or the rows it read before the store deleted them would be appended after the DELETE.
let turn = Promise.resolve();
parentPort.on('message', (m) => {
  turn = turn.then(() => handle(m));
});

async function handle(m) {
  if (m.op === 'close') {
    store?.close();
    conn.closeSync();
    instance.closeSync();
    parentPort.close();
    return;
  }
  try {
    parentPort.postMessage({ id: m.id, result: await ops[m.op](m) });
  } catch (error) {
    parentPort.postMessage({ id: m.id, error: String(error?.message ?? error) });
  }
}
parentPort.postMessage({ ready: true });
