import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { checkComparison } from '../conditions/comparison.js';
import { parseCondition, type Condition } from '../conditions/index.js';
import { RowFilterSchema } from '../conditions/nodes/catalog/schema.js';
import { parseDuration } from '../core/duration.js';
import { pointerToPath, TandemError } from '../core/errors.js';
import { parseCron } from './time.js';

/**
 * The journey definition (kind `journeys`): the workspace-as-code format, exactly the body of
 * `POST /api/v1/journeys`. Node ids are the keys of `nodes`: they are stable across versions, and running
 * instances, the trail, stats and idempotency keys all name nodes by them.
 */
export const JOURNEY_KIND = 'journeys';

const Name = Type.String({ minLength: 1 });
const Duration = Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?(ms|s|m|h|d|w)$', 'x-expected': 'a duration such as 24h, 30m or 7d' });
const SignedDuration = Type.String({ pattern: '^-?[0-9]+(\\.[0-9]+)?(ms|s|m|h|d|w)$', 'x-expected': 'a duration such as 1d or -2h' });
const TimeOfDay = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', 'x-expected': 'a time of day HH:MM such as 09:00' });
const NodeId = Type.String({ pattern: '^[A-Za-z0-9_-]+$', 'x-expected': 'a node id (letters, digits, _ and -)' });
const Cond = Type.Unknown({ description: 'A condition (docs/conditions): validated by parseCondition.' });
const Filters = Type.Array(Type.Unknown(), { description: 'Property filters on the event, as in `performed.where`.' });
const Next = Type.Optional(NodeId);
/** Send at the profile's best hour (a send-time model, docs/models.md) within a window (src/journeys/best-time.ts). */
const BestTime = Type.Optional(
  Type.Object({ bestTimeWithin: Duration, model: Type.String({ minLength: 1, 'x-expected': 'the key of a send-time model' }) }, { additionalProperties: false, 'x-expected': 'an object { bestTimeWithin: 24h, model: <send-time model key> }' }),
);

export const TriggerSchema = Type.Union([
  Type.Object({ type: Type.Literal('event'), event: Name, where: Type.Optional(Filters), condition: Type.Optional(Cond) }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('audience_entered'), audience: Name, condition: Type.Optional(Cond) }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('audience_exited'), audience: Name, condition: Type.Optional(Cond) }, { additionalProperties: false }),
  Type.Object(
    { type: Type.Literal('schedule'), audience: Name, cron: Type.Optional(Type.String()), at: Type.Optional(Type.String({ format: 'date-time' })), timezone: Type.Optional(Type.String()), condition: Type.Optional(Cond) },
    { additionalProperties: false },
  ),
  /**
   * A catalog row changed (upsert or delete) and the filters hold on the row before and after it ("back in stock":
   * `before: [{ field: stock, lte: 0 }], after: [{ field: stock, gt: 0 }]`). Who enters: the members of `audience`,
   * or the profiles that `performed` an event whose `property` equals the row's key within `within`.
   */
  Type.Object(
    {
      type: Type.Literal('catalog_changed'), catalog: Name,
      before: Type.Optional(Type.Array(RowFilterSchema, { 'x-expected': 'a list of row filters such as { field: stock, lte: 0 }' })),
      after: Type.Optional(Type.Array(RowFilterSchema, { 'x-expected': 'a list of row filters such as { field: stock, gt: 0 }' })),
      audience: Type.Optional(Name),
      performed: Type.Optional(Type.Object({ event: Name, property: Type.String({ minLength: 1 }), within: Duration }, { additionalProperties: false })),
      condition: Type.Optional(Cond),
    },
    { additionalProperties: false },
  ),
]);
export type Trigger = Static<typeof TriggerSchema>;
export type CatalogTrigger = Extract<Trigger, { type: 'catalog_changed' }>;

const common = { name: Type.Optional(Type.String()) };
export const NODE_SCHEMAS = {
  wait: Type.Object({ type: Type.Literal('wait'), ...common, duration: Duration, next: Next }, { additionalProperties: false }),
  wait_until: Type.Object(
    {
      type: Type.Literal('wait_until'), ...common,
      /** A time of day in the profile's time zone (traits.timezone). */
      time: Type.Optional(TimeOfDay),
      /** A date from a trait (`birthday`) or from the triggering event (`cart_expires_at`), plus or minus `offset`. */
      date_trait: Type.Optional(Type.String({ minLength: 1 })),
      date_property: Type.Optional(Type.String({ minLength: 1 })),
      offset: Type.Optional(SignedDuration),
      /** The next anniversary of the date (birthdays). */
      yearly: Type.Optional(Type.Boolean()),
      next: Next,
    },
    { additionalProperties: false },
  ),
  wait_for_event: Type.Object(
    { type: Type.Literal('wait_for_event'), ...common, event: Name, where: Type.Optional(Filters), timeout: Duration, next: Next, timeout_next: Next },
    { additionalProperties: false },
  ),
  branch: Type.Object({ type: Type.Literal('branch'), ...common, condition: Cond, then: Next, else: Next }, { additionalProperties: false }),
  split: Type.Object(
    {
      type: Type.Literal('split'), ...common,
      /** Key of an `experiments` definition: each branch names an arm (`arm`), the experiment assigns and records the exposure. */
      experiment: Type.Optional(Name),
      branches: Type.Array(
        Type.Object({ weight: Type.Optional(Type.Number({ exclusiveMinimum: 0 })), arm: Type.Optional(Type.String({ minLength: 1 })), next: Next }, { additionalProperties: false }),
        { minItems: 1 },
      ),
    },
    { additionalProperties: false },
  ),
  /** Next-best-action: Thompson sampling among eligible arms on a reward event within a window (docs/experiments.md). */
  decide: Type.Object(
    {
      type: Type.Literal('decide'), ...common,
      arms: Type.Array(
        Type.Object({ key: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', 'x-expected': 'an arm key (letters, digits, _ and -)' }), eligible: Type.Optional(Cond), next: Next }, { additionalProperties: false }),
        { minItems: 1, maxItems: 50 },
      ),
      reward: Type.Object({ event: Name, within: Duration }, { additionalProperties: false }),
      /** Share of profiles (md5 of journey, node and profile) that get no arm, to measure the incremental lift. */
      holdout: Type.Optional(Type.Object({ percent: Type.Number({ minimum: 0, maximum: 50 }), next: Next }, { additionalProperties: false })),
      /** Exploration floor: with this probability the arm is drawn uniformly among the eligible ones (default 0.05). */
      exploration: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
      /** Where to go when no arm is eligible (default: the instance ends). */
      none_eligible: Next,
    },
    { additionalProperties: false },
  ),
  send: Type.Object(
    {
      type: Type.Literal('send'), ...common,
      /** Key of a `channels` definition. */
      channel: Name,
      /** The kind of channel for guardrails (email, sms, push, ...); defaults to the channel key. */
      medium: Type.Optional(Name),
      template: Type.Optional(Name),
      payload: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
      /** marketing (the default) or transactional (exempt from caps, quiet hours and opt-in), or any other name. */
      category: Type.Optional(Name),
      priority: Type.Optional(Type.Integer()),
      /** Wait for the profile's best hour within a window, then send. */
      at: BestTime,
      next: Next,
    },
    { additionalProperties: false },
  ),
  update_trait: Type.Object({ type: Type.Literal('update_trait'), ...common, trait: Name, value: Type.Unknown(), next: Next }, { additionalProperties: false }),
  webhook: Type.Object({ type: Type.Literal('webhook'), ...common, channel: Name, payload: Type.Optional(Type.Record(Type.String(), Type.Unknown())), at: BestTime, next: Next }, { additionalProperties: false }),
  ad_audience: Type.Object(
    { type: Type.Literal('ad_audience'), ...common, channel: Name, action: Type.Union([Type.Literal('add'), Type.Literal('remove')]), next: Next },
    { additionalProperties: false },
  ),
  exit: Type.Object({ type: Type.Literal('exit'), ...common }, { additionalProperties: false }),
} as const;

export type NodeType = keyof typeof NODE_SCHEMAS;
export type JourneyNode = { [K in NodeType]: Static<(typeof NODE_SCHEMAS)[K]> }[NodeType];
export type NodeOf<K extends NodeType> = Static<(typeof NODE_SCHEMAS)[K]>;
export const WAITING_NODES: ReadonlySet<string> = new Set(['wait', 'wait_until', 'wait_for_event']);

export const ExitRuleSchema = Type.Union([
  Type.Object({ event: Name, where: Type.Optional(Filters) }, { additionalProperties: false }),
  Type.Object({ audience_exited: Name }, { additionalProperties: false }),
]);
export type ExitRule = Static<typeof ExitRuleSchema>;

export const BudgetSchema = Type.Object(
  {
    /** Only messages on this channel count (default: every message of the journey). */
    channel: Type.Optional(Name),
    max: Type.Integer({ minimum: 0 }),
    per: Duration,
    /** defer: wait for the next window; skip: drop the message and go on. */
    on_exhausted: Type.Optional(Type.Union([Type.Literal('defer'), Type.Literal('skip')])),
  },
  { additionalProperties: false },
);
export type Budget = Static<typeof BudgetSchema>;

export const JourneyBody = Type.Object(
  {
    key: Type.String({ pattern: '^[A-Za-z0-9_-]+$', minLength: 1, maxLength: 100 }),
    name: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
    /** Message priority for caps when two journeys compete for the same profile (higher wins); sends may override. */
    priority: Type.Optional(Type.Integer()),
    trigger: TriggerSchema,
    /** Who may enter, beside the trigger: a condition over the profile (and `$event.*` for the triggering event). */
    entry_condition: Type.Optional(Cond),
    re_entry: Type.Optional(
      Type.Object(
        {
          policy: Type.Union([Type.Literal('never'), Type.Literal('always'), Type.Literal('cooldown'), Type.Literal('unique_on')]),
          cooldown: Type.Optional(Duration),
          /** For unique_on: a property path of the triggering event (`cart_id`). */
          property: Type.Optional(Type.String({ minLength: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
    exit: Type.Optional(Type.Array(ExitRuleSchema)),
    goal: Type.Optional(
      Type.Object(
        { event: Name, where: Type.Optional(Filters), within: Type.Optional(Duration), exit: Type.Optional(Type.Boolean()) },
        { additionalProperties: false },
      ),
    ),
    budgets: Type.Optional(Type.Array(BudgetSchema)),
    /**
     * Moves the running instances of an earlier version onto this version's nodes when it is saved: an instance of
     * version `from` at a node named in `nodes` continues at the mapped node (of the same type); others stay on
     * their version (src/journeys/migration.ts).
     */
    migrate: Type.Optional(
      Type.Object(
        { from: Type.Integer({ minimum: 1, 'x-expected': 'an earlier version number' }), nodes: Type.Record(Type.String(), NodeId, { 'x-expected': 'a map of old node id to new node id' }) },
        { additionalProperties: false },
      ),
    ),
    start: NodeId,
    nodes: Type.Record(Type.String(), Type.Unknown()),
  },
  { additionalProperties: false },
);
export type JourneyDefinition = Static<typeof JourneyBody> & { nodes: Record<string, JourneyNode> };

const ajv = new Ajv({ strict: false, allErrors: false, allowUnionTypes: true, verbose: true });
ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/);
const compiled = new Map<TSchema, ValidateFunction>();
function check(schema: TSchema, value: unknown, at: string): void {
  let validate = compiled.get(schema);
  if (!validate) compiled.set(schema, (validate = ajv.compile(schema)));
  if (validate(value)) return;
  const errors = validate.errors ?? [];
  const error: ErrorObject = errors.find((e) => e.keyword === 'additionalProperties') ?? errors.find((e) => e.keyword === 'required') ?? errors[0];
  const path = pointerToPath(error.instancePath, at);
  const expected = (error.parentSchema as { 'x-expected'?: string } | undefined)?.['x-expected'];
  if (error.keyword === 'additionalProperties') {
    const field = (error.params as { additionalProperty: string }).additionalProperty;
    throw invalid(`${path}.${field}`, 'is not a known field here');
  }
  if (error.keyword === 'required') throw invalid(`${path ? `${path}.` : ''}${(error.params as { missingProperty: string }).missingProperty}`, 'is required');
  throw invalid(path, expected ? `must be ${expected}` : (error.message ?? 'is invalid'));
}

export const invalid = (path: string, message: string) => new TandemError('invalid_journey', `${path || '(journey)'}: ${message}`, 400, path);

const BODY_WITHOUT_TRIGGER = Type.Omit(JourneyBody, ['trigger']);
const TRIGGER_BY_TYPE = new Map(TriggerSchema.anyOf.map((s) => [(s.properties.type as { const: string }).const, s]));

/** The event filter (`where`) of a trigger, a wait or a goal, checked as the condition `{ performed, where }`. */
function checkWhere(event: string, where: unknown[] | undefined, at: string): void {
  if (where === undefined) return;
  try {
    parseCondition({ performed: event, where });
  } catch (error) {
    const e = error as TandemError;
    const sub = (e.path ?? '').replace(/^where/, '');
    throw invalid(`${at}${sub}`, e.message.replace(/^[^:]*: /, ''));
  }
}

function checkCondition(value: unknown, at: string): Condition {
  return parseCondition(value, at);
}

/** Validates a definition: shape, conditions, durations, references, reachability and loops. Errors name the path. */
export function parseJourney(input: unknown): JourneyDefinition {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw invalid('', 'must be an object');
  const body = input as Record<string, unknown>;
  const nodesIn = body.nodes;
  const { trigger: _trigger, ...rest } = body;
  check(BODY_WITHOUT_TRIGGER, rest, '');
  const trigger = body.trigger as Record<string, unknown> | undefined;
  if (trigger === undefined || trigger === null || typeof trigger !== 'object') throw invalid('trigger', 'is required: an object with a type');
  const triggerSchema = TRIGGER_BY_TYPE.get(String(trigger.type));
  if (!triggerSchema) throw invalid('trigger.type', `must be one of ${[...TRIGGER_BY_TYPE.keys()].join(', ')}`);
  check(triggerSchema, trigger, 'trigger');
  const def = structuredClone(body) as JourneyDefinition;
  const t = def.trigger;
  if (t.condition !== undefined) checkCondition(t.condition, 'trigger.condition');
  if (t.type === 'event') checkWhere(t.event, t.where, 'trigger.where');
  if (t.type === 'schedule') {
    if ((t.cron === undefined) === (t.at === undefined)) throw invalid('trigger', 'a schedule needs exactly one of cron or at');
    if (t.cron !== undefined) {
      try {
        parseCron(t.cron);
      } catch (error) {
        throw invalid('trigger.cron', (error as Error).message);
      }
    }
    if (t.timezone !== undefined && !validZone(t.timezone)) throw invalid('trigger.timezone', `'${t.timezone}' is not an IANA time zone`);
  }
  if (t.type === 'catalog_changed') {
    if ((t.audience === undefined) === (t.performed === undefined)) throw invalid('trigger', 'a catalog_changed trigger needs exactly one of audience or performed (who enters)');
    for (const side of ['before', 'after'] as const) {
      for (const [i, filter] of (t[side] ?? []).entries()) {
        const problem = checkComparison(filter, `trigger.${side}[${i}]`);
        if (problem) throw invalid(problem.path, problem.message);
      }
    }
  }
  if (def.entry_condition !== undefined) checkCondition(def.entry_condition, 'entry_condition');
  const re = def.re_entry;
  if (re?.policy === 'cooldown' && re.cooldown === undefined) throw invalid('re_entry.cooldown', 'is required for the cooldown policy');
  if (re?.policy === 'unique_on' && re.property === undefined) throw invalid('re_entry.property', 'is required for the unique_on policy');
  (def.exit ?? []).forEach((rule, i) => {
    if ('event' in rule) checkWhere(rule.event, rule.where, `exit[${i}].where`);
  });
  if (def.goal) checkWhere(def.goal.event, def.goal.where, 'goal.where');

  const nodes = nodesIn as Record<string, unknown>;
  const ids = Object.keys(nodes);
  if (ids.length === 0) throw invalid('nodes', 'needs at least one node');
  for (const id of ids) {
    const at = `nodes.${id}`;
    if (!/^[A-Za-z0-9_-]+$/.test(id)) throw invalid(at, 'node ids use letters, digits, _ and -');
    const node = nodes[id] as Record<string, unknown> | null;
    if (node === null || typeof node !== 'object' || Array.isArray(node)) throw invalid(at, 'must be an object with a type');
    const schema = NODE_SCHEMAS[node.type as NodeType] as TSchema | undefined;
    if (!schema || !Object.hasOwn(NODE_SCHEMAS, String(node.type))) throw invalid(`${at}.type`, `must be one of ${Object.keys(NODE_SCHEMAS).join(', ')}`);
    check(schema, node, at);
    const n = node as JourneyNode;
    if (n.type === 'branch') checkCondition(n.condition, `${at}.condition`);
    if (n.type === 'split') checkSplit(n, at);
    if (n.type === 'decide') checkDecide(n, at);
    if (n.type === 'wait_for_event') checkWhere(n.event, n.where, `${at}.where`);
    if ((n.type === 'send' || n.type === 'webhook') && n.at !== undefined && parseDuration(n.at.bestTimeWithin, `${at}.at.bestTimeWithin`) > 7 * 86_400_000) {
      throw invalid(`${at}.at.bestTimeWithin`, 'must be at most 7d (a week holds every hour once)');
    }
    if (n.type === 'wait_until') {
      const sources = [n.time !== undefined && n.date_trait === undefined && n.date_property === undefined, n.date_trait !== undefined, n.date_property !== undefined].filter(Boolean);
      if (n.date_trait !== undefined && n.date_property !== undefined) throw invalid(`${at}.date_property`, 'cannot be combined with date_trait; use one date');
      if (sources.length === 0) throw invalid(at, 'needs time, date_trait or date_property');
      if (n.offset !== undefined && n.date_trait === undefined && n.date_property === undefined) throw invalid(`${at}.offset`, 'applies to a date (date_trait or date_property)');
      if (n.yearly && n.date_trait === undefined && n.date_property === undefined) throw invalid(`${at}.yearly`, 'applies to a date (date_trait or date_property)');
    }
  }
  if (!Object.hasOwn(nodes, def.start)) throw invalid('start', `names node '${def.start}', which is not in nodes`);
  for (const [old, target] of Object.entries(def.migrate?.nodes ?? {})) {
    if (!Object.hasOwn(nodes, target)) throw invalid(`migrate.nodes.${old}`, `names node '${target}', which is not in nodes`);
  }
  for (const id of ids) {
    for (const [field, target] of edges(def.nodes[id])) {
      if (!Object.hasOwn(nodes, target)) throw invalid(`nodes.${id}.${field}`, `names node '${target}', which is not in nodes`);
    }
  }
  const reached = new Set<string>([def.start]);
  const queue = [def.start];
  while (queue.length) for (const [, target] of edges(def.nodes[queue.shift()!])) if (!reached.has(target)) (reached.add(target), queue.push(target));
  const unreachable = ids.find((id) => !reached.has(id));
  if (unreachable !== undefined) throw invalid(`nodes.${unreachable}`, `is unreachable from start '${def.start}'`);
  const loop = loopWithoutWait(def);
  if (loop) throw invalid(`nodes.${loop[loop.length - 2]}`, `forms a loop with no wait (${loop.join(' -> ')}); an instance would never stop; add a wait node`);
  for (const [i, b] of (def.budgets ?? []).entries()) parseDuration(b.per, `budgets[${i}].per`);
  return def;
}

/** A plain split weighs every branch; a split bound to an experiment names one distinct arm per branch. */
function checkSplit(n: NodeOf<'split'>, at: string): void {
  const arms = new Set<string>();
  n.branches.forEach((b, i) => {
    if (n.experiment === undefined) {
      if (b.weight === undefined) throw invalid(`${at}.branches[${i}].weight`, 'is required (or bind the split to an experiment and name an arm)');
      if (b.arm !== undefined) throw invalid(`${at}.branches[${i}].arm`, 'needs experiment on the split');
      return;
    }
    if (b.arm === undefined) throw invalid(`${at}.branches[${i}].arm`, `is required: the arm of experiment '${n.experiment}' that takes this branch`);
    if (b.weight !== undefined) throw invalid(`${at}.branches[${i}].weight`, 'comes from the experiment; remove it');
    if (arms.has(b.arm)) throw invalid(`${at}.branches[${i}].arm`, `arm '${b.arm}' has two branches`);
    arms.add(b.arm);
  });
}

function checkDecide(n: NodeOf<'decide'>, at: string): void {
  parseDuration(n.reward.within, `${at}.reward.within`);
  const keys = new Set<string>();
  n.arms.forEach((a, i) => {
    if (keys.has(a.key)) throw invalid(`${at}.arms[${i}].key`, `arm '${a.key}' appears twice`);
    keys.add(a.key);
    if (a.eligible !== undefined) checkCondition(a.eligible, `${at}.arms[${i}].eligible`);
  });
}

/** The outgoing edges of a node as [field path, target]. */
export function edges(node: JourneyNode): [string, string][] {
  const out: [string, string][] = [];
  const add = (field: string, target: string | undefined) => target !== undefined && out.push([field, target]);
  switch (node.type) {
    case 'branch':
      add('then', node.then);
      add('else', node.else);
      break;
    case 'split':
      node.branches.forEach((b, i) => add(`branches[${i}].next`, b.next));
      break;
    case 'decide':
      node.arms.forEach((a, i) => add(`arms[${i}].next`, a.next));
      add('holdout.next', node.holdout?.next);
      add('none_eligible', node.none_eligible);
      break;
    case 'wait_for_event':
      add('next', node.next);
      add('timeout_next', node.timeout_next);
      break;
    case 'exit':
      break;
    default:
      add('next', node.next);
  }
  return out;
}

/** A cycle among nodes none of which waits, as a list of ids ending where it started; undefined if there is none. */
function loopWithoutWait(def: JourneyDefinition): string[] | undefined {
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (WAITING_NODES.has(def.nodes[id].type)) return undefined;
    const s = state.get(id);
    if (s === 2) return undefined;
    if (s === 1) return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 1);
    stack.push(id);
    for (const [, target] of edges(def.nodes[id])) {
      const found = visit(target);
      if (found) return found;
    }
    stack.pop();
    state.set(id, 2);
    return undefined;
  };
  for (const id of Object.keys(def.nodes)) {
    const found = visit(id);
    if (found) return found;
  }
  return undefined;
}

export function validZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
