import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE, condition, evaluationTimes, world, type World } from './agreement.arbitraries.js';
import type { Condition } from './condition.js';
import type { CatalogLookup, EventRecord, ProfileView } from './model.js';
import { NODE_KEYS } from './kinds.js';
import { parseCondition } from './parse.js';
import { evaluate } from './reference.js';
import { compileConditionQuery } from './sql/compiler.js';
import { loadDuckDbInputs } from './sql/duckdb-inputs.js';
import { duckdbDialect } from './sql/duckdb.js';
import { createStreamingEvaluator, type StreamingState } from './streaming.js';

/**
 * The proof of ARCHITECTURE.md section 5: for random histories of several profiles, random conditions over every
 * node kind and window shape, and random instants T (on window boundaries, a millisecond either side, between
 * events), the reference interpreter, the streaming evaluator and the SQL query as of T give the same answer, and
 * the streaming evaluator's nextChange never promises a stability that does not hold.
 */

/** 300 runs take a few seconds; AGREEMENT_RUNS=5000 for a longer hunt. */
const RUNS = Number(process.env.AGREEMENT_RUNS ?? 300);

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

const catalogsOf = (w: World): CatalogLookup => ({ get: (catalog, key) => w.catalogRows.find((r) => r.catalog === catalog && r.key === key)?.row });

const byTime = (a: EventRecord, b: EventRecord) => a.timestamp - b.timestamp;

async function sqlMembers(cond: Condition, asOf: number): Promise<string[]> {
  const query = compileConditionQuery(cond, duckdbDialect, asOf);
  const reader = await conn.runAndReadAll(query.sql, query.params as DuckDBValue[]);
  return reader.getRowObjectsJS().map((row) => String(row.profile_id));
}

/** What the runs exercised, so a generator that drifts into trivial cases fails the test instead of passing it. */
const seen = { answers: [0, 0], nextChanges: 0, exactNextChanges: 0, kinds: new Map<string, number>() };

function countKinds(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(countKinds);
  if (node === null || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node)) {
    if (NODE_KEYS.includes(key)) seen.kinds.set(key, (seen.kinds.get(key) ?? 0) + 1);
    if (key === 'all' || key === 'any' || key === 'not') countKinds(value);
  }
}

/** Checks one profile at one instant; returns the reference answer. */
function checkStreaming(cond: Condition, profile: ProfileView, history: EventRecord[], now: number, catalogs: CatalogLookup): boolean {
  const seenEvents = history.filter((e) => e.timestamp <= now);
  const expected = evaluate(cond, { profile, events: history, now, catalogs });
  const evaluator = createStreamingEvaluator(cond);

  // In time order, as the fast loop mostly sees them.
  const state = [...seenEvents].sort(byTime).reduce<StreamingState>((s, e) => evaluator.onEvent(s, e), evaluator.init());
  const input = { profile, now, catalogs };
  expect(evaluator.value(state, input), 'streaming value').toBe(expected);

  // Out of order, split across two profiles that are then merged (an identity merge).
  const halves = [evaluator.init(), evaluator.init()];
  [...seenEvents].reverse().forEach((e, i) => (halves[i % 2] = evaluator.onEvent(halves[i % 2], e)));
  const merged = evaluator.merge(halves[0], halves[1]);
  expect(evaluator.value(merged, input), 'merged streaming value').toBe(expected);
  expect(JSON.parse(JSON.stringify(state)), 'state is plain JSON').toEqual(state);

  // nextChange: with no new event, the answer holds on [now, next).
  const next = evaluator.nextChange(state, input);
  expect(evaluator.nextChange(merged, input), 'merged nextChange').toBe(next);
  const probes = next === undefined ? [now + 1, now + 3_600_000, now + 30 * 86_400_000] : [now + 1, Math.floor((now + next) / 2), next - 1].filter((t) => t < next);
  seen.answers[expected ? 1 : 0]++;
  if (next !== undefined) {
    expect(next, 'nextChange is after now').toBeGreaterThan(now);
    seen.nextChanges++;
    if (evaluate(cond, { profile, events: seenEvents, now: next, catalogs }) !== expected) seen.exactNextChanges++;
  }
  for (const t of probes) {
    expect(evaluate(cond, { profile, events: seenEvents, now: t, catalogs }), `reference stable until nextChange (${t - now} ms later)`).toBe(expected);
    expect(evaluator.value(state, { profile, now: t, catalogs }), 'streaming stable until nextChange').toBe(expected);
  }
  return expected;
}

describe('the three evaluators agree', () => {
  it('on random histories, conditions and instants', async () => {
    await fc.assert(
      fc.asyncProperty(world, condition, evaluationTimes, async (w, raw, times) => {
        const cond = parseCondition(raw);
        countKinds(cond);
        const catalogs = catalogsOf(w);
        await loadDuckDbInputs(conn, {
          profiles: w.profiles,
          events: w.profiles.flatMap((p) => w.events.get(p.id)!.map((event) => ({ profileId: p.id, event }))),
          catalogs: w.catalogRows,
        });
        for (const now of times) {
          const expected = w.profiles.filter((p) => checkStreaming(cond, p, w.events.get(p.id)!, now, catalogs)).map((p) => p.id).sort();
          expect(await sqlMembers(cond, now), `SQL as of ${new Date(now).toISOString()} (${now - BASE} ms after base)`).toEqual(expected);
        }
      }),
      { numRuns: RUNS },
    );
    // Both answers are common, time-driven changes are predicted (and mostly land exactly), every kind is drawn.
    console.log('agreement runs exercised', { ...seen, kinds: Object.fromEntries(seen.kinds) });
    const [no, yes] = seen.answers;
    expect(Math.min(no, yes) / (no + yes)).toBeGreaterThan(0.15);
    expect(seen.nextChanges).toBeGreaterThan(RUNS / 10);
    expect(seen.exactNextChanges / seen.nextChanges).toBeGreaterThan(0.5);
    for (const key of NODE_KEYS) expect(seen.kinds.get(key) ?? 0, `conditions with ${key}`).toBeGreaterThan(RUNS / 50);
  }, RUNS * 200);
});
