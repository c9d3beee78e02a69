import type { ApplyStore } from '../apply/ports.js';
import type { PrivacyStore } from '../core/ports/privacy.js';
import type { IdentityStore } from '../core/ports/store.js';
import { normaliseIdentifier } from '../identity/identifiers.js';
import type { IdentityRules } from '../identity/rules.js';
import { subscriptionChangesOf } from './subscriptions.js';
import { readsSourceKeys, survivingTraits } from './survivorship.js';

/**
 * What a request-time reader (POST /v1/personalize) needs of a profile: what conditions read and what may be
 * exposed. No lineage, accounts, first/last seen or timeline: the full view (src/profiles/profiles.ts) costs
 * several more queries per read.
 */
export interface LeanProfile {
  id: string;
  identifiers: { type: string; value: string }[];
  /** Surviving value of each trait (the same survivorship as the full view). */
  traits: Record<string, unknown>;
  computed: Record<string, unknown>;
  /** Audience keys, sorted. */
  audiences: string[];
  /** Current subscription status per group (the latest change by time wins, as in the full view); empty when not asked for. */
  subscriptions: Record<string, 'subscribed' | 'unsubscribed'>;
}

/** What a read may leave out: `subscriptions: false` skips consent (its two queries) when no condition reads it. */
export interface LeanParts {
  subscriptions?: boolean;
}

export interface LeanProfileDeps {
  identity: Pick<IdentityStore, 'lookup' | 'canonical' | 'profile'>;
  apply: Pick<ApplyStore, 'memberships' | 'computed'>;
  /**
   * The profile's audience keys, when the caller has a cheaper read of them than `apply.memberships` (which also
   * reads when each was entered): the front thread's covering-index read (src/personalize/front.ts).
   */
  audiences?(workspaceId: string, profileId: string): string[];
  privacy: Pick<PrivacyStore, 'subscriptionEvents' | 'subscriptionChanges'>;
  rules(workspaceId: string): Promise<IdentityRules>;
  /** Source id to source key: asked only by a survivorship rule that orders sources. */
  sourceKeys(workspaceId: string): Promise<Map<string, string>>;
}

/** Reads lean profiles (one identifier lookup, then the profile's rows, memberships, values and consent). */
export class LeanProfiles {
  constructor(private readonly deps: LeanProfileDeps) {}

  /** The profile holding an identifier (normalised as the resolver normalises it); undefined when unknown. */
  async lookup(workspaceId: string, type: string, value: string, parts: LeanParts = {}): Promise<LeanProfile | undefined> {
    const rules = await this.deps.rules(workspaceId);
    const normalised = normaliseIdentifier(type, value, rules);
    if (normalised === undefined) return undefined;
    const owner = await this.deps.identity.lookup(workspaceId, { type, value: normalised });
    const id = owner === undefined ? undefined : await this.deps.identity.canonical(workspaceId, owner);
    const record = id === undefined ? undefined : await this.deps.identity.profile(workspaceId, id);
    if (!record) return undefined;

    const traits: Record<string, unknown> = {};
    const keys = readsSourceKeys(record.traits, rules) ? await this.deps.sourceKeys(workspaceId) : undefined;
    for (const [name, winner] of survivingTraits(record.traits, rules, (sourceId) => keys?.get(sourceId) ?? sourceId)) traits[name] = winner.value;

    const subscriptions: LeanProfile['subscriptions'] = {};
    if (parts.subscriptions !== false) {
      const changes = (await this.deps.privacy.subscriptionEvents(workspaceId, record.id)).flatMap(subscriptionChangesOf);
      changes.push(...(await this.deps.privacy.subscriptionChanges(workspaceId, [record.id, ...record.mergedFrom])));
      changes.sort((a, b) => a.at - b.at); // stable: at equal times, events before API changes (as the full view)
      for (const c of changes) subscriptions[c.group] = c.status;
    }

    return {
      id: record.id,
      identifiers: record.identifiers.map((i) => ({ type: i.type, value: i.value })),
      traits,
      computed: this.deps.apply.computed(workspaceId, record.id) as Record<string, unknown>,
      audiences: (this.deps.audiences ? this.deps.audiences(workspaceId, record.id) : [...this.deps.apply.memberships(workspaceId, record.id).keys()]).sort(),
      subscriptions,
    };
  }
}

/** Source keys by source id, read when asked (only source-priority survivorship asks). */
export const sourceKeysOf = (sources: { list(workspaceId: string): Promise<{ id: string; key: string }[]> }) => async (workspaceId: string) =>
  new Map((await sources.list(workspaceId)).map((s) => [s.id, s.key]));
