import type { WorkingGraph } from './graph.js';
import { ANONYMOUS_ID, identifierKey, USER_ID, type EventIdentity, type Identifier, type MergeConflict, type Resolution } from './model.js';
import type { IdentityRules } from './rules.js';

/**
 * An alias's previousId joins the linking set as the anonymous id it names if the graph knows one, else as a
 * user id the graph knows, else as a new anonymous id (the usual case: a browser's id aliased to a login).
 */
function withPreviousId(graph: WorkingGraph, event: EventIdentity): Identifier[] {
  if (event.previousId === undefined) return event.identifiers;
  const asAnonymous = { type: ANONYMOUS_ID, value: event.previousId };
  const asUser = { type: USER_ID, value: event.previousId };
  const previous = graph.ownerOf(asAnonymous) !== undefined ? asAnonymous : graph.ownerOf(asUser) !== undefined ? asUser : asAnonymous;
  const key = identifierKey(previous);
  return event.identifiers.some((i) => identifierKey(i) === key) ? event.identifiers : [...event.identifiers, previous];
}

/** Profiles the linking set touches, in the order of its identifiers. */
function profilesOf(graph: WorkingGraph, linking: Identifier[]): string[] {
  const out: string[] = [];
  for (const i of linking) {
    const owner = graph.ownerOf(i);
    if (owner !== undefined && !out.includes(owner)) out.push(owner);
  }
  return out;
}

/**
 * The first limit (in priority order) that joining the linking set with its profiles would break, if any. A
 * profile already over a limit (the limit was lowered after it grew) may still receive events that do not add
 * to the excess: only a count above both the limit and the largest count already held breaks.
 */
function brokenLimit(graph: WorkingGraph, linking: Identifier[], profiles: string[], rules: IdentityRules): string | undefined {
  const held = new Map<string, number>();
  for (const p of profiles) for (const [type, values] of graph.identifiersOf(p)) held.set(type, Math.max(held.get(type) ?? 0, values.size));
  const union = new Map<string, Set<string>>();
  const add = (type: string, value: string) => {
    let values = union.get(type);
    if (!values) union.set(type, (values = new Set()));
    values.add(value);
  };
  for (const p of profiles) for (const [type, values] of graph.identifiersOf(p)) for (const v of values) add(type, v);
  for (const i of linking) add(i.type, i.value);
  const types = [...union.keys()].sort((a, b) => rules.rank(a) - rules.rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  for (const type of types) {
    const n = union.get(type)!.size;
    if (n > rules.limit(type) && n > (held.get(type) ?? 0)) return `${type} limit ${rules.limit(type)} would be exceeded (${n})`;
  }
  if (rules.separations > 0) return brokenSeparation(graph, union, types, profiles, rules);
  return undefined;
}

/**
 * The first pair of identifiers an unmerge separated (docs/decisions/0007) that the join would put in one
 * profile, unless one touched profile already holds both (the separation is then not this event's doing).
 */
function brokenSeparation(graph: WorkingGraph, union: Map<string, Set<string>>, types: string[], profiles: string[], rules: IdentityRules): string | undefined {
  const keys = new Set<string>();
  for (const type of types) for (const value of union.get(type)!) keys.add(identifierKey({ type, value }));
  const holds = (p: string, key: string) => {
    const cut = key.indexOf('\u0000');
    return graph.identifiersOf(p).get(key.slice(0, cut))?.has(key.slice(cut + 1)) === true;
  };
  for (const key of keys) {
    for (const other of rules.separatedFrom(key) ?? []) {
      if (!keys.has(other) || profiles.some((p) => holds(p, key) && holds(p, other))) continue;
      return `${key.replace('\u0000', ':')} and ${other.replace('\u0000', ':')} were separated by an unmerge`;
    }
  }
  return undefined;
}

/**
 * Resolves one event against the graph, changing the graph, deterministically:
 *
 * 1. The linking set is the event's identifiers ordered by type priority (stable within a type).
 * 2. If joining the set with the profiles it touches would give a profile more identifiers of a type than its
 *    limit, the identifiers of the lowest-priority type in the set are dropped and the check repeats; when a
 *    single type remains, only its first identifier is kept. A merge never goes past a limit; the refusal is
 *    returned as a conflict with the evidence.
 * 3. The touched profiles merge into the oldest (smallest age: the id of the event that created it), so a
 *    surviving profile id never changes; with no touched profile, a new one is created with this event's id as age.
 */
export function resolveEvent(graph: WorkingGraph, event: EventIdentity, rules: IdentityRules, newProfileId: () => string): Resolution {
  const all = withPreviousId(graph, event)
    .map((identifier, index) => ({ identifier, index }))
    .sort((a, b) => rules.rank(a.identifier.type) - rules.rank(b.identifier.type) || a.index - b.index)
    .map((x) => x.identifier);
  if (all.length === 0) return { eventId: event.eventId, profileId: null, merges: [], identifiers: [] };

  let linking = all;
  let profiles = profilesOf(graph, linking);
  let conflict: MergeConflict | undefined;
  for (let reason = brokenLimit(graph, linking, profiles, rules); reason !== undefined; reason = brokenLimit(graph, linking, profiles, rules)) {
    conflict ??= { reason, identifiers: all, dropped: [], profiles };
    // Unreachable: one identifier joins at most its own profile and adds nothing to it (see brokenLimit).
    if (linking.length === 1) break;
    const lowest = linking[linking.length - 1].type;
    const keep = linking[0].type === lowest ? linking.slice(0, 1) : linking.filter((i) => i.type !== lowest);
    conflict.dropped.push(...linking.filter((i) => !keep.includes(i)).reverse());
    linking = keep;
    profiles = profilesOf(graph, linking);
  }

  const merges: Resolution['merges'] = [];
  let profileId: string;
  let created: Resolution['created'];
  if (profiles.length === 0) {
    profileId = newProfileId();
    created = { id: profileId, age: event.eventId };
    graph.create(profileId, event.eventId);
  } else {
    const byAge = [...profiles].sort((a, b) => graph.age(a) - graph.age(b));
    profileId = byAge[0];
    for (const loser of byAge.slice(1)) {
      graph.merge(profileId, loser);
      merges.push({ winner: profileId, loser });
    }
  }
  for (const i of linking) if (graph.ownerOf(i) !== profileId) graph.attach(profileId, i);
  return { eventId: event.eventId, profileId, ...(created ? { created } : {}), merges, identifiers: linking, ...(conflict ? { conflict } : {}) };
}
