import { Type, type Static } from '@sinclair/typebox';
import { notFound } from '../core/errors.js';
import type { AccountRecord, IdentityStore } from '../core/ports/store.js';
import { survive, type TraitObservation, type TraitSighting } from '../profiles/survivorship.js';

const Iso = Type.String({ format: 'date-time' });

export const AccountView = Type.Object({
  groupId: Type.String({ description: 'The group id of the group calls that name the account.' }),
  traits: Type.Object({}, { additionalProperties: true, description: 'Latest value of each trait by event timestamp (last write wins).' }),
  lineage: Type.Record(Type.String(), Type.Object({ source: Type.String(), messageId: Type.String(), eventId: Type.Integer(), time: Iso }), {
    description: 'Per trait: the group call that supplied the value.',
  }),
  profiles: Type.Array(
    Type.Object({ id: Type.String(), firstSeen: Iso, lastSeen: Iso, eventId: Type.Integer({ description: 'The first group call that linked the profile.' }) }),
    { description: 'Profiles whose group calls named the account, first linked first.' },
  ),
  firstSeen: Iso,
  lastSeen: Iso,
  createdAt: Iso,
});
export type AccountView = Static<typeof AccountView>;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The account a group call names and the traits it states about it (one entry per top-level trait, values
 * JSON-encoded like a profile's); undefined for other calls and for a blank group id.
 */
export function accountOf(message: { type: string; groupId?: string; traits?: Record<string, unknown> }): { groupId: string; traits: TraitSighting[] } | undefined {
  if (message.type !== 'group' || typeof message.groupId !== 'string') return undefined;
  const groupId = message.groupId.trim();
  if (groupId === '') return undefined;
  const traits: TraitSighting[] = [];
  if (isObject(message.traits)) {
    for (const [name, value] of Object.entries(message.traits)) if (value !== undefined) traits.push({ name, value: JSON.stringify(value) });
  }
  return { groupId, traits };
}

export interface SourceKeys {
  list(workspaceId: string): Promise<{ id: string; key: string }[]>;
}

/** Accounts (group entities): traits merged last-write-wins by event timestamp, with lineage, and their profiles. */
export class Accounts {
  constructor(
    private readonly identity: IdentityStore,
    private readonly sources: SourceKeys,
  ) {}

  async get(workspaceId: string, groupId: string): Promise<AccountView | undefined> {
    const record = await this.identity.account(workspaceId, groupId);
    return record && this.view(workspaceId, record);
  }

  async require(workspaceId: string, groupId: string): Promise<AccountView> {
    const account = await this.get(workspaceId, groupId);
    if (!account) throw notFound('account', groupId);
    return account;
  }

  /** Accounts whose group id starts with `q`, or with a trait whose latest value is `q`. */
  async search(workspaceId: string, q: string, limit: number): Promise<AccountView[]> {
    const values = [JSON.stringify(q)];
    if (q.trim() !== '' && Number.isFinite(Number(q))) values.push(JSON.stringify(Number(q)));
    if (q === 'true' || q === 'false') values.push(q);
    const out: AccountView[] = [];
    for (const groupId of await this.identity.searchAccounts(workspaceId, { identifierPrefix: q, traitValues: values }, limit)) {
      const a = await this.get(workspaceId, groupId);
      if (!a) continue;
      if (a.groupId.startsWith(q) || Object.values(a.traits).some((v) => values.includes(JSON.stringify(v)))) out.push(a);
    }
    return out;
  }

  /** Group ids of the accounts a profile is linked to. */
  async of(workspaceId: string, profileId: string): Promise<string[]> {
    return (await this.identity.accountLinks(workspaceId, profileId)).map((l) => l.groupId);
  }

  private async view(workspaceId: string, record: AccountRecord): Promise<AccountView> {
    const keys = new Map((await this.sources.list(workspaceId)).map((s) => [s.id, s.key]));
    const sourceKey = (id: string) => keys.get(id) ?? id;
    const byName = new Map<string, TraitObservation[]>();
    for (const o of record.traits) byName.set(o.name, [...(byName.get(o.name) ?? []), o]);
    const traits: Record<string, unknown> = {};
    const lineage: AccountView['lineage'] = {};
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    for (const [name, observations] of byName) {
      const winner = survive(observations, { rule: 'last' }, sourceKey)!;
      traits[name] = winner.value;
      lineage[name] = { source: sourceKey(winner.lineage.sourceId), messageId: winner.lineage.messageId, eventId: winner.lineage.eventId, time: iso(winner.lineage.at) };
    }
    for (const p of record.profiles) (first = Math.min(first, p.firstSeen), last = Math.max(last, p.lastSeen));
    for (const o of record.traits) (first = Math.min(first, o.first.at), last = Math.max(last, o.last.at));
    if (!Number.isFinite(first)) first = last = record.createdAt;
    return {
      groupId: record.groupId,
      traits,
      lineage,
      profiles: record.profiles.map((p) => ({ id: p.profileId, firstSeen: iso(p.firstSeen), lastSeen: iso(p.lastSeen), eventId: p.eventId })),
      firstSeen: iso(first),
      lastSeen: iso(last),
      createdAt: iso(record.createdAt),
    };
  }
}
