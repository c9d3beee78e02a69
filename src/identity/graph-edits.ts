import { accountOf } from '../accounts/accounts.js';
import type { Clock } from '../core/clock.js';
import { badRequest, notFound } from '../core/errors.js';
import { sha256 } from '../core/ids.js';
import type { AuditEntry, BlockedIdentifierRecord, IdentityStore, ProfileRecord, RecomputePlan, StoredEvent, UnmergeRecord } from '../core/ports/store.js';
import { sightings, type TraitLineage } from '../profiles/survivorship.js';
import { WorkingGraph } from './graph.js';
import { extractIdentity, normaliseIdentifier } from './identifiers.js';
import { ANONYMOUS_ID, identifierKey, USER_ID, type Identifier } from './model.js';
import { newProfileId as timeOrderedId } from './profile-ids.js';
import { resolveEvent } from './resolver.js';
import { withConstraints, type ActiveIdentityRules, type IdentityRules } from './rules.js';

/** Called after an unmerge or a split changed profiles: the profiles the recomputed events form now. */
export type ProfilesRecomputedListener = (workspaceId: string, profileIds: string[]) => void;

export interface GraphEditDeps {
  identity: IdentityStore;
  rules: ActiveIdentityRules;
  /** The resolve stage's exclusive turn: the graph has one writer at a time (docs/decisions/0005, 0007). */
  pipeline: { exclusive<T>(fn: () => Promise<T>): Promise<T> };
  audit: { add(entry: AuditEntry, at: number): Promise<void> };
  clock: Clock;
  newProfileId?: () => string;
}

export interface RecomputedProfile {
  id: string;
  identifiers: Identifier[];
  events: number;
}

export interface RecomputeOutcome {
  unmerge: UnmergeRecord;
  profiles: RecomputedProfile[];
  /** Events that kept no usable identifier and now belong to no profile. */
  unresolved: number;
}

export interface BlockOutcome {
  blocked: BlockedIdentifierRecord;
  /** False when the identifier was on the list already. */
  created: boolean;
  split?: RecomputeOutcome;
}

const PAGE = 1000;

/**
 * Changes to the identity graph made by people rather than events (docs/decisions/0007): unmerge a profile by
 * removing an identifier (which is then blocked) or a link (whose two ends are then kept apart), and block an
 * identifier value, optionally splitting the profile it joined. Each recomputes the affected profile from its
 * events in event order under the new constraint, inside the resolve stage's exclusive turn, and applies the
 * result in one transaction.
 */
export class IdentityGraphEditor {
  private listeners = new Set<ProfilesRecomputedListener>();
  private readonly newProfileId: () => string;

  constructor(private readonly deps: GraphEditDeps) {
    this.newProfileId = deps.newProfileId ?? (() => timeOrderedId(deps.clock.now()));
  }

  /** Listens for profiles changed by an unmerge or a split (the apply stage re-evaluates them). */
  onProfilesRecomputed(listener: ProfilesRecomputedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Removes an identifier from a profile and blocks it; the profile's events are re-resolved without it. */
  async unmergeIdentifier(workspaceId: string, id: string, input: Identifier, actor: string): Promise<RecomputeOutcome> {
    const outcome = await this.deps.pipeline.exclusive(async () => {
      const record = await this.profile(workspaceId, id);
      const rules = await this.deps.rules.for(workspaceId);
      const identifier = this.held(record, this.normalise(input, rules, 'identifier'), 'identifier');
      const block: BlockedIdentifierRecord = { ...identifier, reason: 'unmerge', profileId: record.id, actor, at: this.deps.clock.now() };
      const plan = await this.plan(workspaceId, record, withConstraints(rules, { blocked: [identifier], separations: [] }), 'identifier', [identifier], actor);
      return this.apply({ ...plan, block });
    });
    await this.audit(workspaceId, actor, 'profile.unmerge', outcome.unmerge.profileId, { kind: 'identifier', type: input.type, profiles: outcome.unmerge.profiles, events: outcome.unmerge.events });
    this.notify(workspaceId, outcome);
    return outcome;
  }

  /** Removes a link between two identifiers of a profile; from then on the two never share a profile. */
  async unmergeLink(workspaceId: string, id: string, link: { from: Identifier; to: Identifier }, actor: string): Promise<RecomputeOutcome> {
    const outcome = await this.deps.pipeline.exclusive(async () => {
      const record = await this.profile(workspaceId, id);
      const rules = await this.deps.rules.for(workspaceId);
      const from = this.held(record, this.normalise(link.from, rules, 'link.from'), 'link.from');
      const to = this.held(record, this.normalise(link.to, rules, 'link.to'), 'link.to');
      if (identifierKey(from) === identifierKey(to)) throw badRequest('invalid_value', 'link.from and link.to are the same identifier', 'link.to');
      const { links } = await this.deps.identity.graph(workspaceId, record.id);
      const key = (a: Identifier, b: Identifier) => `${identifierKey(a)}\u0000${identifierKey(b)}`;
      const wanted = new Set([key(from, to), key(to, from)]);
      if (!links.some((l) => wanted.has(key(l.from, l.to)))) {
        throw badRequest('unknown_link', `profile '${record.id}' has no link between ${from.type}:${from.value} and ${to.type}:${to.value} (see GET /api/v1/profiles/${record.id}/graph)`, 'link');
      }
      const separation: [Identifier, Identifier] = [from, to];
      const plan = await this.plan(workspaceId, record, withConstraints(rules, { blocked: [], separations: [separation] }), 'link', [from, to], actor);
      return this.apply({ ...plan, separation });
    });
    await this.audit(workspaceId, actor, 'profile.unmerge', outcome.unmerge.profileId, { kind: 'link', types: [link.from.type, link.to.type], profiles: outcome.unmerge.profiles, events: outcome.unmerge.events });
    this.notify(workspaceId, outcome);
    return outcome;
  }

  /**
   * Blocks an identifier: from now on no event links it. With `split`, the profile holding it is recomputed
   * without it (the people it joined come apart); otherwise the profile keeps it.
   */
  async block(workspaceId: string, input: Identifier, split: boolean, actor: string): Promise<BlockOutcome> {
    const outcome = await this.deps.pipeline.exclusive(async (): Promise<BlockOutcome> => {
      const rules = await this.deps.rules.for(workspaceId);
      const identifier = this.normalise(input, rules, 'value');
      const owner = split ? await this.deps.identity.lookup(workspaceId, identifier) : undefined;
      const blocked: BlockedIdentifierRecord = { ...identifier, reason: 'block', profileId: owner ?? null, actor, at: this.deps.clock.now() };
      try {
        if (owner === undefined) return { blocked, created: await this.deps.identity.block(workspaceId, blocked) };
        const existing = (await this.deps.identity.blocked(workspaceId)).some((b) => identifierKey(b) === identifierKey(identifier));
        const record = (await this.deps.identity.profile(workspaceId, owner))!;
        const plan = await this.plan(workspaceId, record, withConstraints(rules, { blocked: [identifier], separations: [] }), 'block', [identifier], actor);
        return { blocked, created: !existing, split: await this.apply({ ...plan, block: blocked }) };
      } finally {
        this.deps.rules.invalidate(workspaceId);
      }
    });
    await this.audit(workspaceId, actor, 'identifier.block', input.type, { valueSha256: sha256(outcome.blocked.value), split, profiles: outcome.split?.unmerge.profiles ?? [] });
    if (outcome.split) this.notify(workspaceId, outcome.split);
    return outcome;
  }

  /** Takes an identifier off the blocked list: later events link it again (nothing already split re-merges). */
  async unblock(workspaceId: string, input: Identifier, actor: string): Promise<void> {
    const removed = await this.deps.pipeline.exclusive(async () => {
      const rules = await this.deps.rules.for(workspaceId);
      const identifier = normaliseIdentifier(input.type, input.value, rules) ?? input.value;
      const done = (await this.deps.identity.unblock(workspaceId, { type: input.type, value: identifier })) || (await this.deps.identity.unblock(workspaceId, input));
      this.deps.rules.invalidate(workspaceId);
      return done;
    });
    if (!removed) throw notFound(`blocked ${input.type}`, input.value);
    await this.audit(workspaceId, actor, 'identifier.unblock', input.type, { valueSha256: sha256(input.value) });
  }

  blocked(workspaceId: string): Promise<BlockedIdentifierRecord[]> {
    return this.deps.identity.blocked(workspaceId);
  }

  /* ---- the recompute ---- */

  private async profile(workspaceId: string, id: string): Promise<ProfileRecord> {
    const canonical = await this.deps.identity.canonical(workspaceId, id);
    const record = canonical === undefined ? undefined : await this.deps.identity.profile(workspaceId, canonical);
    if (!record) throw notFound('profile', id);
    return record;
  }

  private normalise(i: Identifier, rules: IdentityRules, path: string): Identifier {
    const value = normaliseIdentifier(i.type, i.value, rules);
    if (value === undefined) throw badRequest('invalid_value', `${i.type} '${i.value}' is not an identifier under the identity rules (blocked or not valid)`, path);
    return { type: i.type, value };
  }

  private held(record: ProfileRecord, i: Identifier, path: string): Identifier {
    if (!record.identifiers.some((h) => h.type === i.type && h.value === i.value)) throw badRequest('not_held', `profile '${record.id}' does not hold ${i.type} '${i.value}'`, path);
    return i;
  }

  private async eventsOf(workspaceId: string, profileId: string): Promise<StoredEvent[]> {
    const out: StoredEvent[] = [];
    for (let before: number | undefined; ; ) {
      const page = await this.deps.identity.timeline(workspaceId, profileId, { before, limit: PAGE });
      out.push(...page);
      if (page.length < PAGE) return out.reverse();
      before = page[page.length - 1].id;
    }
  }

  /**
   * Re-resolves the profile's events in event order with `rules` (which carry the new constraint), using only
   * identifiers the profile holds, so that no other profile is touched. The first profile formed keeps the
   * recomputed id; a profile formed by the event that once created a profile merged into it gets that id back;
   * others get new ids. Merged-away ids resolve to the profile now holding the event that created them.
   */
  private async plan(workspaceId: string, record: ProfileRecord, rules: IdentityRules, kind: UnmergeRecord['kind'], identifiers: Identifier[], actor: string): Promise<RecomputePlan> {
    const family = await this.deps.identity.family(workspaceId, record.id);
    const familyIds = new Set(family.map((f) => f.id));
    const byAge = new Map(family.filter((f) => f.id !== record.id).map((f) => [f.age, f.id]));
    const held = new Set(record.identifiers.map(identifierKey));
    const events = await this.eventsOf(workspaceId, record.id);

    const graph = new WorkingGraph();
    let current = 0;
    let first = true;
    const issue = () => {
      if (first) return ((first = false), record.id);
      return byAge.get(current) ?? this.newProfileId();
    };
    const mergedInto = new Map<string, string>();
    const resolved = events.map((e) => {
      const identity = extractIdentity(e.id, e.message, rules);
      const linking = identity.identifiers.filter((i) => held.has(identifierKey(i)));
      if (identity.previousId !== undefined) {
        // The alias's previousId as the resolver would read it, among the identifiers the profile holds.
        const readings = [{ type: ANONYMOUS_ID, value: identity.previousId }, { type: USER_ID, value: identity.previousId }];
        const previous = readings.find((r) => graph.ownerOf(r) !== undefined) ?? readings.find((r) => held.has(identifierKey(r)));
        if (previous && held.has(identifierKey(previous)) && !linking.some((i) => identifierKey(i) === identifierKey(previous))) linking.push(previous);
      }
      current = e.id;
      const r = resolveEvent(graph, { eventId: e.id, identifiers: linking }, rules, issue);
      for (const m of r.merges) mergedInto.set(m.loser, m.winner);
      return { e, r, at: Date.parse(e.message.timestamp) };
    });
    const final = (id: string) => {
      let p = id;
      for (let w = mergedInto.get(p); w !== undefined; w = mergedInto.get(p)) p = w;
      return p;
    };

    const survivors = graph.profiles().sort((a, b) => a.age - b.age);
    const profiles = survivors.map((p) => ({ id: p.id, age: p.age, create: !familyIds.has(p.id) }));
    if (!profiles.some((p) => p.id === record.id)) profiles.unshift({ id: record.id, age: family.find((f) => f.id === record.id)!.age, create: false });
    const eventProfile = new Map(resolved.map(({ e, r }) => [e.id, r.profileId === null ? null : final(r.profileId)]));
    const survivorIds = new Set(profiles.map((p) => p.id));
    const redirects = family
      .filter((f) => !survivorIds.has(f.id))
      .map((f) => ({ id: f.id, into: mergedInto.has(f.id) ? final(f.id) : (eventProfile.get(f.age) ?? record.id) }));

    // Rows as the resolve stage would have written them for these resolutions (see IdentityStore.commit).
    const seen = new Map<string, RecomputePlan['identifiers'][number]>();
    const links = new Map<string, RecomputePlan['links'][number]>();
    type TraitRow = RecomputePlan['traits'][number];
    const traits = new Map<string, TraitRow>();
    const accounts = new Map<string, RecomputePlan['accounts'][number]>();
    for (const { e, r, at } of resolved) {
      if (r.profileId === null) continue;
      const profileId = final(r.profileId);
      for (const i of r.identifiers) {
        const s = seen.get(identifierKey(i));
        if (s) (s.firstSeen = Math.min(s.firstSeen, at), s.lastSeen = Math.max(s.lastSeen, at));
        else seen.set(identifierKey(i), { ...i, profileId, firstSeen: at, lastSeen: at, eventId: e.id });
      }
      const [anchor, ...rest] = r.identifiers;
      for (const to of rest) {
        const key = `${identifierKey(anchor)}\u0000${identifierKey(to)}`;
        if (!links.has(key)) links.set(key, { from: anchor, to, eventId: e.id });
      }
      const lineage: TraitLineage = { sourceId: e.sourceId, messageId: e.message.messageId, eventId: e.id, at };
      for (const t of sightings(e.message)) {
        const key = `${profileId}\u0000${t.name}\u0000${t.value}\u0000${e.sourceId}`;
        const o = traits.get(key);
        if (!o) traits.set(key, { profileId, name: t.name, value: t.value, sourceId: e.sourceId, count: 1, first: lineage, last: lineage });
        else {
          o.count++;
          if (at < o.first.at) o.first = lineage;
          if (at >= o.last.at) o.last = lineage;
        }
      }
      const account = accountOf(e.message);
      if (account) {
        const key = `${account.groupId}\u0000${profileId}`;
        const a = accounts.get(key);
        if (a) (a.firstSeen = Math.min(a.firstSeen, at), a.lastSeen = Math.max(a.lastSeen, at));
        else accounts.set(key, { groupId: account.groupId, profileId, firstSeen: at, lastSeen: at, eventId: e.id });
      }
    }
    // Identifiers keep their profile's final id (a profile merged later in the replay handed them on).
    const identifierRows = [...seen.values()].map((i) => ({ ...i, profileId: graph.ownerOf(i) ?? i.profileId }));

    return {
      workspaceId,
      family: family.map((f) => f.id),
      previousIdentifiers: record.identifiers.map((i) => ({ type: i.type, value: i.value })),
      profiles,
      redirects,
      identifiers: identifierRows,
      links: [...links.values()],
      events: resolved.map(({ e }) => ({ eventId: e.id, profileId: eventProfile.get(e.id) ?? null })),
      traits: [...traits.values()],
      accounts: [...accounts.values()],
      unmerge: { profileId: record.id, kind, identifiers, profiles: profiles.map((p) => p.id), events: events.length, actor, at: this.deps.clock.now() },
    };
  }

  private async apply(plan: RecomputePlan): Promise<RecomputeOutcome> {
    try {
      const id = await this.deps.identity.recompute(plan);
      const profiles = plan.profiles.map((p) => ({
        id: p.id,
        identifiers: plan.identifiers.filter((i) => i.profileId === p.id).map((i) => ({ type: i.type, value: i.value })),
        events: plan.events.filter((e) => e.profileId === p.id).length,
      }));
      return { unmerge: { id, ...plan.unmerge }, profiles, unresolved: plan.events.filter((e) => e.profileId === null).length };
    } finally {
      // The new block or separation is part of the rules from the next batch on.
      this.deps.rules.invalidate(plan.workspaceId);
    }
  }

  private notify(workspaceId: string, outcome: RecomputeOutcome): void {
    for (const listener of this.listeners) listener(workspaceId, outcome.unmerge.profiles);
  }

  private audit(workspaceId: string, actor: string, action: string, target: string, detail: unknown): Promise<void> {
    // Audit entries never name an identifier value (docs/decisions/0005): types and a hash only.
    return this.deps.audit.add({ workspaceId, actor, action, target, detail }, this.deps.clock.now());
  }
}
