import type { EventRecord, JsonValue } from '../conditions/model.js';
import type { StreamingState } from '../conditions/node-kind.js';
import type { CompiledQuery } from '../conditions/sql/compiler.js';
import type { SqlDialect } from '../conditions/sql/dialect.js';

/**
 * The contract of a computed trait (kind `traits`) as the fast loop and the slow loop use it. Three evaluators of
 * one definition must agree, as for conditions: the reference over raw events, the streaming evaluator over a
 * bounded JSON state, and the SQL query "as of T".
 *
 * The definition type and its parser live beside this file (definition.ts); this file is the seam between the
 * traits library and the apply stage that runs it.
 */
export interface TraitEvaluator<D = unknown> {
  readonly definition: D;
  /** The trait's key: its value is `profile.computed[key]`. */
  readonly key: string;
  init(): StreamingState;
  /** Folds in one event. Pure: returns a new state. Events may arrive in any order. */
  onEvent(state: StreamingState, event: EventRecord): StreamingState;
  /** The state of a profile that absorbed another (identity merge): as if it had seen both histories. */
  merge(a: StreamingState, b: StreamingState): StreamingState;
  /** The value as of `now` (no earlier than any event fed); null when the trait has no value. */
  value(state: StreamingState, now: number): JsonValue;
  /** The first instant after `now` at which the value could change with no new event (window expiry); undefined if none. */
  nextChange(state: StreamingState, now: number): number | undefined;
}

/** The SQL side: one query over c_events / c_profiles (conditions/model.ts) returning (profile_id, value) as of T. */
export type CompileTraitQuery<D> = (definition: D, dialect: SqlDialect, asOf: number) => CompiledQuery;
