import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRecord, JsonValue } from '../conditions/model.js';
import { loadDuckDbInputs } from '../conditions/sql/duckdb-inputs.js';
import { duckdbDialect } from '../conditions/sql/duckdb.js';
import { COMPUTE_KINDS, computeOf, parseTraitDefinition, type EventTraitDefinition } from './definition.js';
import { traitReference } from './reference.js';
import { compileAllTraitsQuery, compileTraitQuery } from './sql.js';
import { createTraitEvaluator } from './streaming.js';
import { expectSqlValue, parseSql, sqlNumberStats } from './test-support.js';
import { BASE, definition, evaluationTimes, random, world, type TraitWorld } from './traits.arbitraries.js';

/**
 * For random histories of several profiles, random trait definitions of every compute kind (with and without
 * filters and windows) and random instants T (on window boundaries, a millisecond either side, between events):
 * the reference, the streaming evaluator (in time order, and out of order split in two states then merged) and the
 * DuckDB query as of T (one trait alone, and all drawn traits in one pass) give the same value, and nextChange is
 * exact: the value holds on [now, nextChange) and differs at nextChange.
 */

/** 200 runs take a few seconds; TRAITS_AGREEMENT_RUNS=3000 for a longer hunt. */
const RUNS = Number(process.env.TRAITS_AGREEMENT_RUNS ?? 200);

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

const byTime = (a: EventRecord, b: EventRecord) => a.timestamp - b.timestamp;

/** What the runs exercised, so a generator that drifts into trivial cases fails the test instead of passing it. */
const seen = { valued: new Map<string, number>(), nextChanges: 0 };

/** Checks the streaming evaluator of one profile at one instant against the reference; returns the reference value. */
function checkStreaming(def: EventTraitDefinition, history: EventRecord[], now: number, seed: number): JsonValue {
  const evaluator = createTraitEvaluator(def);
  const events = history.filter((e) => e.timestamp <= now);
  const expected = traitReference(def, history, now);

  const state = [...events].sort(byTime).reduce((s, e) => evaluator.onEvent(s, e), evaluator.init());
  expect(evaluator.value(state, now), 'streaming value').toEqual(expected);
  expect(JSON.parse(JSON.stringify(state)), 'state is plain JSON').toEqual(state);

  // Shuffled, split across two profiles, merged (an identity merge).
  const rnd = random(seed);
  const shuffled = [...events].sort(() => rnd() - 0.5);
  const halves = [evaluator.init(), evaluator.init()];
  for (const e of shuffled) {
    const side = rnd() < 0.5 ? 0 : 1;
    halves[side] = evaluator.onEvent(halves[side], e);
  }
  const merged = rnd() < 0.5 ? evaluator.merge(halves[0], halves[1]) : evaluator.merge(halves[1], halves[0]);
  expect(evaluator.value(merged, now), 'merged streaming value').toEqual(expected);

  const next = evaluator.nextChange(state, now);
  expect(evaluator.nextChange(merged, now), 'merged nextChange').toBe(next);
  if (expected !== null) seen.valued.set(computeOf(def).kind, (seen.valued.get(computeOf(def).kind) ?? 0) + 1);
  const probes = next === undefined ? [now + 1, now + 3_600_000, now + 30 * 86_400_000, now + 400 * 86_400_000] : [now + 1, Math.floor((now + next) / 2), next - 1].filter((t) => t < next);
  for (const t of probes) {
    expect(traitReference(def, events, t), `reference holds until nextChange (${t - now} ms later)`).toEqual(expected);
    expect(evaluator.value(state, t), `streaming holds until nextChange (${t - now} ms later)`).toEqual(expected);
  }
  if (next !== undefined) {
    seen.nextChanges++;
    expect(next, 'nextChange is after now').toBeGreaterThan(now);
    expect(Number.isInteger(next), 'nextChange is a whole ms').toBe(true);
    expect(traitReference(def, events, next), 'the value changes at nextChange').not.toEqual(expected);
    expect(evaluator.value(state, next), 'streaming value at nextChange').toEqual(traitReference(def, events, next));
  }
  return expected;
}

async function sqlRows(sql: string, params: unknown[]): Promise<Record<string, unknown>[]> {
  return (await conn.runAndReadAll(sql, params as DuckDBValue[])).getRowObjectsJS();
}

describe('computed traits: reference, streaming and DuckDB SQL agree', () => {
  it('on random histories, definitions and instants', async () => {
    await fc.assert(
      fc.asyncProperty(world, fc.array(definition, { minLength: 1, maxLength: 4 }), evaluationTimes, fc.integer(), async (w: TraitWorld, raws, times, seed) => {
        const defs = raws.map((raw) => parseTraitDefinition(raw) as EventTraitDefinition);
        await loadDuckDbInputs(conn, {
          profiles: w.profiles.map((id) => ({ id, traits: {}, computed: {}, identifiers: [], audiences: [], subscriptions: {} })),
          events: w.profiles.flatMap((id) => w.events.get(id)!.map((event) => ({ profileId: id, event }))),
          catalogs: [],
        });
        const ids = [...w.profiles].sort();
        for (const now of times) {
          const expected = defs.map((def) => new Map(ids.map((id) => [id, checkStreaming(def, w.events.get(id)!, now, seed)])));
          const all = compileAllTraitsQuery(defs, duckdbDialect, now);
          const rows = await sqlRows(all.sql, all.params);
          expect(rows.map((r) => r.profile_id), 'one row per profile').toEqual(ids);
          for (const row of rows) {
            defs.forEach((def, i) => {
              const label = `all-traits SQL ${JSON.stringify(def)} for ${row.profile_id} as of +${now - BASE} ms`;
              expectSqlValue(def, parseSql(row[all.columns[i].column]), expected[i].get(String(row.profile_id))!, label);
            });
          }
          const single = compileTraitQuery(defs[0], duckdbDialect, now);
          for (const row of await sqlRows(single.sql, single.params)) {
            expectSqlValue(defs[0], parseSql(row.value), expected[0].get(String(row.profile_id))!, `single-trait SQL ${JSON.stringify(defs[0])}`);
          }
        }
      }),
      { numRuns: RUNS },
    );
    console.log('traits agreement exercised', { ...seen, valued: Object.fromEntries(seen.valued), sqlNumbers: sqlNumberStats });
    for (const kind of COMPUTE_KINDS) expect(seen.valued.get(kind) ?? 0, `non-null values of ${kind}`).toBeGreaterThan(RUNS / 40);
    expect(seen.nextChanges).toBeGreaterThan(RUNS / 5);
    // Most SQL sums are exact; the tolerance is for the few that round.
    expect(sqlNumberStats.inexact).toBeLessThan(sqlNumberStats.compared / 4);
  }, RUNS * 300);
});
