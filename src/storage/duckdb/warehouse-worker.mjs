// The embedded warehouse's thread: it owns the DuckDB connection and reads new events straight from the SQLite
// store file, so neither the appends (synchronous in DuckDB's appender) nor the copying cost the event loop that
// answers collection requests. Plain JavaScript, so the thread starts without a TypeScript loader.
import { parentPort, workerData } from 'node:worker_threads';
import { DuckDBInstance } from '@duckdb/node-api';
import Database from 'better-sqlite3';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { createSqlModelOps } from './sql-models-ops.mjs';

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
  );
  CREATE TABLE IF NOT EXISTS m_profiles (workspace_id VARCHAR NOT NULL, profile_id VARCHAR NOT NULL, traits JSON, computed JSON);
  CREATE TABLE IF NOT EXISTS m_identifiers (workspace_id VARCHAR NOT NULL, profile_id VARCHAR NOT NULL, type VARCHAR, value VARCHAR);
  CREATE TABLE IF NOT EXISTS m_subscriptions (workspace_id VARCHAR NOT NULL, profile_id VARCHAR NOT NULL, grp VARCHAR, status VARCHAR);
  CREATE TABLE IF NOT EXISTS m_memberships (workspace_id VARCHAR NOT NULL, profile_id VARCHAR NOT NULL, audience VARCHAR);
  -- The resolved events as the conditions read them, with the profile each belongs to (its properties stay in events).
  CREATE TABLE IF NOT EXISTS m_events (event_id BIGINT NOT NULL, workspace_id VARCHAR NOT NULL, profile_id VARCHAR NOT NULL, type VARCHAR, event VARCHAR, ts BIGINT);
  CREATE TABLE IF NOT EXISTS m_meta (key VARCHAR PRIMARY KEY, value BIGINT NOT NULL);
  -- Profiles whose m_events rows changed other than by appending new events (remapped by a merge or a recompute,
  -- erased, renamed by a data migration), numbered by the m_meta counter 'events_changed_seq'; the analytics tables
  -- (src/analytics/sequence.ts) recompute these profiles' rows and delete the entries they have read.
  CREATE TABLE IF NOT EXISTS m_events_changes (seq BIGINT NOT NULL, workspace_id VARCHAR NOT NULL, profile_id VARCHAR NOT NULL);`;

/** The mirror's tables keyed by profile (m_events is handled by the event mapping). */
const PROFILE_TABLES = ['m_profiles', 'm_identifiers', 'm_subscriptions', 'm_memberships'];
const MAP_CHUNK = 50_000;

let instance = await DuckDBInstance.create(workerData.file);
let conn = await instance.connect();
await conn.run(SCHEMA);
/** The connection SQL traits run on: its own TEMP views, a READ ONLY transaction per run, interruptible. */
let roConn = await instance.connect();
let store; // opened lazily: the store file may be created after the warehouse
let select;

async function lastEventId() {
  const reader = await conn.runAndReadAll('SELECT COALESCE(MAX(id), 0) AS id FROM events');
  return Number(reader.getRowObjectsJS()[0].id);
}

let last = await lastEventId();

/** Copies up to `limit` events after the last one held; the appended ids are the checkpoint. */
function openStore() {
  if (!store) {
    store = new Database(workerData.storeFile, { readonly: true, fileMustExist: true });
    select = store.prepare('SELECT id, workspace_id, source_id, message_id, type, event, user_id, anonymous_id, timestamp, received_at, message FROM events WHERE id > ? ORDER BY id LIMIT ?').raw();
  }
}

async function catchUp(limit) {
  openStore();
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

/** Statements (no parameters) in one transaction, rolled back when one fails, before any other message runs. */
async function transaction(sql) {
  await conn.run('BEGIN TRANSACTION');
  try {
    await conn.run(sql);
    await conn.run('COMMIT');
  } catch (error) {
    await conn.run('ROLLBACK');
    throw error;
  }
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
  sqlModels.close();
  roConn.closeSync();
  conn.closeSync();
  instance.closeSync();
  if (existsSync(`${file}.wal`)) rmSync(`${file}.wal`); // empty after the checkpoint; must not replay into the copy
  renameSync(fresh, file); // atomic: a crash leaves either the old file or the compacted one
  instance = await DuckDBInstance.create(file);
  conn = await instance.connect();
  roConn = await instance.connect();
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

/* ---- the mirror: the relational inputs of the condition language, kept up to date (src/audiences/profile-mirror.ts) ---- */

async function meta(key) {
  const rows = (await conn.runAndReadAll('SELECT value FROM m_meta WHERE key = $1', [key])).getRowObjectsJS();
  return rows.length ? Number(rows[0].value) : undefined;
}

async function setMeta(key, value) {
  await conn.run('INSERT OR REPLACE INTO m_meta VALUES ($1, $2)', [key, value]);
}

async function append(table, rows, kinds, schema = 'main') {
  if (rows.length === 0) return;
  const appender = await conn.createAppender(table, schema === 'temp' ? 'main' : undefined, schema === 'temp' ? 'temp' : undefined);
  for (const row of rows) {
    row.forEach((v, i) => (v === null || v === undefined ? appender.appendNull() : kinds[i] === 'b' ? appender.appendBigInt(BigInt(v)) : appender.appendVarchar(String(v))));
    appender.endRow();
  }
  appender.closeSync();
}

/** Notes that these profiles' m_events rows changed in place (see m_events_changes). */
async function logChanged(keys) {
  if (keys.length === 0) return;
  const seq = ((await meta('events_changed_seq')) ?? 0) + 1;
  await append('m_events_changes', keys.map(([ws, id]) => [seq, ws, id]), ['b', 's', 's']);
  await setMeta('events_changed_seq', seq);
}

/** Deletes the rows of these profiles from `tables` (through a TEMP list of their keys). */
async function deleteProfiles(tables, keys) {
  if (keys.length === 0) return;
  await conn.run('CREATE OR REPLACE TEMP TABLE mirror_ids (workspace_id VARCHAR, profile_id VARCHAR)');
  await append('mirror_ids', keys, ['s', 's'], 'temp');
  for (const t of tables) await conn.run(`DELETE FROM ${t} USING mirror_ids i WHERE ${t}.workspace_id = i.workspace_id AND ${t}.profile_id = i.profile_id`);
}

/**
 * One copy: the event -> profile mapping follows the resolve stage (appends up to its position, in id order), then
 * each given profile's rows are replaced (a profile that is gone keeps none), and profiles marked `remap` (merges,
 * recomputes) get their mapping read again. The SQLite reads share one snapshot; the DuckDB writes one transaction.
 */
async function mirror(profiles) {
  openStore();
  const mapped = (await meta('mapped')) ?? 0;
  const snapshot = store.transaction(() => {
    const resolved = store.prepare("SELECT event_id FROM identity_positions WHERE consumer = 'resolve'").get()?.event_id ?? 0;
    const upTo = Math.max(mapped, resolved);
    const fresh = [];
    // The event as apply-stage eventRecordOf reads it: names of track events only, time clamped to arrival.
    const columns = "p.event_id, p.workspace_id, p.profile_id, e.type, CASE WHEN e.type = 'track' THEN e.event END, min(e.timestamp, e.received_at)";
    const next = store.prepare(`SELECT ${columns} FROM identity_event_profiles p JOIN events e ON e.id = p.event_id WHERE p.event_id > ? AND p.event_id <= ? ORDER BY p.event_id LIMIT ?`).raw();
    for (let after = mapped; ;) {
      const rows = next.all(after, upTo, MAP_CHUNK);
      fresh.push(...rows);
      if (rows.length < MAP_CHUNK) break;
      after = rows[rows.length - 1][0];
    }
    const byProfile = store.prepare(`SELECT ${columns} FROM identity_event_profiles p JOIN events e ON e.id = p.event_id WHERE p.profile_id = ? AND p.workspace_id = ? AND p.event_id <= ?`).raw();
    const remapped = profiles.filter((p) => p.remap).flatMap((p) => byProfile.all(p.id, p.ws, upTo));
    return { upTo, fresh, remapped };
  })();
  await conn.run('BEGIN TRANSACTION');
  try {
    // A remapped profile's old rows go first; the fresh rows of the snapshot are not among them (ids above `mapped`).
    const kinds = ['b', 's', 's', 's', 's', 'b'];
    await deleteProfiles(['m_events'], profiles.filter((p) => p.remap).map((p) => [p.ws, p.id]));
    await logChanged(profiles.filter((p) => p.remap).map((p) => [p.ws, p.id]));
    await append('m_events', snapshot.remapped.filter((r) => r[0] <= mapped), kinds);
    await append('m_events', snapshot.fresh, kinds);
    await deleteProfiles(PROFILE_TABLES, profiles.map((p) => [p.ws, p.id]));
    const live = profiles.filter((p) => !p.gone);
    await append('m_profiles', live.map((p) => [p.ws, p.id, p.traits, p.computed]), ['s', 's', 's', 's']);
    await append('m_identifiers', live.flatMap((p) => p.identifiers.map(([type, value]) => [p.ws, p.id, type, value])), ['s', 's', 's', 's']);
    await append('m_subscriptions', live.flatMap((p) => p.subscriptions.map(([grp, status]) => [p.ws, p.id, grp, status])), ['s', 's', 's', 's']);
    await append('m_memberships', live.flatMap((p) => p.memberships.map((a) => [p.ws, p.id, a])), ['s', 's', 's']);
    if (snapshot.upTo !== mapped) await setMeta('mapped', snapshot.upTo);
    await conn.run('COMMIT');
  } catch (error) {
    await conn.run('ROLLBACK');
    throw error;
  }
  return snapshot.upTo;
}

/** Privacy erasure: the profiles' mirrored rows go (their events are deleted from `events` by the erasure itself). */
async function mirrorErase(workspaceId, profileIds) {
  await deleteProfiles([...PROFILE_TABLES, 'm_events'], profileIds.map((id) => [workspaceId, id]));
  await logChanged(profileIds.map((id) => [workspaceId, id]));
  // The analytics sequence (src/analytics/sequence.ts) keys rows by the profile's hash: they go now, not at the next
  // report (a profile sharing the hash gets its rows back from m_events then, through the change noted above).
  const held = (await conn.runAndReadAll("SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND table_name IN ('a_event_seq', 'a_event_last')")).getRows().map((r) => String(r[0]));
  for (const t of profileIds.length > 0 ? held : []) await conn.run(`DELETE FROM ${t} USING mirror_ids i WHERE ${t}.workspace_id = i.workspace_id AND ${t}.pk = hash(i.profile_id)`);
}

/**
 * Data migrations (src/migrations) rewrote these events in the store: the copies held here (events, and the
 * mirror's m_events names) are read again from the store, in one transaction. Events not copied yet need nothing:
 * catch-up will copy them as they are now.
 */
async function refreshEvents(ids) {
  openStore();
  const held = ids.filter((id) => id <= last);
  if (held.length === 0) return 0;
  const rows = store.prepare('SELECT id, type, event, message FROM events WHERE id IN (SELECT value FROM json_each(?))').raw().all(JSON.stringify(held));
  await conn.run('CREATE OR REPLACE TEMP TABLE refreshed (id BIGINT, type VARCHAR, event VARCHAR, message VARCHAR)');
  await append('refreshed', rows, ['b', 's', 's', 's'], 'temp');
  await conn.run('BEGIN TRANSACTION');
  try {
    await conn.run('UPDATE events SET event = r.event, message = r.message FROM temp.refreshed r WHERE events.id = r.id');
    await conn.run("UPDATE m_events SET event = CASE WHEN r.type = 'track' THEN r.event END FROM temp.refreshed r WHERE m_events.event_id = r.id");
    const renamed = (await conn.runAndReadAll('SELECT DISTINCT workspace_id, profile_id FROM m_events WHERE event_id IN (SELECT id FROM temp.refreshed)')).getRows();
    await logChanged(renamed.map((r) => [String(r[0]), String(r[1])]));
    await conn.run('COMMIT');
  } catch (error) {
    await conn.run('ROLLBACK');
    throw error;
  }
  return rows.length;
}

const literal = (s) => `'${String(s).replaceAll("'", "''")}'`;

/**
 * The c_* relations of conditions/model.ts for one workspace, as TEMP views over the mirror on `c`: events up to
 * `upTo` (an event id; undefined: all) with the profile each resolved to, read as the streaming side reads them
 * (apply-stage eventRecordOf: names of track events only, time clamped to arrival).
 */
async function views(c, workspaceId, upTo) {
  const ws = literal(workspaceId);
  const bound = upTo === undefined || upTo === null ? '' : ` AND m.event_id <= ${Number(upTo)}`;
  await c.run(`
    CREATE OR REPLACE TEMP VIEW c_profiles AS SELECT profile_id, traits, computed FROM m_profiles WHERE workspace_id = ${ws};
    CREATE OR REPLACE TEMP VIEW c_identifiers AS SELECT profile_id, type, value FROM m_identifiers WHERE workspace_id = ${ws};
    CREATE OR REPLACE TEMP VIEW c_subscriptions AS SELECT profile_id, grp, status FROM m_subscriptions WHERE workspace_id = ${ws};
    CREATE OR REPLACE TEMP VIEW c_memberships AS SELECT profile_id, audience FROM m_memberships WHERE workspace_id = ${ws};
    CREATE OR REPLACE TEMP VIEW c_catalog_rows AS SELECT CAST(NULL AS VARCHAR) AS catalog, CAST(NULL AS VARCHAR) AS key, CAST(NULL AS JSON) AS row WHERE false;
    CREATE OR REPLACE TEMP VIEW c_events AS
      SELECT m.profile_id AS profile_id, m.type AS type, m.event AS event, m.ts AS ts, COALESCE(json_extract(e.message, '$.properties'), CAST('{}' AS JSON)) AS properties
      FROM m_events m LEFT JOIN events e ON e.id = m.event_id WHERE m.workspace_id = ${ws}${bound};`);
}

/** A compiled query over one workspace's c_* views. `readOnly`: on the SQL traits' connection, in a READ ONLY transaction. */
async function inputsQuery(m) {
  const c = m.readOnly ? roConn : conn;
  await views(c, m.workspaceId, m.upTo);
  if (!m.readOnly) return (await c.runAndReadAll(m.sql, m.params ?? [])).getRowObjectsJS();
  await c.run('BEGIN TRANSACTION READ ONLY');
  try {
    return (await c.runAndReadAll(m.sql, m.params ?? [])).getRowObjectsJS();
  } finally {
    await c.run('ROLLBACK');
  }
}

// SQL models (src/transforms): their own connection on the current instance (compact() replaces it).
const sqlModels = createSqlModelOps({ getInstance: () => instance, storeFile: workerData.storeFile });

const ops = {
  sqlModelCheck: (m) => sqlModels.sqlModelCheck(m),
  sqlModelPreview: (m) => sqlModels.sqlModelPreview(m),
  sqlModelRun: (m) => sqlModels.sqlModelRun(m),
  sqlModelRows: (m) => sqlModels.sqlModelRows(m),
  sqlModelDrop: (m) => sqlModels.sqlModelDrop(m),
  load: (m) => load(m.table, m.columns, m.rows),
  catchUp: (m) => catchUp(m.limit),
  lastEventId: () => lastEventId(),
  query: (m) => query(m.sql, m.params),
  transaction: (m) => transaction(m.sql),
  compact: () => compact(),
  mirror: (m) => mirror(m.profiles),
  mirrorErase: (m) => mirrorErase(m.workspaceId, m.profileIds),
  refreshEvents: (m) => refreshEvents(m.ids),
  meta: (m) => meta(m.key),
  setMeta: (m) => setMeta(m.key, m.value),
  inputsQuery: (m) => inputsQuery(m),
};

// Messages run one after another: a DELETE (privacy erasure) must not slip into a catch-up's await between reading
// the store and appending, or the rows it read before the store deleted them would be appended after the DELETE.
let turn = Promise.resolve();
parentPort.on('message', (m) => {
  // An interrupt (an SQL trait past its time limit) must not wait behind the query it stops.
  if (m.op === 'interrupt') {
    roConn.interrupt();
    parentPort.postMessage({ id: m.id, result: null });
    return;
  }
  turn = turn.then(() => handle(m));
});

async function handle(m) {
  if (m.op === 'close') {
    sqlModels.close();
    store?.close();
    roConn.closeSync();
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
