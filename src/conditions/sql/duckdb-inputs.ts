import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import type { EventRecord, ProfileView } from '../model.js';

/** The relational inputs of model.ts as DuckDB tables, for tests and previews over in-memory data. */
export const DUCKDB_INPUT_TABLES = `
  CREATE TABLE IF NOT EXISTS c_profiles (profile_id VARCHAR, traits JSON, computed JSON);
  CREATE TABLE IF NOT EXISTS c_events (profile_id VARCHAR, type VARCHAR, event VARCHAR, ts BIGINT, properties JSON);
  CREATE TABLE IF NOT EXISTS c_identifiers (profile_id VARCHAR, type VARCHAR, value VARCHAR);
  CREATE TABLE IF NOT EXISTS c_memberships (profile_id VARCHAR, audience VARCHAR);
  CREATE TABLE IF NOT EXISTS c_subscriptions (profile_id VARCHAR, grp VARCHAR, status VARCHAR);
  CREATE TABLE IF NOT EXISTS c_catalog_rows (catalog VARCHAR, key VARCHAR, row JSON);`;

export interface ConditionInputs {
  profiles: ProfileView[];
  events: { profileId: string; event: EventRecord }[];
  catalogs: { catalog: string; key: string; row: Record<string, unknown> }[];
}

async function insert(conn: DuckDBConnection, table: string, rows: DuckDBValue[][], casts: string[]): Promise<void> {
  if (rows.length === 0) return;
  const params: DuckDBValue[] = [];
  const tuples = rows.map((row) => `(${row.map((value, i) => (params.push(value), `CAST($${params.length} AS ${casts[i]})`)).join(', ')})`);
  await conn.run(`INSERT INTO ${table} VALUES ${tuples.join(', ')}`, params);
}

/** Replaces the contents of the input tables (creating them if needed). */
export async function loadDuckDbInputs(conn: DuckDBConnection, inputs: ConditionInputs): Promise<void> {
  await conn.run(DUCKDB_INPUT_TABLES);
  for (const table of ['c_profiles', 'c_events', 'c_identifiers', 'c_memberships', 'c_subscriptions', 'c_catalog_rows']) await conn.run(`DELETE FROM ${table}`);
  const p = inputs.profiles;
  await insert(conn, 'c_profiles', p.map((x) => [x.id, JSON.stringify(x.traits), JSON.stringify(x.computed)]), ['VARCHAR', 'JSON', 'JSON']);
  await insert(
    conn,
    'c_events',
    inputs.events.map(({ profileId, event }) => [profileId, event.type, event.event ?? null, event.timestamp, JSON.stringify(event.properties)]),
    ['VARCHAR', 'VARCHAR', 'VARCHAR', 'BIGINT', 'JSON'],
  );
  await insert(conn, 'c_identifiers', p.flatMap((x) => x.identifiers.map((i) => [x.id, i.type, i.value])), ['VARCHAR', 'VARCHAR', 'VARCHAR']);
  await insert(conn, 'c_memberships', p.flatMap((x) => x.audiences.map((a) => [x.id, a])), ['VARCHAR', 'VARCHAR']);
  await insert(conn, 'c_subscriptions', p.flatMap((x) => Object.entries(x.subscriptions).map(([g, s]) => [x.id, g, s])), ['VARCHAR', 'VARCHAR', 'VARCHAR']);
  await insert(conn, 'c_catalog_rows', inputs.catalogs.map((c) => [c.catalog, c.key, JSON.stringify(c.row)]), ['VARCHAR', 'VARCHAR', 'JSON']);
}
