import { Type, type Static } from '@sinclair/typebox';
import { badRequest, notFound } from '../core/errors.js';
import type { IdentityStore, ProfileRecord, StoredEvent } from '../core/ports/store.js';
import { normaliseIdentifier } from '../identity/identifiers.js';
import type { ActiveIdentityRules, IdentityRules } from '../identity/rules.js';
import { survivingTraits } from './survivorship.js';

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

/**
 * What the profile list and search show of each profile: everything the identity store holds (identifiers, traits
 * after survivorship with lineage, merges, first / last seen), read for the whole page at once. Computed traits,
 * audiences, accounts and subscriptions come from other stores, per profile: GET /api/v1/profiles/{id} has them.
 */
export const ProfileSummary = Type.Pick(ProfileView, ['id', 'identifiers', 'traits', 'lineage', 'mergedFrom', 'firstSeen', 'lastSeen', 'createdAt']);
export type ProfileSummary = Static<typeof ProfileSummary>;

/** What the profile views need from the Store besides the identity graph. */
export interface SourceKeys {
  list(workspaceId: string): Promise<{ id: string; key: string }[]>;
}

const iso = (ms: number) => new Date(ms).toISOString();

type Cursor = [number, unknown];
const encodeCursor = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString('base64url');
function decodeCursor(text: string | undefined): Cursor | undefined {
  if (!text) return undefined;
  try {
    const c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(c) && c.length === 2 && Number.isInteger(c[0]) && c[0] >= 0) return c as Cursor;
  } catch {
    // falls through to the refusal below
  }
  throw badRequest('invalid_cursor', 'after: not a cursor from a previous page (use the `next` of the answer)', 'after');
}

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

  /**
   * One page of profiles and the cursor of the next (undefined on the last page). Without `q`: every surviving
   * profile in id order. With `q`: as `search` (identifier prefix, then exact trait values), walked phase by phase
   * (each prefix spelling, then each trait value), each phase in its index's order, so any page costs about what
   * the first does. The cursor is opaque (base64url JSON of the phase and its position). A profile matched in two
   * phases (by an e-mail prefix and a trait value) may show on two pages; within a page it shows once. A page may
   * hold fewer than `limit` profiles while a `next` remains.
   */
  async page(workspaceId: string, query: { q?: string; after?: string; limit: number }): Promise<{ data: ProfileSummary[]; next?: string }> {
    const views = (ids: string[]) => this.summaries(workspaceId, ids);
    const cursor = decodeCursor(query.after);
    if (query.q === undefined || query.q === '') {
      const ids = await this.identity.profilePage(workspaceId, { after: typeof cursor?.[1] === 'string' ? cursor[1] : undefined, limit: query.limit });
      return { data: await views(ids), next: ids.length === query.limit ? encodeCursor([0, ids[ids.length - 1]]) : undefined };
    }
    const q = query.q;
    const prefixes = [...new Set([q, q.trim().toLowerCase()])].filter((p) => p !== '');
    const values = [JSON.stringify(q)];
    if (q.trim() !== '' && Number.isFinite(Number(q))) values.push(JSON.stringify(Number(q)));
    if (q === 'true' || q === 'false') values.push(q);
    const phases = prefixes.length + values.length;
    let [phase, position] = cursor ?? [0, undefined];
    const seen = new Set<string>();
    const out: ProfileSummary[] = [];
    while (phase < phases && out.length < query.limit) {
      const want = query.limit - out.length;
      let ids: string[];
      if (phase < prefixes.length) {
        const after = Array.isArray(position) ? { value: String(position[0]), type: String(position[1]) } : undefined;
        const rows = await this.identity.identifierPage(workspaceId, { prefix: prefixes[phase], after, limit: want });
        ids = rows.map((r) => r.profileId);
        position = rows.length ? [rows[rows.length - 1].value, rows[rows.length - 1].type] : position;
        if (rows.length < want) (phase++, (position = undefined));
      } else {
        const value = values[phase - prefixes.length];
        ids = await this.identity.traitValuePage(workspaceId, { value, after: typeof position === 'string' ? position : undefined, limit: want });
        position = ids.length ? ids[ids.length - 1] : position;
        if (ids.length < want) (phase++, (position = undefined));
      }
      for (const p of await views(ids.filter((id) => !seen.has(id)))) {
        if (seen.has(p.id)) continue; // two identifiers of one profile, or a merged id that resolved to it
        seen.add(p.id);
        const byIdentifier = p.identifiers.some((i) => prefixes.some((prefix) => i.value.startsWith(prefix)));
        const byTrait = Object.values(p.traits).some((v) => values.includes(JSON.stringify(v)));
        if (byIdentifier || byTrait) out.push(p);
      }
    }
    return { data: out, next: phase < phases ? encodeCursor([phase, position]) : undefined };
  }

  /**
   * Summaries of many profiles in one read of the identity store (ids merged away answer their survivor, each
   * profile once; unknown and erased ids are left out), in the order of the ids. Each equals the same fields of
   * the profile's full view.
   */
  async summaries(workspaceId: string, ids: string[]): Promise<ProfileSummary[]> {
    if (!ids.length) return [];
    const records = await this.identity.profiles(workspaceId, ids);
    if (!records.length) return [];
    const rules = await this.rules.for(workspaceId);
    const keys = await this.sourceKeys(workspaceId, records.some((r) => r.traits.length > 0));
    return records.map((r) => summarise(r, rules, keys));
  }

  /** Source keys name the lineage of traits: profiles without traits need none. */
  private async sourceKeys(workspaceId: string, needed: boolean): Promise<Map<string, string>> {
    return new Map(needed ? (await this.sources.list(workspaceId)).map((s) => [s.id, s.key]) : []);
  }

  private async view(workspaceId: string, record: ProfileRecord): Promise<ProfileView> {
    const rules = await this.rules.for(workspaceId);
    const summary = summarise(record, rules, await this.sourceKeys(workspaceId, record.traits.length > 0));
    const view: ProfileView = {
      id: summary.id,
      identifiers: summary.identifiers,
      traits: summary.traits,
      lineage: summary.lineage,
      computed: {},
      audiences: [],
      accounts: (await this.identity.accountLinks(workspaceId, record.id)).map((l) => l.groupId),
      mergedFrom: summary.mergedFrom,
      firstSeen: summary.firstSeen,
      lastSeen: summary.lastSeen,
      createdAt: summary.createdAt,
    };
    for (const extend of this.extensions) Object.assign(view, await extend(workspaceId, view));
    return view;
  }
}

/** A stored profile as shown: traits after survivorship with their lineage, identifiers ranked by the rules. */
function summarise(record: ProfileRecord, rules: IdentityRules, keys: Map<string, string>): ProfileSummary {
  const sourceKey = (id: string) => keys.get(id) ?? id;
  const traits: Record<string, unknown> = {};
  const lineage: ProfileView['lineage'] = {};
  for (const [name, winner] of survivingTraits(record.traits, rules, sourceKey)) {
    traits[name] = winner.value;
    lineage[name] = { rule: winner.rule, source: sourceKey(winner.lineage.sourceId), messageId: winner.lineage.messageId, eventId: winner.lineage.eventId, time: iso(winner.lineage.at) };
  }
  const seen = record.identifiers.flatMap((i) => [i.firstSeen, i.lastSeen]);
  return {
    id: record.id,
    identifiers: [...record.identifiers].sort((a, b) => rules.rank(a.type) - rules.rank(b.type) || (a.type < b.type ? -1 : a.type > b.type ? 1 : 0)).map((i) => ({ type: i.type, value: i.value, firstSeen: iso(i.firstSeen), lastSeen: iso(i.lastSeen) })),
    traits,
    lineage,
    mergedFrom: record.mergedFrom,
    firstSeen: iso(seen.length ? Math.min(...seen) : record.createdAt),
    lastSeen: iso(seen.length ? Math.max(...seen) : record.createdAt),
    createdAt: iso(record.createdAt),
  };
}
