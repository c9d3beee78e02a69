import { Type, type Static } from '@sinclair/typebox';
import type { Message } from '../collect/message.js';
import { badRequest } from '../core/errors.js';
import { convert, TargetTypes, type TargetType } from './convert.js';
import { moveAt, renamedPath, segmentsOf, valueAt, setAt } from './paths.js';

/**
 * The aliases of a workspace (kind `aliases`, one per workspace): what collection rewrites in every message from
 * now on, so that a renamed event or property, or a retyped property, keeps arriving in its new form whatever the
 * clients still send. Data migrations (src/migrations) add to it; it is versioned like every definition.
 */
export const ALIASES_KIND = 'aliases';

const EventName = Type.String({ minLength: 1, maxLength: 512 });
const PropertyPath = Type.String({ minLength: 1, maxLength: 512, pattern: '^[^.]+(\\.[^.]+)*$', description: 'Dotted path under properties, such as total or shipping.country.' });

export const AliasesBody = Type.Object(
  {
    events: Type.Optional(Type.Array(Type.Object({ from: EventName, to: EventName }, { additionalProperties: false }), { description: 'Track events received as `from` are stored as `to`.' })),
    properties: Type.Optional(
      Type.Array(
        Type.Object({ event: Type.Optional(EventName), from: PropertyPath, to: PropertyPath }, { additionalProperties: false }),
        { description: 'A property received as `from` is stored as `to`: in track events named `event` (after event aliases), or without `event` in every track, page and screen call.' },
      ),
    ),
    types: Type.Optional(
      Type.Array(
        Type.Object({ event: Type.Optional(EventName), property: PropertyPath, type: Type.Union(TargetTypes.map((t) => Type.Literal(t))) }, { additionalProperties: false }),
        { description: 'A property value that converts to `type` is stored converted (a value that does not convert is stored as received, for the tracking plan to judge).' },
      ),
    ),
  },
  { additionalProperties: false, description: 'Aliases applied at collection (kind `aliases`, key `default`; docs/migrations.md).' },
);
export type Aliases = Static<typeof AliasesBody>;

export interface CompiledAliases {
  events: Map<string, string>;
  properties: { event?: string; from: string[]; to: string[] }[];
  types: { event?: string; path: string[]; type: TargetType }[];
}

/** Refuses lists whose entries contradict each other (the paths name the field). */
export function checkAliases(body: Aliases): Aliases {
  const seen = new Map<string, string>();
  (body.events ?? []).forEach((a, i) => {
    if (a.from === a.to) throw badRequest('invalid_value', `events[${i}]: from and to are both '${a.from}'`, `events[${i}].to`);
    if (seen.has(a.from)) throw badRequest('duplicate', `events[${i}].from: '${a.from}' is aliased twice`, `events[${i}].from`);
    seen.set(a.from, a.to);
  });
  (body.events ?? []).forEach((a, i) => {
    // One step only: a chain (a -> b, b -> c) is written a -> c, b -> c, so each message is renamed once.
    if (seen.has(a.to)) throw badRequest('chained_alias', `events[${i}].to: '${a.to}' is itself aliased to '${seen.get(a.to)}'; alias '${a.from}' to '${seen.get(a.to)}' directly`, `events[${i}].to`);
  });
  const props = new Set<string>();
  (body.properties ?? []).forEach((p, i) => {
    if (p.from === p.to) throw badRequest('invalid_value', `properties[${i}]: from and to are both '${p.from}'`, `properties[${i}].to`);
    if (renamedPath(p.to, p.from, p.to) !== undefined || renamedPath(p.from, p.to, p.from) !== undefined) {
      throw badRequest('invalid_value', `properties[${i}]: '${p.from}' and '${p.to}' contain one another`, `properties[${i}].to`);
    }
    const id = `${p.event ?? ''}\u0000${p.from}`;
    if (props.has(id)) throw badRequest('duplicate', `properties[${i}].from: '${p.from}' is aliased twice${p.event ? ` for '${p.event}'` : ''}`, `properties[${i}].from`);
    props.add(id);
  });
  return body;
}

export function compileAliases(body: Aliases | undefined): CompiledAliases {
  return {
    events: new Map((body?.events ?? []).map((a) => [a.from, a.to])),
    properties: (body?.properties ?? []).map((p) => ({ event: p.event, from: segmentsOf(p.from), to: segmentsOf(p.to) })),
    types: (body?.types ?? []).map((t) => ({ event: t.event, path: segmentsOf(t.property), type: t.type })),
  };
}

const carriesProperties = (m: Message) => m.type === 'track' || m.type === 'page' || m.type === 'screen';
const appliesTo = (event: string | undefined, m: Message) => (event === undefined ? carriesProperties(m) : m.type === 'track' && m.event === event);

/** Rewrites one normalised message in place (collection, quarantine replay): event, then properties, then types. */
export function aliasMessage(a: CompiledAliases, m: Message): void {
  if (m.type === 'track' && a.events.size) {
    const to = a.events.get(m.event!);
    if (to !== undefined) m.event = to;
  }
  if (!m.properties) return;
  for (const p of a.properties) if (appliesTo(p.event, m)) moveAt(m.properties, p.from, p.to);
  for (const t of a.types) {
    if (!appliesTo(t.event, m)) continue;
    const c = convert(valueAt(m.properties, t.path), t.type);
    if (c.outcome === 'converted') setAt(m.properties, t.path, c.value);
  }
}

/**
 * The list with one more event rename. Earlier aliases that led to `from` now lead to `to`; an alias from `to`
 * (renaming back) goes, since `to` is the live name again.
 */
export function withEventRename(body: Aliases | undefined, from: string, to: string): Aliases {
  const events = (body?.events ?? []).filter((a) => a.from !== to && a.from !== from).map((a) => (a.to === from ? { from: a.from, to } : a));
  events.push({ from, to });
  // Property aliases and types scoped to the old name follow the event.
  const properties = body?.properties?.map((p) => (p.event === from ? { ...p, event: to } : p));
  const types = body?.types?.map((t) => (t.event === from ? { ...t, event: to } : t));
  return { ...body, events, ...(properties ? { properties } : {}), ...(types ? { types } : {}) };
}

/** The list with one more property rename (`event` undefined: in every event). */
export function withPropertyRename(body: Aliases | undefined, event: string | undefined, from: string, to: string): Aliases {
  const same = (p: { event?: string }) => p.event === event;
  const properties = (body?.properties ?? []).filter((p) => !(same(p) && (p.from === to || p.from === from))).map((p) => (same(p) && p.to === from ? { ...p, to } : p));
  properties.push({ ...(event !== undefined ? { event } : {}), from, to });
  const types = body?.types?.map((t) => (same(t) && t.property === from ? { ...t, property: to } : t));
  return { ...body, properties, ...(types ? { types } : {}) };
}

/** The list with a property's type conversion at collection (replacing an earlier one for the same property). */
export function withRetype(body: Aliases | undefined, event: string | undefined, property: string, type: TargetType): Aliases {
  const types = (body?.types ?? []).filter((t) => !(t.event === event && t.property === property));
  types.push({ ...(event !== undefined ? { event } : {}), property, type });
  return { ...body, types };
}
