import { Type, type Static } from '@sinclair/typebox';
import { notFound } from '../core/errors.js';
import type { IdentityStore, ProfileRecord, StoredEvent } from '../core/ports/store.js';
import { normaliseIdentifier } from '../identity/identifiers.js';
import type { ActiveIdentityRules, SurvivorshipRule } from '../identity/rules.js';
import { survive, type TraitObservation } from './survivorship.js';

const Iso = Type.String({ format: 'date-time' });

export const ProfileView = Type.Object({
  id: Type.String({ description: 'Stable profile id; ids of profiles merged into this one resolve to it.' }),
  identifiers: Type.Array(Type.Object({ type: Type.String(), value: Type.String(), firstSeen: Iso, lastSeen: Iso })),
  traits: Type.Object({}, { additionalProperties: true, description: 'Surviving value of each trait.' }),
  lineage: Type.Record(
    Type.String(),
    Type.Object({ rule: Type.String(), source: Type.String(), messageId: Type.String(), eventId: Type.Integer(), time: Iso }),
    { description: 'Per trait: the rule that chose the value and the event that supplied it.' },
  ),
  computed: Type.Object({}, { additionalProperties: true }),
  audiences: Type.Array(Type.String()),
  accounts: Type.Array(Type.String(), { description: 'Group ids of the accounts (group calls) the profile is linked to, first linked first.' }),
  mergedFrom: Type.Array(Type.String(), { description: 'Profiles merged into this one.' }),
  subscriptions: Type.Optional(
    Type.Record(Type.String(), Type.Object({ status: Type.String(), at: Iso, source: Type.String(), messageId: Type.Optional(Type.String()) }), {
      description: 'Per group (e.g. marketing_email): the latest subscription change, its time and source (docs/profiles.md#privacy).',
    }),
  ),
  firstSeen: Iso,
  lastSeen: Iso,
  createdAt: Iso,
});
export type ProfileView = Static<typeof ProfileView>;

/** What the profile views need from the Store besides the identity graph. */
export interface SourceKeys {
  list(workspaceId: string): Promise<{ id: string; key: string }[]>;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Adds fields to a profile view (privacy adds `subscriptions`). */
export type ProfileExtension = (workspaceId: string, view: ProfileView) => Promise<Partial<ProfileView>>;

/** Assembles unified profiles from the identity store: identifiers, traits after survivorship, lineage. */
export class Profiles {
  private extensions: ProfileExtension[] = [];

  extend(extension: ProfileExtension): void {
    this.extensions.push(extension);
  }

  constructor(
    private readonly identity: IdentityStore,
    private readonly rules: ActiveIdentityRules,
    private readonly sources: SourceKeys,
  ) {}

  /** A profile by any id it ever had (follows merges); undefined when unknown. */
  async get(workspaceId: string, id: string): Promise<ProfileView | undefined> {
    const canonical = await this.identity.canonical(workspaceId, id);
    const record = canonical && (await this.identity.profile(workspaceId, canonical));
    return record ? this.view(workspaceId, record) : undefined;
  }

  async require(workspaceId: string, id: string): Promise<ProfileView> {
    const profile = await this.get(workspaceId, id);
    if (!profile) throw notFound('profile', id);
    return profile;
  }

  /** The profile holding an identifier; the value is normalised as the resolver normalises it. */
  async lookup(workspaceId: string, type: string, value: string): Promise<ProfileView | undefined> {
    const rules = await this.rules.for(workspaceId);
    const normalised = normaliseIdentifier(type, value, rules);
    if (normalised === undefined) return undefined;
    const id = await this.identity.lookup(workspaceId, { type, value: normalised });
    return id === undefined ? undefined : this.get(workspaceId, id);
  }

  /** The profile's events, newest first, including those of profiles merged into it. */
  async timeline(workspaceId: string, id: string, page: { before?: number; limit: number }): Promise<StoredEvent[]> {
    const canonical = await this.identity.canonical(workspaceId, id);
    if (canonical === undefined) throw notFound('profile', id);
    return this.identity.timeline(workspaceId, canonical, page);
  }

  /** Profiles with an identifier starting with `q`, or whose surviving value of some trait is `q`. */
  async search(workspaceId: string, q: string, limit: number): Promise<ProfileView[]> {
    const prefixes = [...new Set([q, q.trim().toLowerCase()])].filter((p) => p !== '');
    const values = [JSON.stringify(q)];
    if (q.trim() !== '' && Number.isFinite(Number(q))) values.push(JSON.stringify(Number(q)));
    if (q === 'true' || q === 'false') values.push(q);
    const ids = new Set<string>();
    for (const prefix of prefixes) for (const id of await this.identity.search(workspaceId, { identifierPrefix: prefix, traitValues: values }, limit)) ids.add(id);
    const out: ProfileView[] = [];
    for (const id of ids) {
      const p = await this.get(workspaceId, id);
      if (!p) continue;
      const byIdentifier = p.identifiers.some((i) => prefixes.some((prefix) => i.value.startsWith(prefix)));
      const byTrait = Object.values(p.traits).some((v) => values.includes(JSON.stringify(v)));
      if (byIdentifier || byTrait) out.push(p);
      if (out.length === limit) break;
    }
    return out;
  }

  private async view(workspaceId: string, record: ProfileRecord): Promise<ProfileView> {
    const rules = await this.rules.for(workspaceId);
    // Source keys name the lineage of traits: a profile without traits needs none.
    const keys = new Map(record.traits.length ? (await this.sources.list(workspaceId)).map((s) => [s.id, s.key]) : []);
    const sourceKey = (id: string) => keys.get(id) ?? id;
    const byName = new Map<string, TraitObservation[]>();
    for (const o of record.traits) byName.set(o.name, [...(byName.get(o.name) ?? []), o]);
    const traits: Record<string, unknown> = {};
    const lineage: ProfileView['lineage'] = {};
    for (const [name, observations] of byName) {
      const rule: SurvivorshipRule = rules.body.survivorship.traits[name] ?? { rule: rules.body.survivorship.default };
      const winner = survive(observations, rule, sourceKey);
      if (!winner) continue;
      traits[name] = winner.value;
      lineage[name] = { rule: winner.rule, source: sourceKey(winner.lineage.sourceId), messageId: winner.lineage.messageId, eventId: winner.lineage.eventId, time: iso(winner.lineage.at) };
    }
    const seen = record.identifiers.flatMap((i) => [i.firstSeen, i.lastSeen]);
    const view: ProfileView = {
      id: record.id,
      identifiers: [...record.identifiers].sort((a, b) => rules.rank(a.type) - rules.rank(b.type) || (a.type < b.type ? -1 : a.type > b.type ? 1 : 0)).map((i) => ({ type: i.type, value: i.value, firstSeen: iso(i.firstSeen), lastSeen: iso(i.lastSeen) })),
      traits,
      lineage,
      computed: {},
      audiences: [],
      accounts: (await this.identity.accountLinks(workspaceId, record.id)).map((l) => l.groupId),
      mergedFrom: record.mergedFrom,
      firstSeen: iso(seen.length ? Math.min(...seen) : record.createdAt),
      lastSeen: iso(seen.length ? Math.max(...seen) : record.createdAt),
      createdAt: iso(record.createdAt),
    };
    for (const extend of this.extensions) Object.assign(view, await extend(workspaceId, view));
    return view;
  }
}
