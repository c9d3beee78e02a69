import type { Clock } from '../core/clock.js';
import { badRequest, notFound } from '../core/errors.js';
import { sha256 } from '../core/ids.js';
import type { Log } from '../core/ports/log.js';
import type { ErasureCounts, PrivacyStore, SubscriptionChange, SubscriptionStatus } from '../core/ports/privacy.js';
import type { ConflictRecord, IdentityStore, MergeRecord, QuarantineItem, ResolvedEvent, Store, StoredEvent } from '../core/ports/store.js';
import type { Warehouse } from '../core/ports/warehouse.js';
import { extractIdentity } from '../identity/identifiers.js';
import { ANONYMOUS_ID, USER_ID, identifierKey, type EventIdentity, type Identifier } from '../identity/model.js';
import type { ResolveFilter } from '../identity/resolve-stage.js';
import type { ActiveIdentityRules } from '../identity/rules.js';
import type { Profiles, ProfileView } from './profiles.js';
import { SUBSCRIPTION_STATUSES, subscriptionChangesOf } from './subscriptions.js';

export const PRIVACY_KIND = 'privacy';
export const PRIVACY_KEY = 'default';

/** The workspace's `privacy` definition (key `default`). */
export interface PrivacySettings {
  key: string;
  /** suppress: events from a deleted person's identifiers are dropped (and erased); allow: they start a fresh profile. */
  afterDeletion: 'suppress' | 'allow';
}

export const defaultPrivacySettings = (): PrivacySettings => ({ key: PRIVACY_KEY, afterDeletion: 'suppress' });

/**
 * Later components that hold per-person state (journey instances, pending outbox messages, memberships) register
 * here; erase() calls each inside the same exclusive turn, after the Store's transaction.
 */
export interface ErasureHook {
  name: string;
  erase(workspaceId: string, profileIds: string[], identifiers: Identifier[]): Promise<number>;
}

/** What the stages offer privacy: drain the backlog, and run between resolve batches (the graph's one writer). */
export interface Pipeline {
  drain(): Promise<void>;
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
}

export interface SubscriptionState {
  status: SubscriptionStatus;
  at: string;
  source: SubscriptionChange['source'];
  messageId?: string;
}

export interface PrivacyDeps {
  store: Store;
  privacy: PrivacyStore;
  identity: IdentityStore;
  profiles: Profiles;
  rules: ActiveIdentityRules;
  warehouse: Warehouse;
  log: Log;
  clock: Clock;
  pipeline: Pipeline;
  onError?: (message: string) => void;
}

export const tombstoneHash = (i: Identifier): string => sha256(`${i.type}:${i.value}`);
const iso = (ms: number) => new Date(ms).toISOString();
const PAGE = 1000;

/**
 * Privacy operations (issue 3, part 6): erasure with tombstones, export, consent and subscriptions.
 * See docs/decisions/0005-privacy-deletion.md for how erasure avoids racing the stages.
 */
export class Privacy implements ResolveFilter {
  readonly hooks: ErasureHook[] = [];
  private readonly subscriptionListeners: ((workspaceId: string, profileId: string) => void)[] = [];

  /** Told after a subscription change through the API (an unsubscribe link included) is stored. */
  onSubscriptionChange(listener: (workspaceId: string, profileId: string) => void): void {
    this.subscriptionListeners.push(listener);
  }
  private tombstones = new Map<string, Promise<Set<string>>>();
  private settings = new Map<string, Promise<PrivacySettings>>();
  /** Suppressed events found by the resolve filter, erased once their batch has committed. */
  private suppressed = new Map<number, string>();
  /** Follow-up erasures (warehouse, log) run one at a time. */
  private followUps: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: PrivacyDeps) {}

  /* ---- settings ---- */

  async settingsFor(workspaceId: string): Promise<PrivacySettings> {
    let s = this.settings.get(workspaceId);
    if (!s) {
      s = this.deps.store.definitions.get<PrivacySettings>(workspaceId, PRIVACY_KIND, PRIVACY_KEY).then((d) => ({ ...defaultPrivacySettings(), ...d?.body }));
      this.settings.set(workspaceId, s);
      s.catch(() => this.settings.delete(workspaceId));
    }
    return s;
  }

  invalidate(workspaceId: string): void {
    this.settings.delete(workspaceId);
  }

  /* ---- suppression (called by the resolve stage for each batch) ---- */

  async dropped(workspaceId: string, identities: EventIdentity[]): Promise<boolean[] | undefined> {
    const hashes = await this.tombstonesOf(workspaceId);
    if (hashes.size === 0) return undefined; // the common case costs no hashing
    if ((await this.settingsFor(workspaceId)).afterDeletion === 'allow') return undefined;
    return identities.map((identity) => {
      const candidates = identity.previousId === undefined ? identity.identifiers : [...identity.identifiers, { type: ANONYMOUS_ID, value: identity.previousId }, { type: USER_ID, value: identity.previousId }];
      const hit = candidates.some((i) => hashes.has(tombstoneHash(i)));
      if (hit) this.suppressed.set(identity.eventId, workspaceId);
      return hit;
    });
  }

  /** The resolve stage's listener: suppressed events are erased from the store, warehouse and log too. */
  onResolved(events: ResolvedEvent[]): void {
    if (this.suppressed.size === 0) return;
    const byWorkspace = new Map<string, { id: number; messageId: string }[]>();
    for (const e of events) {
      const ws = this.suppressed.get(e.resolution.eventId);
      if (ws === undefined) continue;
      this.suppressed.delete(e.resolution.eventId);
      byWorkspace.set(ws, [...(byWorkspace.get(ws) ?? []), { id: e.resolution.eventId, messageId: e.messageId }]);
    }
    for (const [ws, list] of byWorkspace) {
      this.followUp(async () => {
        await this.deps.privacy.eraseEvents(ws, list);
        await this.resume();
      });
    }
  }

  private tombstonesOf(workspaceId: string): Promise<Set<string>> {
    let t = this.tombstones.get(workspaceId);
    if (!t) {
      t = this.deps.privacy.tombstones(workspaceId).then((h) => new Set(h));
      this.tombstones.set(workspaceId, t);
      t.catch(() => this.tombstones.delete(workspaceId));
    }
    return t;
  }

  private followUp(fn: () => Promise<void>): Promise<void> {
    const run = this.followUps.then(fn);
    this.followUps = run.catch((error: Error) => this.deps.onError?.(`privacy erasure follow-up failed (retried on next start): ${error.message}`));
    return run;
  }

  /** Finishes recorded erasures in the warehouse and the log (after a crash, or after the Store's transaction). */
  async resume(): Promise<number> {
    let removed = 0;
    const pending = await this.deps.privacy.pending();
    if (pending.length === 0) return 0;
    for (const p of pending) {
      for (let i = 0; i < p.eventIds.length; i += PAGE) {
        const chunk = p.eventIds.slice(i, i + PAGE);
        await this.deps.warehouse.query(`DELETE FROM events WHERE workspace_id = ? AND id IN (${chunk.map(() => '?').join(', ')})`, [p.workspaceId, ...chunk]);
      }
      removed += await this.deps.log.forget(p.workspaceId, p.messageIds);
    }
    // One compaction for all pending erasures: deleted rows' bytes stay in a DuckDB file until it is rewritten.
    await this.deps.warehouse.compact();
    for (const p of pending) await this.deps.privacy.done(p.id);
    return removed;
  }

  /** At start: finishes erasures a crash left half done. */
  recover(): Promise<void> {
    return this.followUp(async () => {
      await this.resume();
    });
  }

  /** Waits for follow-up erasures (tests). */
  async idle(): Promise<void> {
    await this.followUps;
  }

  /* ---- erasure ---- */

  async erase(workspaceId: string, id: string, actor: string): Promise<{ profile: string; erased: ErasureCounts & { logMessages: number; complete: boolean; hooks: Record<string, number> } }> {
    // Events already in the log belong to the person's past: let the stages store and resolve them first.
    await this.deps.pipeline.drain();
    const result = await this.deps.pipeline.exclusive(async () => {
      const canonical = await this.deps.identity.canonical(workspaceId, id);
      const record = canonical === undefined ? undefined : await this.deps.identity.profile(workspaceId, canonical);
      if (!record) throw notFound('profile', id);
      const profileIds = await this.deps.privacy.profileIds(workspaceId, record.id);
      const identifiers: Identifier[] = record.identifiers.map((i) => ({ type: i.type, value: i.value }));
      const events = await this.deps.privacy.eventRefs(workspaceId, profileIds);
      const quarantine = await this.quarantineOf(workspaceId, identifiers, new Set(events.map((e) => e.messageId)));
      const messageIds = [...new Set([...events.map((e) => e.messageId), ...quarantine.map((q) => q.messageId)])];
      const { counts } = await this.deps.privacy.erase({
        workspaceId,
        profileIds,
        identifiers,
        eventIds: events.map((e) => e.id),
        messageIds,
        quarantineIds: quarantine.map((q) => q.id),
        tombstones: identifiers.map(tombstoneHash),
        at: this.deps.clock.now(),
      });
      // Separations and blocks made by unmerging the person went with them: the rules reload their constraints.
      this.deps.rules.invalidate(workspaceId);
      const cached = await this.tombstonesOf(workspaceId);
      for (const i of identifiers) cached.add(tombstoneHash(i));
      // Hook for later per-person state (journey instances, pending messages): see ErasureHook.
      const hooks: Record<string, number> = {};
      for (const hook of this.hooks) hooks[hook.name] = await hook.erase(workspaceId, profileIds, identifiers);
      return { profile: record.id, counts, hooks };
    });
    let logMessages = 0;
    let complete = true;
    try {
      await this.followUp(async () => {
        logMessages = await this.resume();
      });
    } catch {
      complete = false; // recorded as pending in the Store: resumed on the next start
    }
    const erased = { ...result.counts, logMessages, complete, hooks: result.hooks };
    // The audit names the profile id and counts, never an identifier: it must not keep what was erased.
    await this.deps.store.audit.add({ workspaceId, actor, action: 'profile.delete', target: result.profile, detail: erased }, this.deps.clock.now());
    return { profile: result.profile, erased };
  }

  /** Quarantined messages carrying one of the identifiers (or one of the person's message ids). */
  private async quarantineOf(workspaceId: string, identifiers: Identifier[], messageIds: Set<string>): Promise<QuarantineItem[]> {
    const keys = new Set(identifiers.map(identifierKey));
    const rules = await this.deps.rules.for(workspaceId);
    const out: QuarantineItem[] = [];
    for (let before: number | undefined; ; ) {
      const page = await this.deps.store.quarantine.list(workspaceId, { limit: PAGE, before });
      for (const q of page) {
        let mine = messageIds.has(q.messageId);
        if (!mine) {
          try {
            mine = extractIdentity(0, q.message, rules).identifiers.some((i) => keys.has(identifierKey(i)));
          } catch {
            // A malformed held message: fall back to looking for the values in its text.
            const text = JSON.stringify(q.message);
            mine = identifiers.some((i) => text.includes(i.value));
          }
        }
        if (mine) out.push(q);
      }
      if (page.length < PAGE) return out;
      before = page[page.length - 1].id;
    }
  }

  /* ---- export ---- */

  async export(workspaceId: string, id: string, actor: string) {
    const profile = await this.deps.profiles.get(workspaceId, id);
    if (!profile) throw notFound('profile', id);
    const record = (await this.deps.identity.profile(workspaceId, profile.id))!;
    const profileIds = await this.deps.privacy.profileIds(workspaceId, profile.id);
    const events = await this.allEvents(workspaceId, profile.id);
    const merges: MergeRecord[] = await this.deps.identity.merges(workspaceId, profile.id);
    const conflicts: ConflictRecord[] = await this.deps.identity.conflicts(workspaceId, { profileId: profile.id, limit: 100_000 });
    const accounts = await this.deps.identity.accountLinks(workspaceId, profile.id);
    const unmerges = await this.deps.identity.unmerges(workspaceId, profile.id);
    const identifiers = record.identifiers.map((i) => ({ type: i.type, value: i.value }));
    const quarantine = await this.quarantineOf(workspaceId, identifiers, new Set(events.map((e) => e.message.messageId)));
    const subscriptions = await this.subscriptionsFrom(workspaceId, profileIds, events);
    await this.deps.store.audit.add({ workspaceId, actor, action: 'profile.export', target: profile.id, detail: { events: events.length } }, this.deps.clock.now());
    return {
      exportedAt: iso(this.deps.clock.now()),
      profile,
      profileIds,
      identifiers: record.identifiers.map((i) => ({ type: i.type, value: i.value, firstSeen: iso(i.firstSeen), lastSeen: iso(i.lastSeen), eventId: i.eventId })),
      traits: record.traits.map((t) => ({ name: t.name, value: JSON.parse(t.value) as unknown, sourceId: t.sourceId, count: t.count, first: { ...t.first, at: iso(t.first.at) }, last: { ...t.last, at: iso(t.last.at) } })),
      events: events.map((e) => ({ id: e.id, sourceId: e.sourceId, violations: e.violations, message: e.message })),
      merges: merges.map((m) => ({ ...m, at: iso(m.at) })),
      conflicts: conflicts.map((c) => ({ ...c, at: iso(c.at) })),
      accounts: accounts.map((a) => ({ groupId: a.groupId, firstSeen: iso(a.firstSeen), lastSeen: iso(a.lastSeen), eventId: a.eventId })),
      unmerges: unmerges.map((u) => ({ ...u, at: iso(u.at) })),
      subscriptions: subscriptions.current,
      subscriptionHistory: subscriptions.history,
      quarantine: quarantine.map((q) => ({ id: q.id, messageId: q.messageId, reasons: q.reasons, status: q.status, message: q.message, receivedAt: iso(q.receivedAt) })),
    };
  }

  private async allEvents(workspaceId: string, profileId: string): Promise<StoredEvent[]> {
    const out: StoredEvent[] = [];
    for (let before: number | undefined; ; ) {
      const page = await this.deps.identity.timeline(workspaceId, profileId, { before, limit: PAGE });
      out.push(...page);
      if (page.length < PAGE) return out.reverse();
      before = page[page.length - 1].id;
    }
  }

  /* ---- consent and subscriptions ---- */

  /**
   * The person's subscription state per group: the latest change by time wins, whichever way it came
   * (identify `traits.subscriptions`, `Subscribed` / `Unsubscribed` events with `properties.group`, the API).
   */
  async subscriptions(workspaceId: string, profile: Pick<ProfileView, 'id'>): Promise<Record<string, SubscriptionState>> {
    const profileIds = await this.deps.privacy.profileIds(workspaceId, profile.id);
    return (await this.subscriptionsFrom(workspaceId, profileIds, await this.deps.privacy.subscriptionEvents(workspaceId, profile.id))).current;
  }

  /** By any profile id (follows merges). */
  async subscriptionsOf(workspaceId: string, id: string): Promise<Record<string, SubscriptionState>> {
    const canonical = await this.deps.identity.canonical(workspaceId, id);
    if (canonical === undefined) throw notFound('profile', id);
    return this.subscriptions(workspaceId, { id: canonical });
  }

  async setSubscription(workspaceId: string, id: string, group: string, status: string, actor: string): Promise<Record<string, SubscriptionState>> {
    if (!SUBSCRIPTION_STATUSES.has(status)) throw badRequest('invalid_status', "status must be 'subscribed' or 'unsubscribed'", 'status');
    const canonical = await this.deps.identity.canonical(workspaceId, id);
    if (canonical === undefined) throw notFound('profile', id);
    const at = this.deps.clock.now();
    await this.deps.privacy.addSubscriptionChange(workspaceId, canonical, { group, status: status as SubscriptionStatus, at, source: 'api', actor });
    for (const listener of this.subscriptionListeners) listener(workspaceId, canonical);
    await this.deps.store.audit.add({ workspaceId, actor, action: 'profile.subscription', target: canonical, detail: { group, status } }, at);
    return this.subscriptions(workspaceId, { id: canonical });
  }

  private async subscriptionsFrom(workspaceId: string, profileIds: string[], events: StoredEvent[]) {
    const history: SubscriptionChange[] = [];
    for (const e of events) history.push(...subscriptionChangesOf(e));
    history.push(...(await this.deps.privacy.subscriptionChanges(workspaceId, profileIds)));
    history.sort((a, b) => a.at - b.at); // stable: at equal times, events before API changes, in stored order
    const current: Record<string, SubscriptionState> = {};
    for (const c of history) current[c.group] = { status: c.status, at: iso(c.at), source: c.source, ...(c.messageId ? { messageId: c.messageId } : {}) };
    return { current, history: history.map((c) => ({ ...c, at: iso(c.at) })) };
  }
}
