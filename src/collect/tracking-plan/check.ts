import type { ErrorObject, ValidateFunction } from 'ajv';
import type { DataValidationCxt } from 'ajv/dist/types/index.js';
import type { PlanVerdict, TrackingPlanCheck } from '../collector.js';
import type { Message, Violation } from '../message.js';
import { createAjv } from '../../core/json-schema.js';
import { badRequest, pointerToPath, TandemError } from '../../core/errors.js';
import type { Source, Store } from '../../core/ports/store.js';
import { TRACKING_PLAN_KIND, type TrackingPlan, type UnplannedPolicy } from './schema.js';
import { ALIASES_KIND, aliasMessage, compileAliases, type Aliases, type CompiledAliases } from '../../migrations/aliases.js';

type Mode = 'allow' | 'flag' | 'block';

/** The verdict of every conforming message: shared and frozen, so the hot path allocates nothing for it. */
export const PASS: PlanVerdict = Object.freeze({ violations: Object.freeze([]) as unknown as Violation[], quarantine: false });

/**
 * The properties a schema declares, for the unplanned-property check. `open` means the schema itself decides
 * about extra keys (additionalProperties, patternProperties, $ref...), so we do not second-guess it.
 */
interface PropTree {
  open: boolean;
  props: Map<string, PropTree | null>;
  /** Declared shape of array elements, when the schema has object `items`. */
  items: PropTree | null;
}

/**
 * A compiled schema with a context object reused on every call: without one, Ajv's draft 2020-12 validators
 * allocate two default objects per call, which is all the garbage a conforming message would otherwise make.
 */
interface Validator {
  fn: ValidateFunction;
  cxt: DataValidationCxt;
}

function validates(v: Validator, data: unknown): boolean {
  v.cxt.rootData = data as Record<string, unknown>;
  const ok = v.fn(data, v.cxt);
  v.cxt.rootData = NO_DATA; // do not keep the last message alive
  return ok;
}
const NO_DATA: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

interface Target {
  /** Null for the schema `true`, which accepts anything. */
  validate: Validator | null;
  /** Null when nothing is to be checked for unplanned keys. */
  tree: PropTree | null;
}

export interface CompiledPlan {
  key: string;
  version: number;
  events: Map<string, Target>;
  identify?: Target;
  page?: Target;
  screen?: Target;
  group?: Target;
  common?: Validator;
  unplannedEvents: UnplannedPolicy;
  unplannedProperties: UnplannedPolicy;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const OPEN_KEYWORDS = ['additionalProperties', 'unevaluatedProperties', 'patternProperties', 'propertyNames', '$ref', '$dynamicRef'];

/** Reads the declared property tree of a schema. `root` schemas without `properties` declare none; nested ones are free-form. */
function treeOf(schema: unknown, root: boolean): PropTree | null {
  if (!isObject(schema)) return null;
  const tree: PropTree = { open: false, props: new Map(), items: null };
  let structured = false;
  for (const k of OPEN_KEYWORDS) if (schema[k] !== undefined) tree.open = true;
  if (isObject(schema.properties)) {
    structured = true;
    for (const [name, sub] of Object.entries(schema.properties)) tree.props.set(name, treeOf(sub, false));
  }
  for (const k of ['allOf', 'anyOf', 'oneOf'] as const) {
    const branches = schema[k];
    if (!Array.isArray(branches)) continue;
    for (const b of branches) merge(tree, b);
    structured = true;
  }
  for (const k of ['then', 'else'] as const) if (schema[k] !== undefined) (merge(tree, schema[k]), (structured = true));
  if (isObject(schema.dependentSchemas)) for (const sub of Object.values(schema.dependentSchemas)) (merge(tree, sub), (structured = true));
  if (isObject(schema.items)) {
    tree.items = treeOf(schema.items, false);
    structured = true;
  }
  return structured || root ? tree : null;
}

function merge(into: PropTree, branch: unknown): void {
  if (!isObject(branch)) {
    if (branch === true) into.open = true;
    return;
  }
  const t = treeOf(branch, false);
  if (!t) return;
  if (t.open) into.open = true;
  for (const [name, sub] of t.props) if (!into.props.has(name) || into.props.get(name) === null) into.props.set(name, sub);
  if (t.items && !into.items) into.items = t.items;
}

/** Compiles one JSON Schema of a plan, or refuses it with a 400 whose path points into the plan definition. */
function compileSchema(ajv: ReturnType<typeof createAjv>, schema: unknown, path: string): Validator | null {
  if (schema === true) return null;
  let valid: boolean;
  try {
    valid = ajv.validateSchema(schema as object) as boolean;
  } catch (error) {
    throw badRequest('invalid_schema', `${path} is not a valid JSON Schema: ${(error as Error).message}`, path);
  }
  if (!valid) {
    // The deepest error names the exact keyword; `enum` says which values would do.
    const errors = [...(ajv.errors ?? [])].sort((a, b) => b.instancePath.length - a.instancePath.length || rank(a) - rank(b));
    const e = errors[0];
    const at = pointerToPath(e.instancePath, path);
    const why = e.keyword === 'enum' ? `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}` : (e.message ?? 'is invalid');
    throw badRequest('invalid_schema', `${at} is not valid JSON Schema: ${why}`, at);
  }
  let fn: ValidateFunction;
  try {
    fn = ajv.compile(schema as object);
  } catch (error) {
    throw badRequest('invalid_schema', `${path} does not compile: ${(error as Error).message}`, path);
  }
  return { fn, cxt: { instancePath: '', parentData: {}, parentDataProperty: '', rootData: NO_DATA, dynamicAnchors: {} } };
}
const rank = (e: ErrorObject) => (e.keyword === 'enum' ? 0 : e.keyword === 'type' ? 1 : 2);

function target(ajv: ReturnType<typeof createAjv>, schema: unknown, path: string): Target {
  return { validate: compileSchema(ajv, schema, path), tree: schema === true ? null : treeOf(schema, true) };
}

/**
 * Compiles a plan's validators. Throws a TandemError (400, with the path inside the definition) when one of its
 * JSON Schemas is not valid. Each plan gets its own Ajv so that `$id`s in different plans never collide and a
 * replaced plan's validators are freed with it.
 */
export function compilePlan(plan: TrackingPlan, version = 0): CompiledPlan {
  const ajv = createAjv({ allErrors: true });
  const events = new Map<string, Target>();
  for (const [name, schema] of Object.entries(plan.events ?? {})) events.set(name, target(ajv, schema, pointerToPath(`/events/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`)));
  const compiled: CompiledPlan = {
    key: plan.key,
    version,
    events,
    unplannedEvents: plan.unplannedEvents ?? 'flag',
    unplannedProperties: plan.unplannedProperties ?? 'allow',
  };
  for (const k of ['identify', 'page', 'screen', 'group'] as const) if (plan[k] !== undefined) compiled[k] = target(ajv, plan[k], k);
  if (plan.common !== undefined) compiled.common = compileSchema(ajv, plan.common, 'common') ?? undefined;
  return compiled;
}

/** JSON path of a field, in the form violations and errors use: `properties.total`, `properties["Order Id"]`, `items[2]`. */
function pathOf(prefix: string, parts: readonly (string | number)[], n: number): string {
  let out = prefix;
  for (let i = 0; i < n; i++) {
    const p = parts[i];
    if (typeof p === 'number') out += `[${p}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(p)) out += out ? `.${p}` : p;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out;
}

const escapePointer = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

function valueAt(subject: unknown, pointer: string): unknown {
  let v = subject;
  for (const raw of pointer.split('/').slice(1)) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[raw.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return v;
}

const kindOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v);

/** Turns Ajv's errors into violations with paths relative to the message and messages in words. */
function violationsOf(errors: ErrorObject[], subject: unknown, prefix: string, out: Violation[]): void {
  // anyOf / oneOf report each failed branch as well as themselves: one violation for the whole choice.
  const choices = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  for (const e of errors) {
    if (e.keyword === 'if') continue; // its `then` / `else` errors say what is wrong
    if (choices.some((c) => c !== e && e.schemaPath.startsWith(`${c.schemaPath}/`))) continue;
    const path = pointerToPath(e.instancePath, prefix);
    const name = path || 'message';
    if (e.keyword === 'required') {
      const p = pointerToPath(`${e.instancePath}/${escapePointer((e.params as { missingProperty: string }).missingProperty)}`, prefix);
      out.push({ kind: 'required_missing', path: p, message: `${p} is required by the tracking plan` });
    } else if (e.keyword === 'type') {
      const expected = String((e.params as { type: string | string[] }).type).split(',').join(' or ');
      out.push({ kind: 'type_mismatch', path, message: `${name} must be ${expected}, not ${kindOf(valueAt(subject, e.instancePath))}` });
    } else if (e.keyword === 'additionalProperties' || e.keyword === 'unevaluatedProperties') {
      const extra = (e.params as { additionalProperty?: string; unevaluatedProperty?: string });
      const p = pointerToPath(`${e.instancePath}/${escapePointer(extra.additionalProperty ?? extra.unevaluatedProperty ?? '')}`, prefix);
      out.push({ kind: 'unplanned_property', path: p, message: `${p} is not allowed by the tracking plan` });
    } else if (e.keyword === 'anyOf' || e.keyword === 'oneOf') {
      const branches = errors.filter((b) => b.schemaPath.startsWith(`${e.schemaPath}/`));
      if (branches.length && branches.every((b) => b.keyword === 'type' && b.instancePath === e.instancePath)) {
        const expected = [...new Set(branches.flatMap((b) => String((b.params as { type: string | string[] }).type).split(',')))].join(' or ');
        out.push({ kind: 'type_mismatch', path, message: `${name} must be ${expected}, not ${kindOf(valueAt(subject, e.instancePath))}` });
      } else out.push({ kind: 'schema_error', path, message: `${name} ${e.keyword === 'oneOf' ? 'must match exactly one' : 'must match one'} of the shapes the tracking plan allows` });
    } else if (e.keyword === 'enum') {
      out.push({ kind: 'schema_error', path, message: `${name} must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}` });
    } else if (e.keyword === 'const') {
      out.push({ kind: 'schema_error', path, message: `${name} must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}` });
    } else {
      out.push({ kind: 'schema_error', path, message: `${name} ${e.message ?? 'does not match the tracking plan'}` });
    }
  }
}

/**
 * Checks one message against a compiled plan. Conforming messages get PASS (no allocation); the walk for
 * unplanned keys keeps its path on a reused stack and only builds strings for a violation.
 */
class Checker {
  private readonly stack: (string | number)[] = [];
  private violations: Violation[] | null = null;
  private blocking = false;

  run(plan: CompiledPlan, m: Message, block: boolean): PlanVerdict {
    this.violations = null;
    this.blocking = false;
    if (plan.common && !validates(plan.common, m)) this.fromAjv(plan.common.fn.errors!, m, '');
    let t: Target | undefined;
    let subject: Record<string, unknown> | undefined;
    let prefix = 'properties';
    switch (m.type) {
      case 'track':
        t = plan.events.get(m.event!);
        subject = m.properties;
        if (t === undefined && plan.unplannedEvents !== 'allow') {
          this.add({ kind: 'unplanned_event', path: 'event', message: `event ${JSON.stringify(m.event)} is not in tracking plan '${plan.key}'` }, plan.unplannedEvents === 'block');
        }
        break;
      case 'page':
      case 'screen':
        t = plan[m.type];
        subject = m.properties;
        break;
      case 'identify':
      case 'group':
        t = plan[m.type];
        subject = m.traits;
        prefix = 'traits';
        break;
      default:
        break;
    }
    if (t !== undefined && subject !== undefined) {
      if (t.validate && !validates(t.validate, subject)) this.fromAjv(t.validate.fn.errors!, subject, prefix);
      if (t.tree && plan.unplannedProperties !== 'allow') this.walk(subject, t.tree, prefix, 0, plan.unplannedProperties === 'block');
    }
    const violations = this.violations;
    if (violations === null) return PASS;
    this.violations = null;
    return { violations, quarantine: block && this.blocking };
  }

  private add(v: Violation, blocking: boolean): void {
    (this.violations ??= []).push(v);
    if (blocking) this.blocking = true;
  }

  private fromAjv(errors: ErrorObject[], subject: unknown, prefix: string): void {
    violationsOf(errors, subject, prefix, (this.violations ??= []));
    // What the schemas themselves say is the contract: it blocks whatever the unplanned policies are.
    this.blocking = true;
  }

  private walk(obj: Record<string, unknown>, tree: PropTree, prefix: string, depth: number, blocking: boolean): void {
    for (const key in obj) {
      const declared = tree.props.get(key);
      this.stack[depth] = key;
      if (declared === undefined) {
        if (!tree.open) {
          const path = pathOf(prefix, this.stack, depth + 1);
          this.add({ kind: 'unplanned_property', path, message: `${path} is not in the tracking plan` }, blocking);
        }
        continue;
      }
      if (declared === null) continue;
      const v = obj[key];
      if (isObject(v)) this.walk(v, declared, prefix, depth + 1, blocking);
      else if (Array.isArray(v) && declared.items) {
        for (let i = 0; i < v.length; i++) {
          const el = v[i];
          if (!isObject(el)) continue;
          this.stack[depth + 1] = i;
          this.walk(el, declared.items, prefix, depth + 2, blocking);
        }
      }
    }
  }
}

/**
 * The tracking plans of each workspace, compiled once and kept in memory, and the TrackingPlanCheck that the
 * collect stage and replay call. A workspace's plans are loaded on first use (`prepare`) and replaced in place
 * when a plan is saved or deleted; a source's settings are read on every call, so a source change applies as
 * soon as the collect stage sees the new Source.
 */
export class TrackingPlans implements TrackingPlanCheck {
  private readonly workspaces = new Map<string, Map<string, CompiledPlan>>();
  private readonly loading = new Map<string, Promise<void>>();
  /** Bumped by every change, so that a load racing with a save starts over instead of caching a stale plan. */
  private readonly generations = new Map<string, number>();
  private readonly checker = new Checker();
  private readonly listeners: ((workspaceId: string) => void)[] = [];
  /** Each loaded workspace's aliases (docs/migrations.md), loaded and forgotten with its plans. */
  private readonly aliases = new Map<string, CompiledAliases>();

  constructor(private readonly store: Store, private readonly warn: (message: string) => void = (m) => process.emitWarning(m)) {}

  check(source: Source, message: Message): PlanVerdict {
    const key = source.settings.trackingPlan;
    if (key === undefined) return PASS;
    const mode: Mode = source.settings.mode ?? 'flag';
    if (mode === 'allow') return PASS;
    const plans = this.workspaces.get(source.workspaceId);
    if (plans === undefined) {
      // Checking without the plan would let a block-mode source through unchecked: ask the client to retry.
      void this.prepare(source.workspaceId);
      throw new TandemError('plans_loading', 'tracking plans are loading; retry in a moment', 503);
    }
    const plan = plans.get(key);
    // A source naming a plan that does not exist is not checked (the plan may be created later).
    if (plan === undefined) return PASS;
    return this.checker.run(plan, message, mode === 'block');
  }

  /** Applies the workspace's aliases (renamed events and properties) to a normalised message, before check(). */
  alias(source: Source, message: Message): void {
    const a = this.aliases.get(source.workspaceId);
    if (a !== undefined) aliasMessage(a, message);
  }

  /** Puts a workspace's saved aliases in place (undefined: deleted) and tells the listeners, like a saved plan. */
  aliasesChanged(workspaceId: string, body: Aliases | undefined): void {
    this.bump(workspaceId);
    if (this.workspaces.has(workspaceId)) this.aliases.set(workspaceId, compileAliases(body));
  }

  /** Loads a workspace's plans unless they are cached. Call it before check() for a workspace not seen yet. */
  prepare(workspaceId: string): Promise<void> {
    if (this.workspaces.has(workspaceId)) return Promise.resolve();
    let p = this.loading.get(workspaceId);
    if (!p) {
      p = this.load(workspaceId).finally(() => this.loading.delete(workspaceId));
      this.loading.set(workspaceId, p);
    }
    return p;
  }

  /** The compiled plan in use, if any (after prepare). */
  get(workspaceId: string, key: string): CompiledPlan | undefined {
    return this.workspaces.get(workspaceId)?.get(key);
  }

  /** Puts a newly saved plan in place; compiled by the caller, who has already refused it if it does not compile. */
  saved(workspaceId: string, plan: CompiledPlan): void {
    this.bump(workspaceId);
    this.workspaces.get(workspaceId)?.set(plan.key, plan);
  }

  removed(workspaceId: string, key: string): void {
    this.bump(workspaceId);
    this.workspaces.get(workspaceId)?.delete(key);
  }

  /** Drops a workspace's cached plans; the next prepare() reads them again (collect threads, after a change elsewhere). */
  forget(workspaceId: string): void {
    this.bump(workspaceId);
    this.workspaces.delete(workspaceId);
    this.aliases.delete(workspaceId);
  }

  /** Calls `listener` with the workspace id whenever a plan is saved or removed here. */
  onChange(listener: (workspaceId: string) => void): void {
    this.listeners.push(listener);
  }

  private bump(workspaceId: string): void {
    this.generations.set(workspaceId, (this.generations.get(workspaceId) ?? 0) + 1);
    for (const listener of this.listeners) listener(workspaceId);
  }

  private async load(workspaceId: string): Promise<void> {
    for (;;) {
      const generation = this.generations.get(workspaceId) ?? 0;
      const stored = await this.store.definitions.list<TrackingPlan>(workspaceId, TRACKING_PLAN_KIND);
      const aliases = await this.store.definitions.get<Aliases>(workspaceId, ALIASES_KIND, 'default');
      if ((this.generations.get(workspaceId) ?? 0) !== generation) continue;
      const plans = new Map<string, CompiledPlan>();
      for (const { key, version, body } of stored) {
        try {
          plans.set(key, compilePlan(body, version));
        } catch (error) {
          // Saved plans compiled when saved; this only happens if the validator changed. Say so loudly.
          this.warn(`tracking plan '${key}' (workspace ${workspaceId}) no longer compiles and is not applied: ${(error as Error).message}`);
        }
      }
      this.workspaces.set(workspaceId, plans);
      this.aliases.set(workspaceId, compileAliases(aliases?.body));
      return;
    }
  }
}
