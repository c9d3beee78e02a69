import { randomBytes } from 'node:crypto';
import { evaluate, type CatalogLookup, type ProfileView as ConditionProfile } from '../conditions/index.js';
import type { Clock } from '../core/clock.js';
import { badRequest } from '../core/errors.js';
import type { Store, StoredEvent } from '../core/ports/store.js';
import { unitInterval } from '../experiments/assign.js';
import type { LeanParts, LeanProfile } from '../profiles/lean-view.js';
import type { DecisionRecord, PersonalizeStore } from '../storage/sqlite/personalize-store.js';
import { requestContext, type ContextInput, type RequestContext } from './context.js';
import { compileDecision, DECISION_ID_PROPERTY, DECISION_KIND, type CompiledDecision, type DecisionBody } from './definition.js';
import { expose, PERSONALIZATION_KIND, type Exposed, type PersonalizationBody } from './exposure.js';
import { featureValues, INTERCEPT, vectorOf } from './features.js';
import type { GeoDatabase } from './geo.js';
import { newArm, observe, posterior, reward, type ArmModel, type ArmPosterior } from './linear-bandit.js';
import { choose } from './policy.js';
import type { PersonalizeWrite, RelayedReward } from './relayed-store.js';
import { decisionResults, type DecisionResults } from './results.js';

export interface PersonalizeRequest {
  userId?: string;
  anonymousId?: string;
  context?: ContextInput;
  /** Decision point keys, answered in this order. */
  decisions?: string[];
}

export interface DecisionAnswer {
  /** Names the decision in a reward event (property decision_id); absent when nothing was decided. */
  id?: string;
  offer: { key: string; content: Record<string, unknown> } | null;
  group?: 'policy' | 'holdout';
  /** Why no offer: not_targeted (the decision's condition) or no_eligible_offer. */
  reason?: 'not_targeted' | 'no_eligible_offer';
}

export interface PersonalizeAnswer extends Exposed {
  known: boolean;
  context?: RequestContext;
  decisions: Record<string, DecisionAnswer>;
}

export interface PersonalizerDeps {
  definitions: Store['definitions'];
  /** The lean read (src/profiles/lean-view.ts): one identifier lookup, the profile's traits, memberships, values and consent. */
  profiles: { lookup(workspaceId: string, type: string, value: string, parts?: LeanParts): Promise<LeanProfile | undefined> };
  catalogs: (workspaceId: string) => CatalogLookup;
  store: PersonalizeStore;
  clock: Clock;
  geo?: GeoDatabase;
  /** Thompson sampling and random holdout control draws (seeded in tests). */
  random?: () => number;
  /**
   * Called first thing in every personalize call, before any read: the front thread drops what it cached from
   * store.db when another connection committed since (src/personalize/snapshot.ts).
   */
  beginRead?(): void;
  /**
   * How long answered decisions wait to be written together (default 20 ms). Each write is one transaction (on the
   * front thread: one message to the core, one commit there); a crash loses at most this much of the log.
   */
  writeDelayMs?: number;
  onError(message: string): void;
  /**
   * Set on the core thread of `tandem start`, where the front thread answers /v1/personalize and holds the bandit
   * models: rewards the events stage stores, and definition changes, go to it (docs/personalization.md#threads).
   */
  relay?: { rewards(rewards: RelayedReward[]): void; changed(workspaceId: string, kind?: string, key?: string, deleted?: boolean): void };
}

interface Workspace {
  settings: PersonalizationBody | undefined;
  decisions: Map<string, CompiledDecision>;
}

interface Bandit {
  signature: string;
  arms: Map<string, { model: ArmModel; post?: ArmPosterior }>;
  dirty: boolean;
}

/**
 * `POST /v1/personalize` (docs/personalization.md): answers from the fast loop's state (identity lookup, the apply
 * stage's memberships and computed values, cached definitions and catalog rows), never the warehouse. Every
 * decision is logged with the features and scores that chose it; rewards come from tracked events the events
 * stage stores (`onStored`).
 */
export class Personalizer {
  private readonly workspaces = new Map<string, Promise<Workspace>>();
  private readonly bandits = new Map<string, Bandit>();
  private random: () => number;
  private timer: NodeJS.Timeout | undefined;
  /** Decisions answered but not yet in the log (written together, every few milliseconds), by id. */
  private readonly pending = new Map<string, DecisionRecord>();
  /** Their impressions per workspace, decision, visitor and offer, which caps count with the written ones. */
  private readonly pendingImpressions = new Map<string, number>();
  private writeTimer: NodeJS.Timeout | undefined;
  /** Profiles erased in the last minute (core thread): decisions relayed for them afterwards are dropped. */
  private readonly erased = new Map<string, number>();

  constructor(private readonly deps: PersonalizerDeps) {
    this.random = deps.random ?? Math.random;
  }

  /** Replaces the source of randomness (Thompson draws, random holdout control): a seeded one makes a simulation repeatable. */
  useRandom(random: () => number): void {
    this.random = random;
  }

  /** Saves learned bandit models every second (a crash loses at most that much learning; the decision log stays). */
  start(): void {
    this.timer = setInterval(() => this.flush(), 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.writeTimer) clearTimeout(this.writeTimer);
    this.timer = undefined;
    this.writeTimer = undefined;
    this.writeDecisions();
    this.flush();
  }

  /**
   * Writes the answered decisions in one transaction. One commit per request would cost more than the rest of the
   * answer; a crash loses at most the last few milliseconds of decisions (their rewards then find no decision).
   * On failure (a busy database) they stay queued and the write is retried.
   */
  writeDecisions(): boolean {
    if (this.writeTimer) clearTimeout(this.writeTimer);
    this.writeTimer = undefined;
    if (this.pending.size === 0) return true;
    const rows = [...this.pending.values()];
    try {
      this.deps.store.record(rows);
    } catch (error) {
      this.deps.onError(`personalize: writing ${rows.length} decisions failed (will retry): ${(error as Error).message}`);
      this.scheduleWrite(200);
      return false;
    }
    for (const r of rows) {
      this.pending.delete(r.id);
      if (r.offer === null) continue;
      const key = impressionKey(r.workspaceId, r.decision, r.visitor, r.offer);
      const n = (this.pendingImpressions.get(key) ?? 1) - 1;
      if (n > 0) this.pendingImpressions.set(key, n);
      else this.pendingImpressions.delete(key);
    }
    return true;
  }

  private scheduleWrite(ms = this.deps.writeDelayMs ?? 20): void {
    if (this.writeTimer) return;
    this.writeTimer = setTimeout(() => this.writeDecisions(), ms);
    this.writeTimer.unref();
  }

  private queue(records: DecisionRecord[]): void {
    for (const r of records) {
      this.pending.set(r.id, r);
      if (r.offer === null) continue;
      const key = impressionKey(r.workspaceId, r.decision, r.visitor, r.offer);
      this.pendingImpressions.set(key, (this.pendingImpressions.get(key) ?? 0) + 1);
    }
    this.scheduleWrite();
  }

  /**
   * Impressions per offer to a visitor within a window, the written ones and those still queued (a queued decision
   * is at most a few milliseconds old, so inside every window).
   */
  private impressions(workspaceId: string, decision: string, visitor: string, since: number): (offer: string) => number {
    const written = this.deps.store.impressions(workspaceId, decision, visitor, since);
    return (offer) => (written.get(offer) ?? 0) + (this.pendingImpressions.get(impressionKey(workspaceId, decision, visitor, offer)) ?? 0);
  }

  /** A decision or the settings changed (API or apply): definitions are read again; a deleted decision's log goes. */
  changed(workspaceId: string, kind?: string, key?: string, deleted = false): void {
    this.workspaces.delete(workspaceId);
    this.deps.relay?.changed(workspaceId, kind, key, deleted);
    if (kind === DECISION_KIND && key !== undefined) {
      this.flush();
      this.bandits.delete(`${workspaceId}\u0000${key}`);
      if (deleted) {
        this.writeDecisions();
        this.deps.store.forget(workspaceId, key);
      }
    }
  }

  async personalize(workspaceId: string, request: PersonalizeRequest, meta: { ip?: string; userAgent?: string } = {}): Promise<PersonalizeAnswer> {
    const visitor = request.userId ?? request.anonymousId;
    if (visitor === undefined || visitor === '') throw badRequest('missing_id', 'userId or anonymousId is required', 'anonymousId');
    this.deps.beginRead?.();
    const ws = await this.workspace(workspaceId);
    const keys = request.decisions ?? [];
    keys.forEach((key, i) => {
      if (!ws.decisions.has(key)) throw badRequest('unknown_decision', `decisions[${i}]: decision '${key}' does not exist`, `decisions[${i}]`);
    });
    const now = this.deps.clock.now();
    // Consent is read only when a condition of the decisions asked for reads it (two queries of a call otherwise).
    const profile = await this.profileOf(workspaceId, request, { subscriptions: keys.some((key) => ws.decisions.get(key)!.readsConsent) });
    const context = requestContext(request.context ?? {}, meta, now, this.deps.geo);
    const catalogs = this.deps.catalogs(workspaceId);
    const base = conditionProfile(profile, visitor);
    const view: ConditionProfile = { ...base, traits: { ...base.traits, context } };

    const records: DecisionRecord[] = [];
    const decisions: Record<string, DecisionAnswer> = {};
    for (const key of keys) {
      const decision = ws.decisions.get(key)!;
      const { answer, record } = this.decide(workspaceId, decision, { visitor, profileId: profile?.id ?? null, view, context, catalogs, now });
      decisions[key] = answer;
      if (record) records.push(record);
    }
    if (records.length) this.queue(records);

    const exposed = expose(ws.settings, { audiences: profile?.audiences ?? [], traits: profile?.traits ?? {}, computed: profile?.computed ?? {} });
    return { known: profile !== undefined, ...exposed, ...(ws.settings?.context === false ? {} : { context }), decisions };
  }

  /** Rewards: a tracked event that names a decision (property decision_id) and is one of its reward events. */
  onStored(events: StoredEvent[]): void {
    const rewards: RelayedReward[] = [];
    for (const e of events) {
      const id = e.message.properties?.[DECISION_ID_PROPERTY];
      if (e.message.type !== 'track' || typeof id !== 'string' || typeof e.message.event !== 'string') continue;
      rewards.push({ workspaceId: e.workspaceId, id, event: e.message.event, at: Date.parse(e.message.timestamp) });
    }
    if (rewards.length === 0) return;
    if (this.deps.relay) return this.deps.relay.rewards(rewards);
    this.reward(rewards);
  }

  /** Records rewards (from onStored here, or relayed from the core thread to the front). */
  reward(rewards: RelayedReward[]): void {
    for (const r of rewards) {
      this.rewardEvent(r.workspaceId, r.id, r.event, r.at).catch((error: Error) => this.deps.onError(`personalize: reward of decision ${r.id} failed: ${error.message}`));
    }
  }

  /**
   * Core thread: writes relayed by the front (RelayedPersonalizeStore), in one transaction per message. Decisions
   * of a profile erased in the last minute are dropped: the front may have answered them just before the erasure.
   */
  applyRelayed(writes: PersonalizeWrite[]): void {
    const store = this.deps.store;
    for (const w of writes) {
      if (w.op === 'record') {
        const rows = this.erased.size ? w.rows.filter((r) => r.profileId === null || !this.erased.has(`${r.workspaceId}\u0000${r.profileId}`)) : w.rows;
        if (rows.length) store.record(rows);
      } else if (w.op === 'reward') store.reward(w.workspaceId, w.id, w.value, w.event, w.at);
      else if (w.op === 'saveModels') store.saveModels(w.workspaceId, w.decision, w.models, w.at);
      else store.forget(w.workspaceId, w.decision);
    }
  }

  /** Records one reward (from onStored, or a simulation); true when it counted. */
  async rewardEvent(workspaceId: string, id: string, event: string, at: number): Promise<boolean> {
    const record = this.pending.get(id) ?? this.deps.store.get(workspaceId, id);
    if (!record || record.workspaceId !== workspaceId || record.offer === null) return false;
    // The decision as it is now: a reward event removed from the definition no longer counts.
    return this.applyReward(await this.workspace(workspaceId), record, event, at);
  }

  /** Holdout lift and per-offer totals of a decision (decisions at or after `since`). */
  results(workspaceId: string, key: string, since = 0): DecisionResults {
    this.writeDecisions();
    return decisionResults(this.deps.store.totals(workspaceId, key, since));
  }

  log(workspaceId: string, key: string, limit: number): DecisionRecord[] {
    this.writeDecisions();
    return this.deps.store.list(workspaceId, key, limit);
  }

  /** Erasure: the profiles' decisions go (decisions made before a visitor had a profile carry only the visitor id). */
  eraseProfiles(workspaceId: string, profileIds: string[]): number {
    this.writeDecisions();
    const now = this.deps.clock.now();
    for (const [key, at] of this.erased) if (at < now - 60_000) this.erased.delete(key);
    if (this.deps.relay) for (const id of profileIds) this.erased.set(`${workspaceId}\u0000${id}`, now);
    return this.deps.store.eraseProfiles(workspaceId, profileIds);
  }

  /** Saves bandit models that learned since the last save. */
  flush(): void {
    for (const [id, bandit] of this.bandits) {
      if (!bandit.dirty) continue;
      const [workspaceId, decision] = id.split('\u0000');
      this.deps.store.saveModels(workspaceId, decision, [...bandit.arms].map(([offer, arm]) => ({ offer, signature: bandit.signature, model: arm.model })), this.deps.clock.now());
      bandit.dirty = false;
    }
  }

  private applyReward(ws: Workspace, record: DecisionRecord, event: string, at: number): boolean {
    const decision = ws.decisions.get(record.decision);
    const spec = decision?.body.reward?.events.find((r) => r.event === event);
    if (!decision || !spec) return false;
    // Within the window after the decision (a little clock skew before it is tolerated).
    if (!(at >= record.at - 60_000 && at <= record.at + decision.rewardWithinMs)) return false;
    const value = spec.value ?? 1;
    const queued = this.pending.get(record.id);
    if (queued) {
      if (queued.reward !== null) return false;
      Object.assign(queued, { reward: value, rewardEvent: event, rewardedAt: this.deps.clock.now() });
    } else if (!this.deps.store.reward(record.workspaceId, record.id, value, event, this.deps.clock.now())) return false;
    if (record.group !== 'policy' || decision.body.policy.type !== 'bandit' || record.features === null || record.offer === null) return true;
    // Features logged under another definition of them would train the wrong coefficients.
    if (Object.keys(record.features).join(',') !== [INTERCEPT, ...decision.features.map((f) => f.key)].join(',')) return true;
    const bandit = this.bandit(record.workspaceId, decision);
    const arm = this.arm(bandit, decision, record.offer);
    reward(arm.model, vectorOf(decision, record.features), value);
    arm.post = undefined;
    bandit.dirty = true;
    return true;
  }

  private decide(
    workspaceId: string,
    decision: CompiledDecision,
    r: { visitor: string; profileId: string | null; view: ConditionProfile; context: RequestContext; catalogs: CatalogLookup; now: number },
  ): { answer: DecisionAnswer; record?: DecisionRecord } {
    // One view with the candidate offer under traits.offer, set before each offer's condition is evaluated (the
    // evaluation is synchronous and keeps nothing): not two copies of the profile view per offer.
    const offerTraits: Record<string, unknown> = { ...r.view.traits, offer: undefined };
    const offerView: ConditionProfile = { ...r.view, traits: offerTraits };
    const events: never[] = [];
    const holds = (condition: Parameters<typeof evaluate>[0], offer?: Record<string, unknown>) => {
      if (offer) offerTraits.offer = offer;
      return evaluate(condition, { profile: offer ? offerView : r.view, events, now: r.now, catalogs: r.catalogs });
    };
    if (decision.condition && !holds(decision.condition)) return { answer: { offer: null, reason: 'not_targeted' } };

    const eligible: string[] = [];
    const ineligible: Record<string, string> = {};
    // One count per cap window (usually one: the decision's), asked only once an offer with that cap is otherwise eligible.
    const shown = new Map<number, (offer: string) => number>();
    const shownWithin = (ms: number) => {
      let counts = shown.get(ms);
      if (!counts) shown.set(ms, (counts = this.impressions(workspaceId, decision.key, r.visitor, r.now - ms)));
      return counts;
    };
    for (const offer of decision.offers) {
      if (offer.parsed && !holds(offer.parsed, { key: offer.key, attributes: (offer.attributes ?? {}) as Record<string, unknown> })) {
        ineligible[offer.key] = 'condition';
        continue;
      }
      if (offer.capMax !== undefined && shownWithin(offer.capMs!)(offer.key) >= offer.capMax) {
        ineligible[offer.key] = 'cap';
        continue;
      }
      eligible.push(offer.key);
    }

    const holdout = decision.body.holdout;
    const inHoldout = holdout !== undefined && holdout.percent > 0 && bucketOf(holdout.salt ?? decision.key, r.visitor) < holdout.percent / 100;
    const policy = decision.body.policy;
    let features: Record<string, number> | null = null;
    let chosen: { offer: string | undefined; scores: Record<string, Record<string, number>> };
    if (inHoldout) {
      const control = holdout.control ?? 'random';
      chosen = { offer: eligible.length === 0 ? undefined : control === 'first' ? eligible[0] : eligible[Math.floor(this.random() * eligible.length)], scores: {} };
    } else if (policy.type === 'bandit') {
      features = featureValues(decision, { view: r.view, context: r.context as unknown as Record<string, unknown>, now: r.now, catalogs: r.catalogs });
      const bandit = this.bandit(workspaceId, decision);
      const x = vectorOf(decision, features);
      chosen = choose(decision, eligible, { computed: r.view.computed, x, random: this.random, posterior: (offer) => this.posteriorOf(bandit, decision, offer) });
      if (chosen.offer !== undefined) {
        const arm = this.arm(bandit, decision, chosen.offer);
        observe(arm.model, x);
        arm.post = undefined;
        bandit.dirty = true;
      }
    } else {
      chosen = choose(decision, eligible, { computed: r.view.computed, random: this.random });
    }

    const offer = chosen.offer === undefined ? undefined : decision.offers.find((o) => o.key === chosen.offer)!;
    const record: DecisionRecord = {
      id: `dcn_${randomId(r.now)}`,
      workspaceId, decision: decision.key, version: decision.version, visitor: r.visitor, profileId: r.profileId,
      group: inHoldout ? 'holdout' : 'policy', offer: offer?.key ?? null, policy: inHoldout ? `holdout:${holdout!.control ?? 'random'}` : policy.type,
      features, scores: chosen.scores, ineligible, at: r.now, reward: null, rewardedAt: null, rewardEvent: null,
    };
    return {
      answer: {
        id: record.id,
        offer: offer ? { key: offer.key, content: (offer.content ?? {}) as Record<string, unknown> } : null,
        group: record.group,
        ...(offer ? {} : { reason: 'no_eligible_offer' as const }),
      },
      record,
    };
  }

  private bandit(workspaceId: string, decision: CompiledDecision): Bandit {
    const id = `${workspaceId}\u0000${decision.key}`;
    let bandit = this.bandits.get(id);
    if (bandit && bandit.signature !== decision.signature) bandit = undefined;
    if (!bandit) {
      bandit = { signature: decision.signature, arms: new Map(), dirty: false };
      // Models learned under other features (or another algorithm's prior) start again.
      for (const m of this.deps.store.models(workspaceId, decision.key)) if (m.signature === decision.signature) bandit.arms.set(m.offer, { model: m.model as ArmModel });
      this.bandits.set(id, bandit);
    }
    return bandit;
  }

  private arm(bandit: Bandit, decision: CompiledDecision, offer: string) {
    let arm = bandit.arms.get(offer);
    if (!arm) {
      const lambda = decision.body.policy.type === 'bandit' ? (decision.body.policy.lambda ?? 1) : 1;
      arm = { model: newArm(decision.features.length + 1, lambda) };
      bandit.arms.set(offer, arm);
    }
    return arm;
  }

  private posteriorOf(bandit: Bandit, decision: CompiledDecision, offer: string): ArmPosterior {
    const arm = this.arm(bandit, decision, offer);
    arm.post ??= posterior(arm.model);
    return arm.post;
  }

  private async profileOf(workspaceId: string, request: PersonalizeRequest, parts: LeanParts): Promise<LeanProfile | undefined> {
    if (request.userId) {
      const p = await this.deps.profiles.lookup(workspaceId, 'user_id', request.userId, parts);
      if (p) return p;
    }
    return request.anonymousId ? this.deps.profiles.lookup(workspaceId, 'anonymous_id', request.anonymousId, parts) : undefined;
  }

  private workspace(workspaceId: string): Promise<Workspace> {
    let ws = this.workspaces.get(workspaceId);
    if (!ws) {
      ws = (async () => {
        const settings = await this.deps.definitions.get<PersonalizationBody>(workspaceId, PERSONALIZATION_KIND, 'default');
        const decisions = new Map<string, CompiledDecision>();
        for (const d of await this.deps.definitions.list<DecisionBody>(workspaceId, DECISION_KIND)) {
          try {
            decisions.set(d.key, compileDecision(d.body, d.version));
          } catch (error) {
            this.deps.onError(`personalize: decision '${d.key}' cannot be used: ${(error as Error).message}`);
          }
        }
        return { settings: settings?.body, decisions };
      })();
      ws.catch(() => this.workspaces.delete(workspaceId));
      this.workspaces.set(workspaceId, ws);
    }
    return ws;
  }
}

/** The profile as conditions read it (an unknown visitor: no traits, memberships or consent). */
function conditionProfile(profile: LeanProfile | undefined, visitor: string): ConditionProfile {
  if (!profile) return { id: visitor, traits: {}, computed: {}, identifiers: [], audiences: [], subscriptions: {} };
  return { id: profile.id, traits: profile.traits, computed: profile.computed, identifiers: profile.identifiers, audiences: profile.audiences, subscriptions: profile.subscriptions };
}

/**
 * The time in milliseconds (9 base-36 digits, so ids sort by time) then 12 random bytes as base64url (the id stays
 * unguessable), from a pool: a randomBytes call per decision cost about a fifth of deciding (profiled). The time
 * first makes the log's unique index on ids grow at its end: wholly random ids put each new row on another index
 * page, and every page a commit touches is written to the WAL and copied back by the checkpoint (profiled: the
 * decision log's writes were a third of the process's CPU under load).
 */
let pool = '';
let poolAt = 0;
function randomId(now: number): string {
  // 12 bytes are 16 base64url characters: the pool is encoded once, each id slices its own 16.
  if (poolAt + 16 > pool.length) (pool = randomBytes(12 * 512).toString('base64url')), (poolAt = 0);
  poolAt += 16;
  return `${Math.max(0, Math.floor(now)).toString(36).padStart(9, '0')}${pool.slice(poolAt - 16, poolAt)}`;
}

/** unitInterval (an MD5 per call), remembered for the visitors seen lately: a visitor's bucket never changes. */
const buckets = new Map<string, number>();
function bucketOf(salt: string, visitor: string): number {
  const key = `${salt}\u0000${visitor}`;
  let u = buckets.get(key);
  if (u === undefined) {
    if (buckets.size >= 10_000) buckets.clear();
    buckets.set(key, (u = unitInterval(salt, visitor)));
  }
  return u;
}

const impressionKey = (workspaceId: string, decision: string, visitor: string, offer: string) => `${workspaceId}\u0000${decision}\u0000${visitor}\u0000${offer}`;
