import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import type { CatalogLookup, EventRecord, ProfileView } from './model.js';
import { parseCondition } from './parse.js';
import { evaluate } from './reference.js';
import { compileConditionQuery } from './sql/compiler.js';
import { loadDuckDbInputs } from './sql/duckdb-inputs.js';
import { duckdbDialect } from './sql/duckdb.js';
import { createStreamingEvaluator } from './streaming.js';

/** Helpers for the hand-written tests of each node kind: one example, all three evaluators. */

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
/** 2024-01-10T12:00:00Z, the "now" of the examples. */
export const NOW = Date.UTC(2024, 0, 10, 12);

export function profile(fields: Partial<ProfileView> = {}): ProfileView {
  return { id: 'p1', traits: {}, computed: {}, identifiers: [], audiences: [], subscriptions: {}, ...fields };
}

export const track = (event: string, timestamp: number, properties: Record<string, unknown> = {}): EventRecord => ({ type: 'track', event, timestamp, properties });

export interface Example {
  profile?: ProfileView;
  events?: EventRecord[];
  now?: number;
  catalogs?: Record<string, Record<string, Record<string, unknown>>>;
}

let connection: Promise<DuckDBConnection> | undefined;
const duckdb = () => (connection ??= DuckDBInstance.create(':memory:').then((instance) => instance.connect()));

/**
 * The answer of a definition on an example, after checking that the reference interpreter, the streaming
 * evaluator (fed the events up to now) and the SQL query as of now all give it.
 */
export async function holds(definition: unknown, example: Example = {}): Promise<boolean> {
  const { condition, p, events, now, catalogs } = prepare(definition, example);
  const reference = evaluate(condition, { profile: p, events, now, catalogs });
  const streaming = streamingValue(condition, p, events, now, catalogs);
  const conn = await duckdb();
  await loadDuckDbInputs(conn, {
    profiles: [p],
    events: events.map((event) => ({ profileId: p.id, event })),
    catalogs: Object.entries(example.catalogs ?? {}).flatMap(([catalog, rows]) => Object.entries(rows).map(([key, row]) => ({ catalog, key, row }))),
  });
  const query = compileConditionQuery(condition, duckdbDialect, now);
  const sql = (await conn.runAndReadAll(query.sql, query.params as DuckDBValue[])).getRowObjectsJS().length === 1;
  if (reference !== streaming || reference !== sql) throw new Error(`evaluators disagree: reference ${reference}, streaming ${streaming}, sql ${sql}`);
  return reference;
}

/** The streaming evaluator's nextChange on an example. */
export function nextChange(definition: unknown, example: Example = {}): number | undefined {
  const { condition, p, events, now, catalogs } = prepare(definition, example);
  const evaluator = createStreamingEvaluator(condition);
  const state = events.filter((e) => e.timestamp <= now).reduce((s, e) => evaluator.onEvent(s, e), evaluator.init());
  return evaluator.nextChange(state, { profile: p, now, catalogs });
}

function prepare(definition: unknown, example: Example) {
  const catalogs: CatalogLookup = { get: (catalog, key) => example.catalogs?.[catalog]?.[key] };
  return { condition: parseCondition(definition), p: example.profile ?? profile(), events: example.events ?? [], now: example.now ?? NOW, catalogs };
}

function streamingValue(condition: ReturnType<typeof parseCondition>, p: ProfileView, events: EventRecord[], now: number, catalogs: CatalogLookup): boolean {
  const evaluator = createStreamingEvaluator(condition);
  const state = events.filter((e) => e.timestamp <= now).reduce((s, e) => evaluator.onEvent(s, e), evaluator.init());
  return evaluator.value(state, { profile: p, now, catalogs });
}
