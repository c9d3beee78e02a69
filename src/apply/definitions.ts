import type { Condition } from '../conditions/condition.js';
import type { EventRecord, JsonValue, ProfileView } from '../conditions/model.js';
import type { StreamingState } from '../conditions/node-kind.js';
import { createStreamingEvaluator } from '../conditions/streaming.js';
import { emptyCatalogs } from '../conditions/model.js';
import type { TraitEvaluator } from '../traits/evaluator.js';
import { compileConditionQuery, type CompiledQuery } from '../conditions/sql/compiler.js';
import type { SqlDialect } from '../conditions/sql/dialect.js';
import { shadowDefId } from './ports.js';

export const AUDIENCES = 'audiences';
export const TRAITS = 'traits';

/** What a definition reads, for the dependency index: only a change to one of these re-evaluates it. */
export interface Dependencies {
  /** Event names whose events are folded into the state; '*' for every event. */
  events: Set<string> | '*';
  /** Top-level profile trait names. */
  traits: Set<string>;
  /** Computed trait keys. */
  computed: Set<string>;
  /** Audience keys (membership of another audience). */
  audiences: Set<string>;
  identifiers: boolean;
  subscriptions: boolean;
}

export const noDependencies = (): Dependencies => ({ events: new Set(), traits: new Set(), computed: new Set(), audiences: new Set(), identifiers: false, subscriptions: false });

/**
 * One definition as the apply stage runs it: an audience (boolean membership) or a computed trait (a JSON value),
 * with its streaming evaluator and what it reads. `id` is `<kind>:<key>`.
 */
export interface ApplyDefinition {
  id: string;
  kind: typeof AUDIENCES | typeof TRAITS;
  key: string;
  version: number;
  deps: Dependencies;
  init(): StreamingState;
  onEvent(state: StreamingState, event: EventRecord): StreamingState;
  merge(a: StreamingState, b: StreamingState): StreamingState;
  /** The output as of `now` (membership for an audience, the value for a trait; null = no value) and the next instant it may change. */
  evaluate(state: StreamingState, profile: ProfileView, now: number): { value: JsonValue; nextChange: number | undefined };
  /**
   * The same definition compiled to one SQL query "as of T" over the c_* relations (the batch side): an audience's
   * query returns the members' `profile_id`; a trait's returns (`profile_id`, `value` as JSON text) for every profile.
   */
  sql?(dialect: SqlDialect, asOf: number): CompiledQuery;
  /**
   * Set on a new version that is being backfilled beside the active one: the active definition's id. Its id is
   * `<base>@next`, it keeps its own states and timers and writes its outputs aside (nothing reads them) until the
   * switch (docs/audiences.md, "Changing a definition").
   */
  base?: string;
}

/** The new version of a definition as the shadow of the active one. */
export function shadowOf(def: ApplyDefinition): ApplyDefinition {
  return { ...def, id: shadowDefId(def.id), base: def.id };
}

export const definitionId = (kind: string, key: string): string => `${kind}:${key}`;

const firstSegment = (path: string): string => path.split('.')[0];

/** Walks a condition and collects what it reads. */
export function conditionDependencies(condition: Condition, into: Dependencies = noDependencies()): Dependencies {
  const c = condition as Record<string, unknown>;
  const addEvent = (name: string) => {
    if (into.events !== '*') into.events.add(name);
  };
  if (Array.isArray(c.all)) for (const child of c.all as Condition[]) conditionDependencies(child, into);
  else if (Array.isArray(c.any)) for (const child of c.any as Condition[]) conditionDependencies(child, into);
  else if (c.not !== undefined) conditionDependencies(c.not as Condition, into);
  else if (typeof c.performed === 'string') addEvent(c.performed);
  else if (typeof c.first_performed === 'string') addEvent(c.first_performed);
  else if (typeof c.last_performed === 'string') addEvent(c.last_performed);
  else if (typeof c.trait === 'string') into.traits.add(firstSegment(c.trait));
  else if (typeof c.computed === 'string') into.computed.add(firstSegment(c.computed));
  else if (typeof c.in_audience === 'string') into.audiences.add(c.in_audience);
  else if (typeof c.has_identifier === 'string') into.identifiers = true;
  else if (typeof c.subscribed === 'string') into.subscriptions = true;
  else if (typeof c.catalog === 'string') {
    const from = c.key_from as { trait?: string; last_event?: string };
    if (from.trait !== undefined) into.traits.add(firstSegment(from.trait));
    if (from.last_event !== undefined) addEvent(from.last_event);
  }
  return into;
}

/** The audiences a condition reads (`in_audience`), for cycle detection. */
export const audienceReferences = (condition: Condition): string[] => [...conditionDependencies(condition).audiences];

export function audienceDefinition(key: string, version: number, condition: Condition): ApplyDefinition {
  const evaluator = createStreamingEvaluator(condition);
  return {
    id: definitionId(AUDIENCES, key),
    kind: AUDIENCES,
    key,
    version,
    deps: conditionDependencies(condition),
    init: () => evaluator.init(),
    onEvent: (state, event) => evaluator.onEvent(state, event),
    merge: (a, b) => evaluator.merge(a, b),
    evaluate(state, profile, now) {
      const input = { profile, now, catalogs: emptyCatalogs };
      return { value: evaluator.value(state, input), nextChange: evaluator.nextChange(state, input) };
    },
    sql: (dialect, asOf) => compileConditionQuery(condition, dialect, asOf),
  };
}

/** A computed trait through the traits library's contract (src/traits/evaluator.ts). */
export function traitDefinition(evaluator: TraitEvaluator, version: number, deps: Dependencies, sql?: ApplyDefinition['sql']): ApplyDefinition {
  return {
    id: definitionId(TRAITS, evaluator.key),
    kind: TRAITS,
    key: evaluator.key,
    version,
    deps,
    init: () => evaluator.init(),
    onEvent: (state, event) => evaluator.onEvent(state, event),
    merge: (a, b) => evaluator.merge(a, b),
    evaluate: (state, _profile, now) => ({ value: evaluator.value(state, now), nextChange: evaluator.nextChange(state, now) }),
    ...(sql ? { sql } : {}),
  };
}

/**
 * Orders definitions so that each comes after what it reads: traits first, then audiences after the audiences they
 * reference. Returns the cycle (as a key path) if there is one.
 */
export function orderDefinitions(defs: ApplyDefinition[]): { order: ApplyDefinition[]; cycle?: string[] } {
  const byId = new Map(defs.map((d) => [d.id, d]));
  const reads = (d: ApplyDefinition): string[] => [
    ...[...d.deps.computed].map((k) => definitionId(TRAITS, k)),
    ...[...d.deps.audiences].map((k) => definitionId(AUDIENCES, k)),
  ];
  const order: ApplyDefinition[] = [];
  const mark = new Map<string, 'visiting' | 'done'>();
  let cycle: string[] | undefined;
  const visit = (d: ApplyDefinition, path: string[]) => {
    const m = mark.get(d.id);
    if (m === 'done') return;
    if (m === 'visiting') {
      if (!cycle) cycle = [...path.slice(path.indexOf(d.key)), d.key];
      return;
    }
    mark.set(d.id, 'visiting');
    for (const id of reads(d)) {
      const dep = byId.get(id);
      if (dep) visit(dep, [...path, d.key]);
    }
    mark.set(d.id, 'done');
    order.push(d);
  };
  const sorted = [...defs].sort((a, b) => (a.kind === b.kind ? (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) : a.kind === TRAITS ? -1 : 1));
  for (const d of sorted) visit(d, []);
  return { order, cycle };
}

/**
 * The dependency index of a workspace's definitions: from a change (an event name, a trait, a computed key, an
 * audience) to the definitions that must be re-evaluated, in evaluation order.
 */
export class DependencyIndex {
  readonly order: ApplyDefinition[];
  readonly byId: Map<string, ApplyDefinition>;
  readonly rank: Map<string, number>;
  private readonly byEvent = new Map<string, ApplyDefinition[]>();
  private readonly everyEvent: ApplyDefinition[] = [];
  private readonly byTrait = new Map<string, ApplyDefinition[]>();
  private readonly byComputed = new Map<string, ApplyDefinition[]>();
  private readonly byAudience = new Map<string, ApplyDefinition[]>();
  readonly byIdentifiers: ApplyDefinition[] = [];
  readonly bySubscriptions: ApplyDefinition[] = [];
  /** New versions being backfilled, by the id of the definition they will replace. */
  readonly shadows = new Map<string, ApplyDefinition>();

  constructor(defs: ApplyDefinition[]) {
    this.order = orderDefinitions(defs).order;
    for (const d of this.order) if (d.base !== undefined) this.shadows.set(d.base, d);
    this.byId = new Map(this.order.map((d) => [d.id, d]));
    this.rank = new Map(this.order.map((d, i) => [d.id, i]));
    const add = (map: Map<string, ApplyDefinition[]>, key: string, d: ApplyDefinition) => map.set(key, [...(map.get(key) ?? []), d]);
    for (const d of this.order) {
      if (d.deps.events === '*') this.everyEvent.push(d);
      else for (const e of d.deps.events) add(this.byEvent, e, d);
      for (const t of d.deps.traits) add(this.byTrait, t, d);
      for (const c of d.deps.computed) add(this.byComputed, c, d);
      for (const a of d.deps.audiences) add(this.byAudience, a, d);
      if (d.deps.identifiers) this.byIdentifiers.push(d);
      if (d.deps.subscriptions) this.bySubscriptions.push(d);
    }
  }

  /** Definitions whose state folds in events of this name. */
  readingEvent(name: string | undefined): ApplyDefinition[] {
    const named = name === undefined ? [] : (this.byEvent.get(name) ?? []);
    return this.everyEvent.length ? [...named, ...this.everyEvent] : named;
  }

  readingTrait(name: string): ApplyDefinition[] {
    return this.byTrait.get(name) ?? [];
  }

  /** Definitions that read this computed key. */
  readingComputed(key: string): ApplyDefinition[] {
    return this.byComputed.get(key) ?? [];
  }

  /** Definitions that read the output of `def` (a computed key or an audience); nothing reads a shadow's. */
  readingOutputOf(def: ApplyDefinition): ApplyDefinition[] {
    if (def.base !== undefined) return [];
    return (def.kind === TRAITS ? this.byComputed.get(def.key) : this.byAudience.get(def.key)) ?? [];
  }
}
