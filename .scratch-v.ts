import { DuckDBInstance } from '@duckdb/node-api';
import { compileConditionQuery, duckdbDialect, parseCondition } from './src/conditions/index.js';
import { AUDIENCES } from './bench/_audiences/definitions.js';
const P = Number(process.argv[2]), E = Number(process.argv[3]);
const NOW = Date.UTC(2026, 10, 1), DAY = 86_400_000;
const i = await DuckDBInstance.create(':memory:');
const c = await i.connect();
await c.run(`CREATE TABLE events (id BIGINT PRIMARY KEY, workspace_id VARCHAR, type VARCHAR, event VARCHAR, timestamp_ms BIGINT, received_at_ms BIGINT, message JSON)`);
await c.run(`INSERT INTO events SELECT j, 'default', 'track', ['Page Viewed','Product Viewed','Product Viewed','Product Added','Email Opened','Email Clicked','Order Completed','Signed Up','Search','Cart Viewed'][1 + CAST(hash(j, 12) % 10 AS INTEGER)],
  ${NOW} - CAST(hash(j, 13) % ${365 * DAY} AS BIGINT), ${NOW}, CAST(json_object('type','track','properties', json_object('price', CAST(hash(j, 14) % 20000 AS DOUBLE) / 100, 'category', ['shoes','shirts','bags'][1 + CAST(hash(j, 15) % 3 AS INTEGER)])) AS JSON) FROM range(${E}) t(j)`);
await c.run(`CREATE TABLE m_event_profiles AS SELECT id AS event_id, 'default' AS workspace_id, 'p' || lpad(CAST(hash(id, 11) % ${P} AS VARCHAR), 8, '0') AS profile_id FROM events`);
await c.run(`CREATE TABLE m_events AS SELECT e.id AS event_id, m.workspace_id, m.profile_id, e.type, CASE WHEN e.type='track' THEN e.event END AS event, LEAST(e.timestamp_ms, e.received_at_ms) AS ts, COALESCE(json_extract(e.message, '$.properties'), CAST('{}' AS JSON)) AS properties FROM events e JOIN m_event_profiles m ON m.event_id = e.id`);
await c.run(`CREATE TABLE m_events_np AS SELECT event_id, workspace_id, profile_id, type, event, ts FROM m_events`);
await c.run(`CREATE TABLE m_profiles AS SELECT 'default' AS workspace_id, 'p' || lpad(CAST(i AS VARCHAR), 8, '0') AS profile_id, CAST('{}' AS JSON) AS traits, CAST('{}' AS JSON) AS computed FROM range(${P}) t(i)`);
await c.run(`CREATE TEMP VIEW c_profiles AS SELECT profile_id, traits, computed FROM m_profiles WHERE workspace_id = 'default'`);
const views: Record<string, string> = {
  join: `SELECT m.profile_id, e.type, CASE WHEN e.type = 'track' THEN e.event END AS event, LEAST(e.timestamp_ms, e.received_at_ms) AS ts, COALESCE(json_extract(e.message, '$.properties'), CAST('{}' AS JSON)) AS properties FROM events e JOIN m_event_profiles m ON m.event_id = e.id WHERE m.workspace_id = 'default'`,
  dup: `SELECT profile_id, type, event, ts, properties FROM m_events WHERE workspace_id = 'default'`,
  leftjoin: `SELECT m.profile_id, m.type, m.event, m.ts, COALESCE(json_extract(e.message, '$.properties'), CAST('{}' AS JSON)) AS properties FROM m_events_np m LEFT JOIN events e ON e.id = m.event_id WHERE m.workspace_id = 'default'`,
};
for (const [name, v] of Object.entries(views)) {
  await c.run(`CREATE OR REPLACE TEMP VIEW c_events AS ${v}`);
  for (const k of ['recent_viewers', 'big_spenders', 'cart_abandoners']) {
    const a = AUDIENCES.find((x) => x.key === k)!;
    const q = compileConditionQuery(parseCondition(a.definition), duckdbDialect, NOW);
    const s = performance.now();
    const r = await c.runAndReadAll(`WITH q AS MATERIALIZED (${q.sql}) SELECT (SELECT COUNT(*) FROM q) AS size`, q.params as never);
    console.log(name, k, r.getRowObjectsJS()[0].size, ((performance.now() - s) / 1000).toFixed(2));
  }
}
