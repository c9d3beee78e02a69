// `npm run bench -- audiences [--events 10000000] [--profiles 1000000] [--rates 1000,2000,5000] [--seconds 15] [--no-fast] [--no-backfill] [--cache-ab] [--no-write]`
//
// The slow loop: 20 audiences and 20 computed traits backfilled "as of now" over a synthetic history in DuckDB,
// through the SQL compiler, side by side in the same run with hand-written DuckDB SQL for the same definitions (the
// baseline a data engineer would write); then previews of single audiences on all profiles. The fast loop (event
// to membership change at a sustained rate through a running server) is in bench/_audiences/fast.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { compileConditionQuery, duckdbDialect, parseCondition, type Condition } from '../src/conditions/index.js';
import { compileAllTraitsQuery } from '../src/traits/sql.js';
import { parseTraitDefinition, type EventTraitDefinition } from '../src/traits/definition.js';
import { writeSection } from './_process.js';
import { AUDIENCES, TRAITS, type Definition } from './_audiences/definitions.js';
import { runFastLoop, type FastLoopResult } from './_audiences/fast.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DAY = 86_400_000;
/** "Now" of the synthetic history: every event lies in the 365 days before it. */
export const NOW = Date.UTC(2026, 10, 1);

interface Options { events: number; profiles: number; fast: boolean; backfill: boolean; cacheAb: boolean; write: boolean; rates: number[]; seconds: number }

function parseArgs(args: string[]): Options {
  const o: Options = { events: 10_000_000, profiles: 1_000_000, fast: true, backfill: true, cacheAb: false, write: true, rates: [1000, 2000, 5000], seconds: 15 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const v = () => Number(args[++i]);
    if (a === '--events') o.events = v();
    else if (a === '--profiles') o.profiles = v();
    else if (a === '--rates') o.rates = String(args[++i]).split(',').map(Number);
    else if (a === '--seconds') o.seconds = v();
    else if (a === '--no-fast') o.fast = false;
    else if (a === '--no-backfill') o.backfill = false;
    else if (a === '--cache-ab') o.cacheAb = true;
    else if (a === '--no-write') o.write = false;
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

/**
 * The history, generated inside DuckDB from seeded hashes so every run sees the same data: profiles with plan,
 * country, age and a signup date; events drawn from a skewed catalogue of names with price, category, quantity and
 * channel properties, spread over a year.
 */
export async function generate(conn: DuckDBConnection, o: Pick<Options, 'events' | 'profiles'>): Promise<void> {
  const P = o.profiles;
  await conn.run(`
    CREATE TABLE c_profiles AS
    SELECT 'p' || lpad(CAST(i AS VARCHAR), 8, '0') AS profile_id,
           CAST(json_object(
             'plan', ['free', 'pro', 'team', 'enterprise'][1 + CAST(hash(i, 1) % 4 AS INTEGER)],
             'country', ['FR', 'DE', 'US', 'GB', 'ES', 'IT', 'NL', 'SE'][1 + CAST(hash(i, 2) % 8 AS INTEGER)],
             'age', 18 + CAST(hash(i, 3) % 60 AS INTEGER),
             'email', CASE WHEN hash(i, 4) % 10 < 8 THEN 'user' || i || '@example.com' END,
             'vip', hash(i, 5) % 20 = 0
           ) AS JSON) AS traits,
           CAST('{}' AS JSON) AS computed
    FROM range(${P}) t(i)`);
  await conn.run(`
    CREATE TABLE c_events AS
    SELECT 'p' || lpad(CAST(hash(j, 11) % ${P} AS VARCHAR), 8, '0') AS profile_id,
           'track' AS type,
           ['Page Viewed', 'Product Viewed', 'Product Viewed', 'Product Added', 'Email Opened', 'Email Clicked',
            'Order Completed', 'Signed Up', 'Search', 'Cart Viewed'][1 + CAST(hash(j, 12) % 10 AS INTEGER)] AS event,
           ${NOW} - CAST(hash(j, 13) % ${365 * DAY} AS BIGINT) AS ts,
           CAST(json_object(
             'price', CAST(hash(j, 14) % 20000 AS DOUBLE) / 100,
             'category', ['shoes', 'shirts', 'bags', 'hats', 'socks', 'coats'][1 + CAST(hash(j, 15) % 6 AS INTEGER)],
             'quantity', 1 + CAST(hash(j, 16) % 5 AS INTEGER),
             'channel', ['web', 'ios', 'android'][1 + CAST(hash(j, 17) % 3 AS INTEGER)]
           ) AS JSON) AS properties
    FROM range(${o.events}) t(j)`);
  await conn.run(`
    CREATE TABLE c_identifiers AS
    SELECT profile_id, 'email' AS type, json_extract_string(traits, '$.email') AS value FROM c_profiles WHERE json_extract_string(traits, '$.email') IS NOT NULL;
    CREATE TABLE c_memberships (profile_id VARCHAR, audience VARCHAR);
    CREATE TABLE c_subscriptions AS
    SELECT profile_id, 'marketing_email' AS grp, CASE WHEN hash(profile_id) % 3 = 0 THEN 'unsubscribed' ELSE 'subscribed' END AS status FROM c_profiles;
    CREATE TABLE c_catalog_rows (catalog VARCHAR, key VARCHAR, row JSON);`);
}

const timed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const t = performance.now();
  const value = await fn();
  return [value, (performance.now() - t) / 1000];
};

interface DefinitionTiming { key: string; kind: 'audience' | 'trait'; compiled: number; hand: number; rowsCompiled: number; rowsHand: number }

async function count(conn: DuckDBConnection, sql: string, params: DuckDBValue[] = []): Promise<number> {
  const reader = await conn.runAndReadAll(`SELECT COUNT(*) AS n FROM (${sql}) q`, params);
  return Number(reader.getRowObjectsJS()[0].n);
}

/**
 * Backfill: each audience's compiled query materialises its members (audiences of audiences read the members of
 * the ones before them, so they run in dependency order, as the product runs them), then all traits in one pass;
 * the same with the hand-written SQL. Both write their results into tables, as a backfill does.
 */
export async function backfill(conn: DuckDBConnection): Promise<{ timings: DefinitionTiming[]; compiled: number; hand: number; traitsCompiled: number; traitsHand: number }> {
  const timings: DefinitionTiming[] = [];
  await conn.run('CREATE TABLE members_compiled (audience VARCHAR, profile_id VARCHAR); CREATE TABLE members_hand (audience VARCHAR, profile_id VARCHAR)');
  let compiled = 0;
  let hand = 0;
  for (const a of AUDIENCES) {
    const condition: Condition = parseCondition(a.definition);
    const query = compileConditionQuery(condition, duckdbDialect, NOW);
    // c_memberships holds the members computed so far, for the in_audience nodes of later audiences. Each timed
    // statement starts after a CHECKPOINT, so neither side pays for writing out the rows of the statements before
    // it (DuckDB checkpoints on commit once the write-ahead log passes its threshold).
    await conn.run('CHECKPOINT');
    const [, c] = await timed(() => conn.run(`INSERT INTO members_compiled SELECT ${sqlText(a.key)}, profile_id FROM (${query.sql}) q`, query.params as DuckDBValue[]));
    await conn.run(`INSERT INTO c_memberships SELECT profile_id, audience FROM members_compiled WHERE audience = ${sqlText(a.key)}`);
    await conn.run('CHECKPOINT');
    const [, h] = await timed(() => conn.run(`INSERT INTO members_hand SELECT ${sqlText(a.key)}, profile_id FROM (${a.hand}) q`));
    compiled += c;
    hand += h;
    const rowsCompiled = await count(conn, `SELECT * FROM members_compiled WHERE audience = ${sqlText(a.key)}`);
    const rowsHand = await count(conn, `SELECT * FROM members_hand WHERE audience = ${sqlText(a.key)}`);
    timings.push({ key: a.key, kind: 'audience', compiled: c, hand: h, rowsCompiled, rowsHand });
  }
  const defs = TRAITS.map((t) => parseTraitDefinition(t.definition) as EventTraitDefinition);
  const all = compileAllTraitsQuery(defs, duckdbDialect, NOW);
  await conn.run('CHECKPOINT');
  const [, traitsCompiled] = await timed(() => conn.run(`CREATE TABLE traits_compiled AS ${all.sql}`, all.params as DuckDBValue[]));
  const handAll = handTraitsQuery(TRAITS);
  await conn.run('CHECKPOINT');
  const [, traitsHand] = await timed(() => conn.run(`CREATE TABLE traits_hand AS ${handAll}`));
  return { timings, compiled: compiled + traitsCompiled, hand: hand + traitsHand, traitsCompiled, traitsHand };
}

/** The hand-written traits: one pass over the events with each property extracted once, plus a subquery per most-frequent trait. */
export function handTraitsQuery(traits: Definition[]): string {
  const counts = (t: Definition) => 'count' in (t.definition.compute as object) || 'unique_count' in (t.definition.compute as object);
  const aggregates = traits.map((t, i) => (t.join ? undefined : `${t.hand} AS a_${i}`)).filter((x) => x !== undefined);
  const joins = traits.map((t, i) => (t.join ? `LEFT JOIN (${t.join}) j_${i} ON j_${i}.profile_id = p.profile_id` : '')).join('\n');
  const outputs = traits.map((t, i) => (t.join ? `j_${i}.value AS value_${i}` : `CAST(${counts(t) ? `COALESCE(a.a_${i}, 0)` : `a.a_${i}`} AS VARCHAR) AS value_${i}`));
  return `WITH ev AS (
      SELECT profile_id, type, event, ts,
             CAST(json_extract(properties, '$.price') AS DOUBLE) AS price, CAST(json_extract(properties, '$.quantity') AS DOUBLE) AS quantity,
             json_extract_string(properties, '$.category') AS category, json_extract_string(properties, '$.channel') AS channel
      FROM c_events WHERE ts <= ${NOW}),
    agg AS (SELECT profile_id, ${aggregates.join(',\n')} FROM ev GROUP BY profile_id)
    SELECT p.profile_id, ${outputs.join(', ')} FROM c_profiles p LEFT JOIN agg a ON a.profile_id = p.profile_id ${joins} ORDER BY p.profile_id`;
}

const sqlText = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** Agreement of the two backfills, so the baseline is a fair one: same members, same trait values. */
export async function differences(conn: DuckDBConnection): Promise<{ audiences: number; traits: number }> {
  const audiences = await count(conn, '(SELECT * FROM members_compiled EXCEPT SELECT * FROM members_hand) UNION ALL (SELECT * FROM members_hand EXCEPT SELECT * FROM members_compiled)');
  // Trait values compared as numbers where both are numbers (float sums differ in the last bits), else as text.
  let traits = 0;
  for (let i = 0; i < TRAITS.length; i++) {
    traits += await count(
      conn,
      `SELECT c.profile_id FROM traits_compiled c FULL JOIN traits_hand h USING (profile_id)
       WHERE NOT (
         (TRY_CAST(CAST(c.value_${i} AS VARCHAR) AS DOUBLE) IS NOT NULL AND abs(TRY_CAST(CAST(c.value_${i} AS VARCHAR) AS DOUBLE) - TRY_CAST(CAST(h.value_${i} AS VARCHAR) AS DOUBLE)) <= 1e-6 * greatest(1, abs(TRY_CAST(CAST(h.value_${i} AS VARCHAR) AS DOUBLE))))
         OR CAST(c.value_${i} AS JSON) IS NOT DISTINCT FROM CAST(h.value_${i} AS JSON)
         OR (c.value_${i} IS NULL AND h.value_${i} IS NULL))`,
    );
  }
  return { audiences, traits };
}

interface Preview { key: string; seconds: number; size: number }

/** A preview: size and 10 sample members of a draft audience, on every profile, as POST /api/v1/audiences/preview asks. */
async function previews(conn: DuckDBConnection): Promise<Preview[]> {
  const out: Preview[] = [];
  for (const a of AUDIENCES.filter((x) => x.preview)) {
    const query = compileConditionQuery(parseCondition(a.definition), duckdbDialect, NOW);
    const params = query.params as DuckDBValue[];
    const [size, seconds] = await timed(async () => {
      await conn.run(`CREATE OR REPLACE TEMP TABLE preview AS ${query.sql}`, params);
      const n = await count(conn, 'SELECT * FROM preview');
      await conn.runAndReadAll('SELECT profile_id FROM preview USING SAMPLE 10 ROWS');
      return n;
    });
    out.push({ key: a.key, seconds, size });
  }
  return out;
}

const n = (v: number, digits = 0) => v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function fastLines(fast: FastLoopResult): string[] {
  return [
    `### (a) Fast loop: event to membership change, ${n(fast.audiences)} audiences and ${n(fast.traits)} computed traits defined`,
    '',
    fast.description,
    '',
    '| variant | offered events/s | achieved events/s | membership changes | p50 ms | p90 ms | p99 ms | max ms | caught up | server CPU ms/event |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|---:|',
    ...fast.runs.map((r) => `| ${r.variant} | ${n(r.offeredRate)} | ${n(r.achievedRate)} | ${n(r.changes)} | ${n(r.p50, 1)} | ${n(r.p90, 1)} | ${n(r.p99, 1)} | ${n(r.max, 1)} | ${r.caughtUp ? 'yes' : 'no'} | ${n(r.cpuMsPerEvent, 3)} |`),
    '',
    'Target: p99 under 10 ms at 5,000 events/s sustained. Server CPU ms/event: CPU time of the whole server process (collection and pipeline threads) from the start of sending until the report, per event sent.',
    '',
  ];
}

export async function run(args: string[]): Promise<void> {
  const o = parseArgs(args);
  const command = `npm run bench -- audiences${args.length ? ` ${args.join(' ')}` : ''}`;
  const startLoad = loadavg()[0];
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-audiences-'));
  let fast: FastLoopResult | undefined;
  const lines: string[] = [];
  try {
    if (o.fast) {
      // --cache-ab: each rate also without the apply stage's in-memory profile state (the baseline of that change).
      const variants = o.cacheAb ? [{ label: 'profile caches off', config: { pipeline: { profileStateCache: 0 } } }, { label: 'default' }] : undefined;
      fast = await runFastLoop({ rates: o.rates, seconds: o.seconds, variants });
    }
    if (!o.backfill) {
      if (fast) console.log(fastLines(fast).join('\n'));
      return;
    }
    const instance = await DuckDBInstance.create(join(dir, 'warehouse.duckdb'));
    const conn = await instance.connect();
    console.error(`generating ${n(o.events)} events over ${n(o.profiles)} profiles in DuckDB ...`);
    const [, genSeconds] = await timed(() => generate(conn, o));
    console.error(`generated in ${n(genSeconds, 1)} s; backfilling ${AUDIENCES.length} audiences and ${TRAITS.length} traits ...`);
    const b = await backfill(conn);
    const diff = await differences(conn);
    const p = await previews(conn);
    console.error(`backfill: compiled ${n(b.compiled, 1)} s, hand-written ${n(b.hand, 1)} s (ratio ${n(b.compiled / b.hand, 2)}); differences: ${diff.audiences} memberships, ${diff.traits} trait values`);
    conn.closeSync();
    instance.closeSync();

    const cpu = cpus()[0]?.model ?? 'unknown';
    lines.push(
      '## audiences',
      '',
      `${new Date().toISOString().slice(0, 10)}; ${cpu}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; load average ${startLoad.toFixed(1)} when the run started (the machine is shared). Command: \`${command}\``,
      '',
    );
    if (fast) {
      lines.push(...fastLines(fast));
    }
    lines.push(
      `### (b) Backfill of ${AUDIENCES.length} audiences and ${TRAITS.length} computed traits over ${n(o.events)} events and ${n(o.profiles)} profiles (DuckDB, one file, as of one instant)`,
      '',
      `The history is generated inside DuckDB (${n(genSeconds, 1)} s, not counted). Compiled: each audience's query from the condition compiler, materialised into a members table in dependency order (audiences of audiences read the members before them), then every trait in one pass from the traits compiler. Hand-written: the SQL a data engineer would write for the same definitions (bench/_audiences/definitions.ts), materialised the same way, in the same run; each timed statement starts after a CHECKPOINT. Results compared: ${diff.audiences} differing memberships, ${diff.traits} differing trait values.`,
      '',
      '| | compiled s | hand-written s | ratio |',
      '|---|---:|---:|---:|',
      `| all ${AUDIENCES.length + TRAITS.length} definitions | ${n(b.compiled, 2)} | ${n(b.hand, 2)} | ${n(b.compiled / b.hand, 2)} |`,
      `| ${TRAITS.length} traits, one pass | ${n(b.traitsCompiled, 2)} | ${n(b.traitsHand, 2)} | ${n(b.traitsCompiled / b.traitsHand, 2)} |`,
      ...b.timings.map((t) => `| audience \`${t.key}\` (${n(t.rowsCompiled)} members) | ${n(t.compiled, 2)} | ${n(t.hand, 2)} | ${n(t.compiled / t.hand, 2)} |`),
      '',
      'Targets: all 40 definitions in under 30 s; at most 2x the hand-written SQL.',
      '',
      `### (c) Preview of one audience on ${n(o.profiles)} profiles (size and 10 sample members)`,
      '',
      '| audience | members | seconds |',
      '|---|---:|---:|',
      ...p.map((x) => `| \`${x.key}\` | ${n(x.size)} | ${n(x.seconds, 2)} |`),
      '',
      'Target: under 1 s.',
      '',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const section = lines.join('\n');
  process.stdout.write(`\n${section}\n`);
  if (o.write) writeSection(join(ROOT, 'docs', 'benchmarks.md'), 'audiences', section);
}
