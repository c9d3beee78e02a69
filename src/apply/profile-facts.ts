import type { PrivacyStore } from '../core/ports/privacy.js';
import type { IdentityStore, ResolvedEvent } from '../core/ports/store.js';
import type { IdentityRules } from '../identity/rules.js';
import { subscriptionChangesOf } from '../profiles/subscriptions.js';
import { readsSourceKeys, survivingTraits } from '../profiles/survivorship.js';
import { LruMap } from '../core/lru.js';
import type { ProfileFacts } from './apply-stage.js';

export interface ProfileFactsDeps {
  identity: Pick<IdentityStore, 'canonical' | 'profile'>;
  privacy: Pick<PrivacyStore, 'subscriptionEvents' | 'subscriptionChanges'>;
  rules(workspaceId: string): Promise<IdentityRules>;
  /** Source id to source key: asked only by a survivorship rule that orders sources. */
  sourceKeys(workspaceId: string): Promise<Map<string, string>>;
}

/**
 * What the apply stage and the warehouse mirror read of a surviving profile: traits after survivorship, identifiers
 * ranked by the identity rules, and the current subscription status per group; the same values as the full profile
 * view (src/profiles/profiles.ts) without what they never read (lineage, accounts, first / last seen, the apply
 * stage's own outputs). Undefined for unknown and merged-away ids.
 */
export class ProfileFactsReader {
  constructor(private readonly deps: ProfileFactsDeps) {}

  async read(workspaceId: string, profileId: string): Promise<ProfileFacts | undefined> {
    if ((await this.deps.identity.canonical(workspaceId, profileId)) !== profileId) return undefined;
    const record = await this.deps.identity.profile(workspaceId, profileId);
    if (!record) return undefined;
    const rules = await this.deps.rules(workspaceId);

    const traits: Record<string, unknown> = {};
    const keys = readsSourceKeys(record.traits, rules) ? await this.deps.sourceKeys(workspaceId) : undefined;
    for (const [name, winner] of survivingTraits(record.traits, rules, (sourceId) => keys?.get(sourceId) ?? sourceId)) traits[name] = winner.value;

    const identifiers = [...record.identifiers]
      .sort((a, b) => rules.rank(a.type) - rules.rank(b.type) || (a.type < b.type ? -1 : a.type > b.type ? 1 : 0))
      .map((i) => ({ type: i.type, value: i.value }));

    const changes = (await this.deps.privacy.subscriptionEvents(workspaceId, record.id)).flatMap(subscriptionChangesOf);
    changes.push(...(await this.deps.privacy.subscriptionChanges(workspaceId, [record.id, ...record.mergedFrom])));
    changes.sort((a, b) => a.at - b.at); // stable: at equal times, events before API changes (as the full view)
    const subscriptions: ProfileFacts['subscriptions'] = {};
    for (const c of changes) subscriptions[c.group] = c.status;
    return { traits, identifiers, subscriptions };
  }
}

interface CachedFacts {
  facts: ProfileFacts | undefined;
  rules: IdentityRules;
}

/**
 * The facts of recently read profiles, kept until something that could change them commits: the resolve stage's
 * batches (onResolved: new traits, identifiers, merges, subscription changes), subscription changes through the
 * API and erasures (invalidate), identity edits and trait migrations (the apply stage's recompute invalidates its
 * profiles), a change of the identity rules (each entry remembers the rules it was read under). A read that an
 * invalidation overtook is answered but not kept. Least recently used out.
 */
export class ProfileFactsCache {
  private readonly entries: LruMap<string, CachedFacts>;
  /** Reads in flight by key; `stale`: an invalidation came meanwhile, so what they read may be old. */
  private readonly inflight = new Map<string, { n: number; stale: boolean }>();
  readonly stats = { hits: 0, misses: 0 };

  constructor(
    private readonly reader: ProfileFactsReader,
    private readonly rules: (workspaceId: string) => Promise<IdentityRules>,
    capacity: number,
  ) {
    this.entries = new LruMap(capacity);
  }

  async read(workspaceId: string, profileId: string): Promise<ProfileFacts | undefined> {
    const key = `${workspaceId}\u0000${profileId}`;
    const rules = await this.rules(workspaceId);
    const entry = this.entries.get(key);
    if (entry && entry.rules === rules) {
      this.stats.hits++;
      return copy(entry.facts);
    }
    this.stats.misses++;
    let flight = this.inflight.get(key);
    if (!flight) this.inflight.set(key, (flight = { n: 0, stale: false }));
    flight.n++;
    let facts: ProfileFacts | undefined;
    try {
      facts = await this.reader.read(workspaceId, profileId);
    } finally {
      if (--flight.n === 0) this.inflight.delete(key);
    }
    if (!flight.stale) this.entries.set(key, { facts, rules });
    return copy(facts);
  }

  /** The resolve stage committed these events: their profiles' facts may have changed. */
  onResolved(resolved: ResolvedEvent[]): void {
    for (const e of resolved) {
      const r = e.resolution;
      const ids = r.merges.flatMap((m) => [m.winner, m.loser]);
      if (r.profileId !== null) {
        const entry = this.entries.get(`${e.workspaceId}\u0000${r.profileId}`);
        const known = entry?.facts && r.identifiers.every((i) => entry.facts!.identifiers.some((f) => f.type === i.type && f.value === i.value));
        if (r.created || e.traits.length > 0 || e.subscriptions || !known) ids.push(r.profileId);
      }
      if (ids.length) this.invalidate(e.workspaceId, ids);
    }
  }

  invalidate(workspaceId: string, profileIds: string[]): void {
    for (const id of profileIds) {
      const key = `${workspaceId}\u0000${id}`;
      this.entries.delete(key);
      const flight = this.inflight.get(key);
      if (flight) flight.stale = true;
    }
  }
}

/** Callers may change what they get (conditions read it; the apply stage keeps it for a step): never share an entry. */
function copy(facts: ProfileFacts | undefined): ProfileFacts | undefined {
  return facts && { traits: { ...facts.traits }, identifiers: facts.identifiers.slice(), subscriptions: { ...facts.subscriptions } };
}
