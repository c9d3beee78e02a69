import type { TSchema } from '@sinclair/typebox';
import type { SqlValue } from '../core/ports/warehouse.js';
import type { Condition } from './condition.js';
import type { EventRecord, ReferenceInput, StreamingInput } from './model.js';
import type { SqlDialect, SqlParamType } from './sql/dialect.js';

/**
 * The contract of one node kind: its schema, its reference evaluation, its streaming evaluation and its SQL
 * compilation, side by side in nodes/<kind>/. Adding a node kind is a new folder and a line in kinds.ts; a kind
 * cannot be registered without all three evaluators, so no definition can use an operator one path lacks.
 */
export interface NodeKind<N, S extends StreamingState = StreamingState> {
  /** The field that names the kind in a definition (`performed`, `all`, ...). */
  readonly key: string;
  /** The JSON schema of one node; `child` stands for a nested condition. */
  schema(child: TSchema): TSchema;
  /** Rules a schema cannot say (one operator per comparison, real dates); paths are relative to the node. */
  check?(node: N): NodeProblem | undefined;
  /** Nested conditions with their paths relative to the node, for validation. */
  children?(node: N): { path: string; condition: unknown }[];
  /** The oracle: a direct reading of the definition over the raw history. */
  reference(node: N, input: ReferenceInput, evaluate: (child: Condition) => boolean): boolean;
  streaming: StreamingKind<N, S>;
  /** A never-NULL SQL boolean over the current profile row (ctx.profile) as of ctx.asOf. */
  sql(node: N, ctx: SqlContext): string;
}

/** A plain JSON value, so the Store can persist it as it is. */
export type StreamingState = null | boolean | number | string | StreamingState[] | { [key: string]: StreamingState };

export interface StreamingKind<N, S extends StreamingState> {
  init(node: N, engine: StreamingEngine): S;
  /** Folds in one event. Pure: returns a new state. */
  onEvent(node: N, state: S, event: EventRecord, engine: StreamingEngine): S;
  /** The state of two histories together (profile merge); order of arguments does not matter. */
  merge(node: N, a: S, b: S, engine: StreamingEngine): S;
  value(node: N, state: S, input: StreamingInput, engine: StreamingEngine): boolean;
  /**
   * The first instant after input.now at which value could differ with no new event and no profile change; the
   * value is the same at every instant in [now, nextChange). Undefined when only an event or a change can move it.
   */
  nextChange(node: N, state: S, input: StreamingInput, engine: StreamingEngine): number | undefined;
}

/** The streaming evaluation of any condition, for kinds with nested conditions. */
export interface StreamingEngine {
  init(condition: Condition): StreamingState;
  onEvent(condition: Condition, state: StreamingState, event: EventRecord): StreamingState;
  merge(condition: Condition, a: StreamingState, b: StreamingState): StreamingState;
  value(condition: Condition, state: StreamingState, input: StreamingInput): boolean;
  nextChange(condition: Condition, state: StreamingState, input: StreamingInput): number | undefined;
}

export interface SqlContext {
  readonly dialect: SqlDialect;
  /** Binds a user value as a parameter; returns its placeholder. Values never enter the SQL text. */
  param(value: SqlValue, type: SqlParamType): string;
  /** SQL expression for T, the instant of evaluation (ms, bigint). */
  readonly asOf: string;
  /** Alias of the current c_profiles row (columns profile_id, traits, computed). */
  readonly profile: string;
  /** A fresh alias for a subquery table. */
  alias(prefix: string): string;
  /** Compiles a nested condition. */
  compile(condition: Condition): string;
}

/** A problem in a definition; `path` is relative to the node it was found in ('' for the node itself). */
export interface NodeProblem {
  path: string;
  message: string;
}

/** A leaf that keeps no event state: its answer comes from the profile (or catalogs) at the instant of evaluation. */
export function profileOnly<N>(
  value: (node: N, input: StreamingInput) => boolean,
  nextChange: (node: N, input: StreamingInput) => number | undefined = () => undefined,
): StreamingKind<N, null> {
  return {
    init: () => null,
    onEvent: () => null,
    merge: () => null,
    value: (node, _state, input) => value(node, input),
    nextChange: (node, _state, input) => nextChange(node, input),
  };
}

/** Joins a child path onto a parent path: `all[2]` + `within` = `all[2].within`. */
export function joinPath(parent: string, child: string): string {
  if (!child) return parent;
  if (!parent) return child;
  return child.startsWith('[') ? `${parent}${child}` : `${parent}.${child}`;
}
