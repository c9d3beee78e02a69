import type { WorkspaceState } from '../workspace/kinds.js';
import { conditionReferences, referencesOf, type References } from '../workspace/references.js';
import type { TargetType } from './convert.js';
import { definitionPath, renamedPath, replaceAt, segmentsOf } from './paths.js';

/**
 * Where definitions name events and properties, and their rewrite for a rename. Audiences, traits and journeys are
 * read with the reference walker of plan / apply (src/workspace/references.ts), so a rename reaches exactly what the
 * reference checks see; experiments, signals, monitors and models name events in a few fixed fields, read here;
 * tracking plans name them as keys of `events` and of their JSON Schemas.
 */

type Path = (string | number)[];
interface Slot {
  path: Path;
  value: string;
}
/** A property named in a definition, with the event it is read from (undefined: from any event). */
interface PropertySlot extends Slot {
  event: string | undefined;
}

export interface DefinitionEdit {
  kind: string;
  key: string;
  before: Record<string, unknown>;
  after: Record<string, unknown>;
  /** What changed, in words: `condition.all[0].performed: 'Order Done' -> 'Order Completed'`. */
  changes: string[];
}

export interface EventRename {
  from: string;
  to: string;
}
/** `event` undefined: the property in every event. */
export interface PropertyRename {
  event?: string;
  from: string;
  to: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): v is string => typeof v === 'string';
const show = (path: Path) => path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${p}` : p), '');

function fromReferences(refs: References, out: { events: Slot[]; properties: PropertySlot[] }): void {
  for (const e of refs.events) {
    out.events.push({ path: definitionPath(e.path), value: e.event });
    for (const p of e.properties) out.properties.push({ path: definitionPath(p.path), value: p.property, event: e.event });
  }
  for (const p of refs.anyEvent) out.properties.push({ path: definitionPath(p.path), value: p.property, event: undefined });
}

function filterSlots(where: unknown, at: string, event: string | undefined, out: PropertySlot[]): void {
  if (!Array.isArray(where)) return;
  where.forEach((t, i) => {
    if (isObject(t) && str(t.property)) out.push({ path: [at, i, 'property'], value: t.property, event });
  });
}

/** Every event and property a definition of `kind` names, with where. */
export function slotsOf(kind: string, body: unknown): { events: Slot[]; properties: PropertySlot[] } {
  const out = { events: [] as Slot[], properties: [] as PropertySlot[] };
  if (!isObject(body)) return out;
  if (kind === 'audiences' || kind === 'traits' || kind === 'journeys') fromReferences(referencesOf(kind, body), out);
  else if (kind === 'experiments') {
    if (body.targeting !== undefined) fromReferences(conditionReferences(body.targeting, 'targeting'), out);
    if (str(body.exposure_event)) out.events.push({ path: ['exposure_event'], value: body.exposure_event });
    if (Array.isArray(body.metrics)) {
      body.metrics.forEach((m, i) => {
        if (!isObject(m) || !str(m.event)) return;
        out.events.push({ path: ['metrics', i, 'event'], value: m.event });
        if (str(m.property)) out.properties.push({ path: ['metrics', i, 'property'], value: m.property, event: m.event });
      });
    }
  } else if (kind === 'signals' || kind === 'monitors') {
    const event = str(body.event) ? body.event : undefined;
    if (event !== undefined) out.events.push({ path: ['event'], value: event });
    if (str(body.property)) out.properties.push({ path: ['property'], value: body.property, event });
    filterSlots(body.where, 'where', event, out.properties);
  } else if (kind === 'models') {
    for (const section of ['clv', 'propensity', 'sendTime']) {
      const s = body[section];
      if (!isObject(s)) continue;
      const event = str(s.event) ? s.event : undefined;
      if (event !== undefined) out.events.push({ path: [section, 'event'], value: event });
      if (Array.isArray(s.events)) s.events.forEach((e, i) => str(e) && out.events.push({ path: [section, 'events', i], value: e }));
      if (str(s.revenueProperty)) out.properties.push({ path: [section, 'revenueProperty'], value: s.revenueProperty, event });
    }
  }
  return out;
}

/** JSON Schemas of a tracking plan that describe the properties of `event` (undefined: of every event, page and screen). */
function planSchemas(plan: Record<string, unknown>, event: string | undefined): [Path, Record<string, unknown>][] {
  const events = isObject(plan.events) ? plan.events : {};
  const out: [Path, Record<string, unknown>][] = [];
  for (const [name, schema] of Object.entries(events)) if ((event === undefined || name === event) && isObject(schema)) out.push([['events', name], schema]);
  if (event === undefined) for (const k of ['page', 'screen']) if (isObject(plan[k])) out.push([[k], plan[k] as Record<string, unknown>]);
  return out;
}

/** The schema object that declares a dotted property path, its parent and the last key; undefined when not declared. */
function declared(schema: Record<string, unknown>, path: string[]): { parent: Record<string, unknown>; name: string; node: Record<string, unknown> } | undefined {
  let parent = schema;
  for (let i = 0; i < path.length; i++) {
    const props = parent.properties;
    if (!isObject(props) || !isObject(props[path[i]])) return undefined;
    if (i === path.length - 1) return { parent, name: path[i], node: props[path[i]] as Record<string, unknown> };
    parent = props[path[i]] as Record<string, unknown>;
  }
  return undefined;
}

/** A copy of an object with one key renamed in place (the order of keys is kept). */
const renameKey = (o: Record<string, unknown>, from: string, to: string) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k === from ? to : k, v]));

function renameEventInPlan(plan: Record<string, unknown>, r: EventRename, changes: string[]): void {
  if (!isObject(plan.events) || !(r.from in plan.events)) return;
  if (r.to in plan.events) {
    // The plan already describes the new name: that schema stands, the old one goes.
    const { [r.from]: _gone, ...rest } = plan.events;
    plan.events = rest;
    changes.push(`events['${r.from}']: removed ('${r.to}' is already planned)`);
  } else {
    plan.events = renameKey(plan.events, r.from, r.to);
    changes.push(`events['${r.from}'] -> events['${r.to}']`);
  }
}

function renamePropertyInPlan(plan: Record<string, unknown>, r: PropertyRename, changes: string[]): void {
  const from = segmentsOf(r.from);
  const to = segmentsOf(r.to);
  for (const [at, schema] of planSchemas(plan, r.event)) {
    const d = declared(schema, from);
    if (!d) continue;
    const sameParent = from.length === to.length && from.slice(0, -1).every((p, i) => p === to[i]);
    if (!sameParent) {
      changes.push(`${show(at)}: '${r.from}' is declared but '${r.to}' is under another object; move its schema by hand`);
      continue;
    }
    const newName = to[to.length - 1];
    const props = d.parent.properties as Record<string, unknown>;
    if (newName in props) {
      changes.push(`${show(at)}: both '${r.from}' and '${r.to}' are declared; left as they are`);
      continue;
    }
    d.parent.properties = renameKey(props, d.name, newName);
    if (Array.isArray(d.parent.required)) d.parent.required = d.parent.required.map((x) => (x === d.name ? newName : x));
    changes.push(`${show(at)}.properties.${r.from} -> ${r.to}`);
  }
}

const KINDS_WITH_SLOTS = ['audiences', 'traits', 'journeys', 'experiments', 'signals', 'monitors', 'models'];

function edit(state: WorkspaceState, rewrite: (kind: string, body: Record<string, unknown>, changes: string[]) => void): DefinitionEdit[] {
  const out: DefinitionEdit[] = [];
  for (const kind of ['tracking-plans', ...KINDS_WITH_SLOTS]) {
    for (const [key, body] of state.get(kind) ?? []) {
      if (!isObject(body)) continue;
      const after = structuredClone(body);
      const changes: string[] = [];
      rewrite(kind, after, changes);
      if (changes.length) out.push({ kind, key, before: body, after, changes });
    }
  }
  return out;
}

/** The definitions that name event `from`, rewritten to name `to`. */
export function renameEventIn(state: WorkspaceState, r: EventRename): DefinitionEdit[] {
  return edit(state, (kind, body, changes) => {
    if (kind === 'tracking-plans') return renameEventInPlan(body, r, changes);
    const slots = slotsOf(kind, body);
    for (const s of slots.events) {
      if (s.value !== r.from) continue;
      replaceAt(body, s.path, r.to);
      changes.push(`${show(s.path)}: '${r.from}' -> '${r.to}'`);
    }
    // Property aliases scoped to the event name follow it; nothing else in a definition names an event.
  });
}

/** The definitions that read property `from` (of `event`, or of any event), rewritten to read `to`. */
export function renamePropertyIn(state: WorkspaceState, r: PropertyRename): { edits: DefinitionEdit[]; warnings: string[] } {
  const warnings: string[] = [];
  const edits = edit(state, (kind, body, changes) => {
    if (kind === 'tracking-plans') return renamePropertyInPlan(body, r, changes);
    for (const s of slotsOf(kind, body).properties) {
      const renamed = renamedPath(s.value, r.from, r.to);
      if (renamed === undefined) continue;
      if (r.event !== undefined && s.event !== r.event) {
        // Read from any event: renaming it would stop reading the other events' property.
        if (s.event === undefined) warnings.push(`${kind}/${String(body.key ?? 'default')} ${show(s.path)} reads '${s.value}' from every event; left unchanged: review it`);
        continue;
      }
      replaceAt(body, s.path, renamed);
      changes.push(`${show(s.path)}: '${s.value}' -> '${renamed}'`);
    }
    // A revenue metric without `property` sums `revenue`: name the new property explicitly.
    if (kind === 'experiments' && r.from === 'revenue' && Array.isArray(body.metrics)) {
      body.metrics.forEach((m, i) => {
        if (isObject(m) && m.type === 'revenue' && m.property === undefined && (r.event === undefined || m.event === r.event)) {
          m.property = r.to;
          changes.push(`metrics[${i}].property: (revenue) -> '${r.to}'`);
        }
      });
    }
  });
  return { edits, warnings };
}

/** Tracking plans that declare the property with a `type`, rewritten to declare `type`. */
export function retypeIn(state: WorkspaceState, event: string | undefined, property: string, type: TargetType): DefinitionEdit[] {
  return edit(state, (kind, body, changes) => {
    if (kind !== 'tracking-plans') return;
    for (const [at, schema] of planSchemas(body, event)) {
      const d = declared(schema, segmentsOf(property));
      if (!d || d.node.type === undefined || d.node.type === type) continue;
      const before = d.node.type;
      // A nullable type (['string', 'null']) stays nullable.
      d.node.type = Array.isArray(before) && before.includes('null') ? [type, 'null'] : type;
      changes.push(`${show(at)}.properties.${property}.type: ${JSON.stringify(before)} -> ${JSON.stringify(d.node.type)}`);
    }
  });
}

/**
 * Audiences and traits that read an event (and, with `property`, that property of it or of any event): their
 * values depend on the history a migration rewrites, so they are backfilled again afterwards.
 */
export function readersOf(state: WorkspaceState, event: string | undefined, property?: string): { kind: string; key: string }[] {
  const out: { kind: string; key: string }[] = [];
  for (const kind of ['audiences', 'traits']) {
    for (const [key, body] of state.get(kind) ?? []) {
      const slots = slotsOf(kind, body);
      const reads = property === undefined
        ? slots.events.some((s) => s.value === event)
        : slots.properties.some((s) => (event === undefined || s.event === undefined || s.event === event) && (s.value === property || s.value.startsWith(`${property}.`) || property.startsWith(`${s.value}.`)));
      if (reads) out.push({ kind, key });
    }
  }
  return out;
}
