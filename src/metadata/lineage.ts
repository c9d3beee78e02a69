import { referencesOf } from '../workspace/references.js';
import type { WorkspaceState } from '../workspace/kinds.js';

/**
 * Lineage (docs/metadata.md): which definitions use which events, properties and traits, and which definitions use
 * which others, computed from the stored definitions (nothing is recorded on the side, so it is never stale). The
 * walk is tolerant: it reads bodies that may be invalid.
 *
 * A target is a string: `event:<name>`, `property:<event>:<path>` (`*` for a property read from any event),
 * `trait:<path>`, `computed:<key>`, or `definition:<kind>/<key>`.
 */

export interface Use {
  target: string;
  /** Where in the definition: `condition.all[0].where[1].property`. */
  path: string;
}

export interface DefinitionUses {
  kind: string;
  key: string;
  uses: Use[];
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): v is string => typeof v === 'string' && v !== '';
export const eventTarget = (event: string) => `event:${event}`;
export const propertyTarget = (event: string | undefined, path: string) => `property:${event ?? '*'}:${path}`;
export const traitTarget = (path: string) => `trait:${path}`;
export const computedTarget = (key: string) => `computed:${key}`;
export const definitionTarget = (kind: string, key: string) => `definition:${kind}/${key}`;

/** Traits, computed traits, audiences and catalogs a condition reads (events and properties come from referencesOf). */
function conditionProfileUses(c: unknown, path: string, out: Use[]): void {
  if (!isObject(c)) return;
  if (Array.isArray(c.all)) c.all.forEach((x, i) => conditionProfileUses(x, `${path}.all[${i}]`, out));
  else if (Array.isArray(c.any)) c.any.forEach((x, i) => conditionProfileUses(x, `${path}.any[${i}]`, out));
  else if (c.not !== undefined) conditionProfileUses(c.not, `${path}.not`, out);
  else if (str(c.trait)) out.push({ target: traitTarget(c.trait), path: `${path}.trait` });
  else if (str(c.in_audience)) out.push({ target: definitionTarget('audiences', c.in_audience), path: `${path}.in_audience` });
  else if (str(c.computed)) out.push({ target: computedTarget(c.computed.split('.')[0]), path: `${path}.computed` });
  else if (str(c.catalog)) {
    out.push({ target: definitionTarget('catalogs', c.catalog), path: `${path}.catalog` });
    if (isObject(c.key_from) && str(c.key_from.trait)) out.push({ target: traitTarget(c.key_from.trait), path: `${path}.key_from.trait` });
  }
}

/** Events and their properties, audiences and computed traits that src/workspace/references.ts finds. */
function referenceUses(kind: string, body: unknown, out: Use[]): void {
  const refs = referencesOf(kind, body);
  for (const e of refs.events) {
    out.push({ target: eventTarget(e.event), path: e.path });
    for (const p of e.properties) out.push({ target: propertyTarget(e.event, p.property), path: p.path });
  }
  for (const p of refs.anyEvent) out.push({ target: propertyTarget(undefined, p.property), path: p.path });
  for (const a of refs.audiences) out.push({ target: definitionTarget('audiences', a.key), path: a.path });
  for (const t of refs.computed) out.push({ target: computedTarget(t.key), path: t.path });
}

/** Variables a Liquid template reads: `profile.traits.x` / `traits.x`, `profile.computed.x`, `event.properties.x`. */
export function templateUses(body: Record<string, unknown>): Use[] {
  const out: Use[] = [];
  const texts: [string, string][] = [];
  for (const field of ['subject', 'mjml', 'html', 'text', 'body']) if (str(body[field])) texts.push([field, body[field] as string]);
  if (isObject(body.locales)) {
    for (const [locale, content] of Object.entries(body.locales)) {
      if (!isObject(content)) continue;
      for (const field of ['subject', 'mjml', 'html', 'text', 'body']) if (str(content[field])) texts.push([`locales.${locale}.${field}`, content[field] as string]);
    }
  }
  const seen = new Set<string>();
  for (const [field, text] of texts) {
    for (const tag of text.matchAll(/\{\{([\s\S]*?)\}\}|\{%([\s\S]*?)%\}/g)) {
      const inner = tag[1] ?? tag[2] ?? '';
      for (const m of inner.matchAll(/(?<![\w.])(profile\.traits|traits|profile\.computed|event\.properties|event)\.([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)/g)) {
        const [, root, rest] = m;
        const target = root === 'profile.computed' ? computedTarget(rest.split('.')[0])
          : root === 'event.properties' || root === 'event' ? propertyTarget(undefined, rest)
          : traitTarget(rest);
        if (seen.has(`${target}@${field}`)) continue;
        seen.add(`${target}@${field}`);
        out.push({ target, path: field });
      }
    }
  }
  return out;
}

function journeyUses(body: Record<string, unknown>, out: Use[]): void {
  const t = isObject(body.trigger) ? body.trigger : {};
  if (t.condition !== undefined) conditionProfileUses(t.condition, 'trigger.condition', out);
  if (body.entry_condition !== undefined) conditionProfileUses(body.entry_condition, 'entry_condition', out);
  if (!isObject(body.nodes)) return;
  for (const [id, node] of Object.entries(body.nodes)) {
    if (!isObject(node)) continue;
    const at = `nodes.${id}`;
    if (node.type === 'branch') conditionProfileUses(node.condition, `${at}.condition`, out);
    if (str(node.channel)) out.push({ target: definitionTarget('channels', node.channel), path: `${at}.channel` });
    if (str(node.template)) out.push({ target: definitionTarget('templates', node.template), path: `${at}.template` });
    if (str(node.experiment)) out.push({ target: definitionTarget('experiments', node.experiment), path: `${at}.experiment` });
    if (node.type === 'update_trait' && str(node.trait)) out.push({ target: traitTarget(node.trait), path: `${at}.trait` });
    const reward = isObject(node.reward) ? node.reward : undefined;
    if (reward && str(reward.event)) out.push({ target: eventTarget(reward.event), path: `${at}.reward.event` });
  }
}

function modelUses(body: Record<string, unknown>, out: Use[]): void {
  const clv = isObject(body.clv) ? body.clv : undefined;
  const type = body.type;
  if (type === 'clv') {
    const event = str(clv?.event) ? clv.event : 'Order Completed';
    out.push({ target: eventTarget(event), path: 'clv.event' });
    out.push({ target: propertyTarget(event, str(clv?.revenueProperty) ? clv.revenueProperty : 'revenue'), path: 'clv.revenueProperty' });
  }
  const p = isObject(body.propensity) ? body.propensity : undefined;
  if (type === 'propensity' && p) {
    if (str(p.event)) out.push({ target: eventTarget(p.event), path: 'propensity.event' });
    if (Array.isArray(p.events)) p.events.forEach((e, i) => str(e) && out.push({ target: eventTarget(e), path: `propensity.events[${i}]` }));
    if (Array.isArray(p.traits)) p.traits.forEach((t, i) => str(t) && out.push({ target: traitTarget(t), path: `propensity.traits[${i}]` }));
    if (str(p.revenueProperty)) out.push({ target: propertyTarget(str(p.event) ? p.event : undefined, p.revenueProperty), path: 'propensity.revenueProperty' });
  }
  const s = isObject(body.sendTime) ? body.sendTime : undefined;
  if (type === 'send-time') {
    const events = Array.isArray(s?.events) ? s.events : ['Message Opened', 'Message Clicked', 'Session Started'];
    events.forEach((e, i) => str(e) && out.push({ target: eventTarget(e), path: `sendTime.events[${i}]` }));
  }
}

function experimentUses(body: Record<string, unknown>, out: Use[]): void {
  if (body.targeting !== undefined) {
    referenceUses('audiences', { condition: body.targeting }, out);
    conditionProfileUses(body.targeting, 'targeting', out);
    for (const u of out) if (u.path.startsWith('condition')) u.path = `targeting${u.path.slice('condition'.length)}`;
  }
  if (Array.isArray(body.metrics)) {
    body.metrics.forEach((m, i) => {
      if (!isObject(m) || !str(m.event)) return;
      out.push({ target: eventTarget(m.event), path: `metrics[${i}].event` });
      if (m.type === 'revenue') out.push({ target: propertyTarget(m.event, str(m.property) ? m.property : 'revenue'), path: `metrics[${i}].property` });
    });
  }
  out.push({ target: eventTarget(str(body.exposure_event) ? body.exposure_event : 'Experiment Viewed'), path: 'exposure_event' });
}

/** Signals and monitors: an event (or message type), property tests and the property aggregated. */
function filterUses(body: Record<string, unknown>, out: Use[]): void {
  const event = str(body.event) ? body.event : undefined;
  if (event) out.push({ target: eventTarget(event), path: 'event' });
  if (str(body.property)) out.push({ target: propertyTarget(event, body.property), path: 'property' });
  if (Array.isArray(body.where)) body.where.forEach((w, i) => isObject(w) && str(w.property) && out.push({ target: propertyTarget(event, w.property), path: `where[${i}].property` }));
}

/** What one definition uses, directly. */
export function usesOf(kind: string, key: string, body: unknown): DefinitionUses {
  const uses: Use[] = [];
  if (isObject(body)) {
    if (kind === 'audiences') {
      referenceUses(kind, body, uses);
      conditionProfileUses(body.condition, 'condition', uses);
    } else if (kind === 'traits') referenceUses(kind, body, uses);
    else if (kind === 'journeys') {
      referenceUses(kind, body, uses);
      journeyUses(body, uses);
    } else if (kind === 'templates') uses.push(...templateUses(body));
    else if (kind === 'models') modelUses(body, uses);
    else if (kind === 'experiments') experimentUses(body, uses);
    else if (kind === 'signals' || kind === 'monitors') filterUses(body, uses);
    else if (kind === 'alerts') {
      if (str(body.monitor)) uses.push({ target: definitionTarget('monitors', body.monitor), path: 'monitor' });
      if (str(body.signal)) uses.push({ target: definitionTarget('signals', body.signal), path: 'signal' });
    } else if (kind === 'channels' && body.type === 'audience_export') {
      // An ad-audience channel matches on the e-mail and phone of its members (hashed, src/channels/audience-export).
      uses.push({ target: traitTarget('email'), path: 'type' }, { target: traitTarget('phone'), path: 'type' });
    }
  }
  // Duplicates (same target, same path) add nothing.
  const seen = new Set<string>();
  return { kind, key, uses: uses.filter((u) => !seen.has(`${u.target}@${u.path}`) && (seen.add(`${u.target}@${u.path}`), true)) };
}

/** Which computed traits a definition writes: a trait its own key, a model its output. */
function produces(kind: string, key: string, body: unknown): string[] {
  if (kind === 'traits') return [computedTarget(key)];
  if (kind === 'models' && isObject(body)) return [computedTarget(str(body.output) ? body.output : key)];
  return [];
}

export interface LineageEntry {
  kind: string;
  key: string;
  /** Where the definition names the target (for direct uses). */
  paths: string[];
}

export interface Lineage {
  target: string;
  /** Definitions that name the target. */
  usedBy: LineageEntry[];
  /** Definitions that depend on those, transitively (an audience read by a journey, a monitor watched by an alert). */
  downstream: (LineageEntry & { via: string })[];
  /** Channels that journeys among the users send through: where the data can go. */
  destinations: string[];
  /** What writes the target (a computed trait: its trait definition or model). */
  producedBy: LineageEntry[];
  /** For a definition: what it uses. */
  uses?: Use[];
}

const RELEVANT_KINDS = ['traits', 'audiences', 'journeys', 'templates', 'models', 'experiments', 'signals', 'monitors', 'alerts', 'channels'];

/** The lineage index of a workspace: every definition's uses, and the reverse. */
export class LineageIndex {
  readonly definitions: DefinitionUses[] = [];
  private readonly byTarget = new Map<string, { def: DefinitionUses; paths: string[] }[]>();
  private readonly producers = new Map<string, DefinitionUses[]>();

  constructor(state: WorkspaceState) {
    for (const kind of RELEVANT_KINDS) {
      for (const [key, body] of state.get(kind) ?? []) {
        const def = usesOf(kind, key, body);
        this.definitions.push(def);
        const paths = new Map<string, string[]>();
        for (const u of def.uses) paths.set(u.target, [...(paths.get(u.target) ?? []), u.path]);
        for (const [target, p] of paths) {
          const list = this.byTarget.get(target) ?? [];
          list.push({ def, paths: p });
          this.byTarget.set(target, list);
        }
        for (const target of produces(kind, key, body)) this.producers.set(target, [...(this.producers.get(target) ?? []), def]);
      }
    }
  }

  /** Direct users of a target; a property target also matches users of the same path in any event (`*`) and the reverse. */
  usersOf(target: string): { def: DefinitionUses; paths: string[] }[] {
    const out = [...(this.byTarget.get(target) ?? [])];
    const m = /^property:(.*?):(.*)$/s.exec(target);
    if (m) {
      const [, event, path] = m;
      if (event !== '*') out.push(...(this.byTarget.get(propertyTarget(undefined, path)) ?? []));
      else for (const [t, users] of this.byTarget) if (t !== target && t.startsWith('property:') && t.endsWith(`:${path}`) && /^property:(.*?):(.*)$/s.exec(t)?.[2] === path) out.push(...users);
    }
    // A computed trait is also reached through the definitions that write it (their dependents are its dependents).
    return out;
  }

  lineage(target: string): Lineage {
    const usedBy = this.usersOf(target).map(({ def, paths }) => ({ kind: def.kind, key: def.key, paths }));
    const seen = new Set(usedBy.map((u) => `${u.kind}/${u.key}`));
    const downstream: Lineage['downstream'] = [];
    const queue = usedBy.map((u) => ({ kind: u.kind, key: u.key }));
    // A definition's own dependents: a definition target, or for a trait definition or model, the computed trait it writes.
    const targetsOfDefinition = (kind: string, key: string) => {
      const own = [definitionTarget(kind, key)];
      for (const [t, defs] of this.producers) if (defs.some((d) => d.kind === kind && d.key === key)) own.push(t);
      return own;
    };
    if (target.startsWith('definition:')) {
      const [kind, key] = target.slice('definition:'.length).split('/');
      for (const t of targetsOfDefinition(kind, key).slice(1)) {
        for (const { def, paths } of this.usersOf(t)) {
          if (seen.has(`${def.kind}/${def.key}`)) continue;
          seen.add(`${def.kind}/${def.key}`);
          usedBy.push({ kind: def.kind, key: def.key, paths });
          queue.push({ kind: def.kind, key: def.key });
        }
      }
    }
    while (queue.length) {
      const { kind, key } = queue.shift()!;
      for (const t of targetsOfDefinition(kind, key)) {
        for (const { def, paths } of this.usersOf(t)) {
          const id = `${def.kind}/${def.key}`;
          if (seen.has(id)) continue;
          seen.add(id);
          downstream.push({ kind: def.kind, key: def.key, paths, via: `${kind}/${key}` });
          queue.push({ kind: def.kind, key: def.key });
        }
      }
    }
    const destinations = new Set<string>();
    for (const d of [...usedBy, ...downstream]) {
      if (d.kind === 'channels') destinations.add(d.key);
      if (d.kind !== 'journeys') continue;
      const def = this.definitions.find((x) => x.kind === 'journeys' && x.key === d.key);
      for (const u of def?.uses ?? []) if (u.target.startsWith('definition:channels/')) destinations.add(u.target.slice('definition:channels/'.length));
    }
    const producedBy = (this.producers.get(target) ?? []).map((d) => ({ kind: d.kind, key: d.key, paths: [] }));
    const out: Lineage = { target, usedBy, downstream, destinations: [...destinations].sort(), producedBy };
    if (target.startsWith('definition:')) {
      const [kind, key] = target.slice('definition:'.length).split('/');
      out.uses = this.definitions.find((d) => d.kind === kind && d.key === key)?.uses ?? [];
    }
    return out;
  }
}
