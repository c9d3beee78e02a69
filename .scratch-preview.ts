// Scratch measurement (not committed): previews through the real warehouse thread and views over the mirror tables.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDbWarehouse } from './src/storage/duckdb/warehouse.js';
import { WarehouseConditions } from './src/audiences/warehouse-inputs.js';
import { compileConditionQuery, duckdbDialect, parseCondition } from './src/conditions/index.js';
import { AUDIENCES } from './bench/_audiences/definitions.js';

const P = Number(process.argv[2] ?? 1_000_000);
const E = Number(process.argv[3] ?? 10_000_000);
const NOW = Date.UTC(2026, 10, 1);
const DAY = 86_400_000;
const dir = mkdtempSync(join(tmpdir(), 'tandem-scratch-'));
const w = await DuckDbWarehouse.open(join(dir, 'w.duckdb'), join(dir, 'store.db'));
const t0 = performance.now();
await w.query(`INSERT INTO m_profiles SELECT 'default', 'p' || lpad(CAST(i AS VARCHAR), 8, '0'),
  CAST(json_object('plan', ['free','pro','team','enterprise'][1 + CAST(hash(i, 1) % 4 AS INTEGER)], 'country', ['FR','DE','US','GB'][1 + CAST(hash(i, 2) % 4 AS INTEGER)],
  'age', 18 + CAST(hash(i, 3) % 60 AS INTEGER), 'email', CASE WHEN hash(i, 4) % 10 < 8 THEN 'user' || i || '@example.com' END, 'vip', hash(i, 5) % 20 = 0) AS JSON), CAST('{}' AS JSON) FROM range(${P}) t(i)`);
await w.query(`INSERT INTO events SELECT j, 'default', 'src', 'm' || j, 'track',
  ['Page Viewed','Product Viewed','Product Viewed','Product Added','Email Opened','Email Clicked','Order Completed','Signed Up','Search','Cart Viewed'][1 + CAST(hash(j, 12) % 10 AS INTEGER)],
  NULL, NULL, ${NOW} - CAST(hash(j, 13) % ${365 * DAY} AS BIGINT), ${NOW}, CAST(json_object('type', 'track', 'properties', json_object('price', CAST(hash(j, 14) % 20000 AS DOUBLE) / 100,
  'category', ['shoes','shirts','bags','hats','socks','coats'][1 + CAST(hash(j, 15) % 6 AS INTEGER)], 'quantity', 1 + CAST(hash(j, 16) % 5 AS INTEGER), 'channel', ['web','ios','android'][1 + CAST(hash(j, 17) % 3 AS INTEGER)])) AS JSON)
  FROM range(${E}) t(j)`);
await w.query(`INSERT INTO m_events SELECT id, 'default', 'p' || lpad(CAST(hash(id, 11) % ${P} AS VARCHAR), 8, '0'), type, event, LEAST(timestamp_ms, received_at_ms) FROM events`);
await w.query(`INSERT INTO m_identifiers SELECT 'default', profile_id, 'email', json_extract_string(traits, '$.email') FROM m_profiles WHERE json_extract_string(traits, '$.email') IS NOT NULL`);
await w.query(`INSERT INTO m_subscriptions SELECT 'default', profile_id, 'marketing_email', CASE WHEN hash(profile_id) % 3 = 0 THEN 'unsubscribed' ELSE 'subscribed' END FROM m_profiles`);
await w.query('CHECKPOINT');
console.error(`generated ${P} profiles, ${E} events in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
// Memberships the in_audience previews read, computed by the compiled queries.
for (const a of AUDIENCES.filter((x) => ['lapsed', 'emailable', 'buyers_30d', 'engaged_email'].includes(x.key))) {
  const q = compileConditionQuery(parseCondition(a.definition), duckdbDialect, NOW);
  await w.inputsQuery({ workspaceId: 'default', sql: 'SELECT 1', params: [] });
  await w.query(`INSERT INTO m_memberships SELECT 'default', profile_id, '${a.key}' FROM (${q.sql.replaceAll('c_', 'temp.main.c_')}) q`, q.params).catch(async () => {
    const rows = await w.inputsQuery({ workspaceId: 'default', sql: q.sql, params: q.params });
    console.error(`${a.key}: ${rows.length} members (loaded through JS)`);
  });
}
const conditions = new WarehouseConditions(w, { sync: async () => undefined } as never, async () => undefined);
for (const a of AUDIENCES.filter((x) => x.preview)) {
  const cond = parseCondition(a.definition);
  const times: number[] = [];
  let size = 0;
  for (let r = 0; r < 3; r++) {
    const s = performance.now();
    size = (await conditions.preview('default', cond, NOW, 10)).size;
    times.push((performance.now() - s) / 1000);
  }
  console.log(`${a.key}\tsize ${size}\t${times.map((x) => x.toFixed(2)).join(' / ')} s`);
}
// Baseline: the same compiled queries over plain tables (as bench/audiences.ts part (c) does), in the same file.
await w.inputsQuery({ workspaceId: 'default', sql: 'SELECT 1', params: [] });
for (const t of ['profiles', 'events', 'identifiers', 'subscriptions', 'memberships', 'catalog_rows']) await w.query(`CREATE OR REPLACE TABLE b_${t} AS SELECT * FROM temp.main.c_${t}`);
for (const a of AUDIENCES.filter((x) => x.preview)) {
  const q = compileConditionQuery(parseCondition(a.definition), duckdbDialect, NOW);
  const sql = q.sql.replace(/\bc_(profiles|events|identifiers|subscriptions|memberships|catalog_rows)\b/g, 'b_$1');
  const times: number[] = [];
  for (let r = 0; r < 3; r++) {
    const s = performance.now();
    await w.query(`CREATE OR REPLACE TEMP TABLE preview AS ${sql}`, q.params);
    await w.query('SELECT COUNT(*) FROM preview');
    await w.query('SELECT profile_id FROM preview USING SAMPLE 10 ROWS');
    times.push((performance.now() - s) / 1000);
  }
  console.log(`baseline ${a.key}\t${times.map((x) => x.toFixed(2)).join(' / ')} s`);
}
await w.close();
rmSync(dir, { recursive: true, force: true });
