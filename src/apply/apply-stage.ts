import type { LogEntry, Message } from '../collect/message.js';
import { partitionOf } from '../collect/partition.js';
import type { EventRecord, JsonValue, ProfileView } from '../conditions/model.js';
import type { StreamingState } from '../conditions/node-kind.js';
import type { Clock } from '../core/clock.js';
import type { Log, LogBatch } from '../core/ports/log.js';
import { LruMap } from '../core/lru.js';
import { BatchSizer, LoadShare, StageLoop } from '../core/stage-loop.js';
import { AUDIENCES, definitionId, TRAITS, type ApplyDefinition, type DependencyIndex } from './definitions.js';
import type { ApplyEvent, ApplyStore, BackfillRow, BatchAnswers, ProfileEffects, VersionSwitch } from './ports.js';
import type { DefinitionRegistry } from './registry.js';

/** What a condition may read of a profile besides the apply stage's own outputs (computed values, memberships). */
export interface ProfileFacts {
  traits: Record<string, unknown>;
  /** Ranked, strongest first (user_id before anonymous_id ...). */
  identifiers: { type: string; value: string }[];
  subscriptions: Record<string, 'subscribed' | 'unsubscribed'>;
}

export type FactsProvider = (workspaceId: string, profileId: string) => Promise<ProfileFacts | undefined>;

/** A profile's outputs as last committed: computed values and memberships (audience -> entered at). */
export interface CommittedOutputs {
  computed: Readonly<Record<string, JsonValue>>;
  memberships: ReadonlyMap<string, number>;
}

/** A committed membership change, for listeners (journeys, destinations). */
export interface MembershipChange {
  workspaceId: string;
  profileId: string;
  audience: string;
  entered: boolean;
  at: number;
}

export const AUDIENCE_ENTERED = 'Audience Entered';
export const AUDIENCE_EXITED = 'Audience Exited';
/** The source id the membership events are logged under. */
export const AUDIENCE_SOURCE = 'tandem:audiences';

const EVENTS_PER_BUSY_BATCH = 50;
const EVENTS_PER_IDLE_BATCH = 1000;
const TIMERS_PER_STEP = 500;
const PROFILES_PER_BACKFILL_STEP = 200;

/** Test hooks of the backfills: a smaller chunk, and a gate before each chunk (to observe or kill one mid-way). */
export interface BackfillTuning {
  chunk: number;
  /** Called before each chunk; false holds the backfill (no chunk this step; wake the stage to try again). */
  beforeChunk?: (backfill: BackfillRow) => Promise<boolean> | boolean;
}
const OUTBOX_PER_FLUSH = 1000;
/** setTimeout cannot wait longer than 2^31 - 1 ms; longer timers re-arm. */
const MAX_SLEEP_MS = 3_600_000;
const MAX_FIRINGS_PER_PROFILE = 10_000;
const DEFAULT_CACHED_PROFILES = 100_000;

export interface ApplyStageDeps {
  store: ApplyStore;
  log: Log;
  clock: Clock;
  registry: DefinitionRegistry;
  facts: FactsProvider;
  load?: LoadShare;
  onError?: (message: string) => void;
  /** The SQL side for backfills (the warehouse); without it a backfill replays the streaming evaluator only. */
  batch?: BatchAnswers;
  /** Called for each profile whose replayed streaming answer disagrees with the SQL answer of a backfill (a bug). */
  onDisagreement?: (definition: string) => void;
  /** Profiles whose committed state is kept in memory between steps (config pipeline.profileStateCache; 0: none). */
  cacheProfiles?: number;
  /** Told before a recompute (an identity edit, a trait migration) that these profiles' facts changed outside the stream. */
  factsChanged?: (workspaceId: string, profileIds: string[]) => void;
}

/** A backfill's SQL answer, as of `asOf` over the events applied up to `upTo`. */
interface BackfillAnswer {
  asOf: number;
  upTo: number;
  values: Map<string, JsonValue>;
}

/** Same answer: equal JSON, numbers within 1e-9 relative (SQL sums in floating point; src/traits/README.md). */
export function sameAnswer(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** One profile's working state during a step: loaded once, changed in memory, committed with the step. */
class Work {
  facts: ProfileFacts | undefined;
  factsLoaded = false;
  readonly changedStates = new Set<string>();
  readonly computedChanges = new Map<string, { value: JsonValue | undefined; at: number }>();
  readonly enter: ProfileEffects['enter'] = [];
  /** Orders enter and exit changes as they were decided. */
  seq = 0;
  readonly exit: ProfileEffects['exit'] = [];
  readonly timerChanges = new Map<string, number | undefined>();
  readonly shadowChanges = new Map<string, { value: JsonValue | undefined; at: number }>();
  drop = false;
  remap = false;
  touched = false;

  constructor(
    readonly workspaceId: string,
    readonly profileId: string,
    public watermark: number | undefined,
    readonly states: Map<string, { version: number; state: StreamingState }>,
    readonly computed: Record<string, JsonValue>,
    readonly memberships: Map<string, number>,
    readonly timers: Map<string, number>,
    /** Outputs of new versions backfilled beside the active ones, by shadow definition id. */
    readonly shadow: Map<string, JsonValue>,
  ) {}

  effects(): ProfileEffects {
    return {
      workspaceId: this.workspaceId,
      profileId: this.profileId,
      asOf: this.watermark ?? 0,
      states: [...this.changedStates].map((def) => ({ def, version: this.states.get(def)?.version ?? 0, state: this.states.get(def)?.state })),
      computed: [...this.computedChanges].map(([key, c]) => ({ key, value: c.value, at: c.at })),
      enter: this.enter,
      exit: this.exit,
      timers: [...this.timerChanges].map(([def, dueAt]) => ({ def, dueAt })),
      shadow: [...this.shadowChanges].map(([def, c]) => ({ def, value: c.value, at: c.at })),
      drop: this.drop,
      remap: this.remap,
    };
  }
}

/** One profile's committed apply state, as the stage last wrote (or read) it. */
interface CachedState {
  watermark: number | undefined;
  states: ReadonlyMap<string, { version: number; state: StreamingState }>;
  computed: Readonly<Record<string, JsonValue>>;
  memberships: ReadonlyMap<string, number>;
  timers: ReadonlyMap<string, number>;
  shadow: ReadonlyMap<string, JsonValue>;
}

/**
 * The committed state of the profiles applied most recently, least recently used out, so that a profile's next
 * event is applied without reading its state back from the store (ARCHITECTURE.md section 3: the fast loop keeps
 * profile state in memory). The apply stage is the only writer of that state: after each commit it remembers what it
 * wrote; anything written outside a step's commit (a definition changed, dropped or switched) clears the cache, as
 * does a failed commit. Works are copied out of it, never shared.
 */
class ProfileStateCache {
  private readonly entries: LruMap<string, CachedState>;
  constructor(capacity: number) {
    this.entries = new LruMap(capacity);
  }

  get(key: string): CachedState | undefined {
    return this.entries.get(key);
  }

  /** Without counting as a use. */
  peek(key: string): CachedState | undefined {
    return this.entries.peek(key);
  }

  /** After a commit: the work's state is what the store now holds (a dropped profile has none). */
  remember(key: string, w: Work): void {
    if (w.drop) this.entries.delete(key);
    else this.entries.set(key, { watermark: w.watermark, states: w.states, computed: w.computed, memberships: w.memberships, timers: w.timers, shadow: w.shadow });
  }

  clear(): void {
    this.entries.clear();
  }
}

/** The EventRecord a condition sees of a stored message; its time is clamped to its arrival (conditions/README.md). */
export function eventRecordOf(message: Message): EventRecord {
  const arrival = Date.parse(message.receivedAt);
  const ts = Date.parse(message.timestamp);
  return {
    type: message.type,
    ...(message.type === 'track' && message.event !== undefined ? { event: message.event } : {}),
    timestamp: Number.isFinite(arrival) && arrival < ts ? arrival : ts,
    properties: message.properties ?? {},
  };
}

/**
 * The apply stage (ARCHITECTURE.md section 3): per profile, serially, folds each resolved event into the streaming
 * state of the definitions that read it (the dependency index), re-evaluates those and, in order, whatever reads
 * their outputs (computed values, memberships), and sets a timer for the exact instant a windowed answer changes
 * with no new event. A merge folds the loser's states into the winner's and re-evaluates the winner at once.
 * Effects, emitted events (through an outbox) and the position commit in one transaction.
 */
export class ApplyStage {
  private readonly loop: StageLoop;
  private readonly load: LoadShare;
  private readonly sizer = new BatchSizer(EVENTS_PER_BUSY_BATCH, EVENTS_PER_IDLE_BATCH);
  private queue: Promise<unknown> = Promise.resolve();
  private sleepingUntil: number | undefined;
  private stopped = false;
  private listeners = new Set<(changes: MembershipChange[]) => void>();
  /** Committed state of recently applied profiles (the stage is its only writer): see ProfileStateCache. */
  private readonly cache: ProfileStateCache;
  /** SQL answers of the running backfills, by workspace and definition (null: the SQL side failed; replay only). */
  private answers = new Map<string, { version: number; answer: BackfillAnswer | null }>();
  /** Backfills answered by SQL, and profiles whose replayed streaming answer disagreed with it (tests assert 0). */
  readonly stats: { sqlBackfills: number; backfillDisagreements: number; switches: number; lastSwitch?: { def: string; changed: number; ms: number }; cacheHits: number; cacheMisses: number } = {
    sqlBackfills: 0,
    backfillDisagreements: 0,
    switches: 0,
    cacheHits: 0,
    cacheMisses: 0,
  };
  /** Backfill chunk size and test hook (tests only change these). */
  readonly backfillTuning: BackfillTuning = { chunk: PROFILES_PER_BACKFILL_STEP };

  constructor(private readonly deps: ApplyStageDeps) {
    this.load = deps.load ?? new LoadShare();
    this.cache = new ProfileStateCache(deps.cacheProfiles ?? DEFAULT_CACHED_PROFILES);
    this.loop = new StageLoop('apply', (deadline) => this.step(deadline), this.load);
  }

  start(): void {
    this.loop.start();
  }

  wake(): void {
    this.loop.wake();
  }

  /** Applies everything resolved so far, fires due timers, finishes backfills and flushes emitted events. */
  drain(): Promise<void> {
    return this.loop.drain();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop.stop();
    await this.queue;
  }

  /**
   * The profile's committed outputs if the stage holds them in memory (undefined: read the store). Read-only: the
   * cache's own maps, valid until the next commit (the cache and the store change together, with no await between).
   */
  committedOutputs(workspaceId: string, profileId: string): CommittedOutputs | undefined {
    return this.cache.peek(`${workspaceId}\u0000${profileId}`);
  }

  subscribe(listener: (changes: MembershipChange[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Runs `fn` between steps, never beside one. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * A definition was created, changed or deleted: recompute it for every profile (a backfill that replays each
   * profile's stored events through the streaming evaluator, in profile id order, beside the live stream). A new
   * definition answers profile by profile as the backfill reaches them; a changed one is backfilled as a shadow
   * beside the active version, which keeps answering until the backfill has caught up and one transaction switches
   * every profile (docs/audiences.md, "Changing a definition").
   */
  async definitionChanged(workspaceId: string, kind: string, key: string, options: { batchOnly?: boolean } = {}): Promise<void> {
    const previous = this.deps.registry.peek(workspaceId);
    this.deps.registry.invalidate(workspaceId);
    await this.exclusive(async () => {
      const { store } = this.deps;
      // Active versions, backfills and dropped states are written below outside a step's commit.
      this.cache.clear();
      const id = definitionId(kind, key);
      const now = this.deps.clock.now();
      if (!options.batchOnly && !store.activeVersions(workspaceId).has(id)) {
        // Defined before active versions were recorded (an upgraded data directory): the version evaluated until now answers.
        const was = (await previous?.catch(() => undefined))?.byId.get(id);
        if (was) {
          store.setActiveVersion(workspaceId, id, was.version);
          this.deps.registry.invalidate(workspaceId);
        }
      }
      let index = await this.deps.registry.for(workspaceId);
      const running = store.backfills().find((b) => b.workspaceId === workspaceId && b.def === id);
      if (index.shadows.has(id) && running && running.version === store.activeVersions(workspaceId).get(id)) {
        // Changed again before its first backfill finished: no version is complete, so the newest starts afresh.
        store.setActiveVersion(workspaceId, id, index.shadows.get(id)!.version);
        this.deps.registry.invalidate(workspaceId);
        index = await this.deps.registry.for(workspaceId);
      }
      const shadow = index.shadows.get(id);
      const def = index.byId.get(id);
      if (shadow) store.startBackfill(workspaceId, id, shadow.version, now);
      else if (def) store.startBackfill(workspaceId, id, def.version, now, { active: true });
      // A batch-only trait (SQL) is not evaluated here: its streaming state goes, its values stay until its next run.
      else if (options.batchOnly) store.dropDefinition(workspaceId, id, {}, now);
      else store.dropDefinition(workspaceId, id, kind === AUDIENCES ? { audience: key } : { computedKey: key }, now);
      this.answers.delete(`${workspaceId}\u0000${id}`);
      this.refreshBackfills();
    });
    this.wake();
  }

  /**
   * Re-derives these profiles' states from their stored events, then re-evaluates every definition (the hook for
   * identity changes that move events between profiles, such as an unmerge).
   */
  recompute(workspaceId: string, profileIds: string[]): Promise<void> {
    return this.exclusive(async () => {
      this.deps.factsChanged?.(workspaceId, profileIds);
      this.refreshBackfills();
      const index = await this.deps.registry.for(workspaceId);
      const upTo = this.deps.store.position();
      const works = new Map<string, Work>();
      const now = this.deps.clock.now();
      for (const profileId of profileIds) {
        const work = this.work(works, workspaceId, profileId);
        work.remap = true;
        const events = this.deps.store.profileEvents(workspaceId, profileId, upTo);
        for (const def of index.order) this.replay(work, def, events);
        const t = Math.max(work.watermark ?? now, now);
        await this.evaluate(work, index, new Set(index.order.map((d) => d.id)), t, undefined);
      }
      await this.commit(works, {});
    });
  }

  private async step(deadline: number): Promise<boolean> {
    return this.exclusive(async () => {
      this.refreshBackfills();
      await this.flush();
      for (;;) {
        const limit = this.sizer.size(this.load.busy());
        const started = performance.now();
        const more = await this.applyEvents(limit);
        if (more) this.sizer.record(limit, performance.now() - started);
        if (!more || performance.now() >= deadline) {
          await this.fireTimers();
          const backfilling = !more && (await this.backfill());
          await this.flush();
          this.arm();
          return more || backfilling || (this.deps.store.nextDue() ?? Infinity) <= this.deps.clock.now();
        }
      }
    });
  }

  /* ---- events and merges ---- */

  private async applyEvents(limit: number): Promise<boolean> {
    const { store } = this.deps;
    const from = store.position();
    const { events, merges, upTo } = store.read(from, limit);
    if (upTo === from) return false;
    const works = new Map<string, Work>();
    const indexes = new Map<string, DependencyIndex>();
    const indexOf = async (ws: string) => {
      let index = indexes.get(ws);
      if (!index) indexes.set(ws, (index = await this.deps.registry.for(ws)));
      return index;
    };
    let m = 0;
    for (const e of events) {
      while (m < merges.length && merges[m].eventId <= e.id) {
        const merge = merges[m++];
        await this.merge(works, await indexOf(merge.workspaceId), merge.workspaceId, merge.winner, merge.loser, merge.at, merge.eventId);
      }
      if (e.profileId !== null) await this.applyEvent(works, await indexOf(e.workspaceId), e);
    }
    for (; m < merges.length; m++) await this.merge(works, await indexOf(merges[m].workspaceId), merges[m].workspaceId, merges[m].winner, merges[m].loser, merges[m].at, merges[m].eventId);
    await this.commit(works, { position: upTo });
    return events.length === limit;
  }

  private async applyEvent(works: Map<string, Work>, index: DependencyIndex, e: ApplyEvent): Promise<void> {
    const work = this.work(works, e.workspaceId, e.profileId!);
    const record = eventRecordOf(e.message);
    const arrival = Date.parse(e.message.receivedAt);
    const t = Math.max(work.watermark ?? -Infinity, Number.isFinite(arrival) ? arrival : record.timestamp);
    // Whatever was due before this event arrived happened first.
    await this.fireProfileTimers(work, index, t);
    const dirty = new Set<string>();
    // A profile's first event evaluates everything: a definition may hold for a profile that did nothing yet.
    if (work.watermark === undefined) for (const d of index.order) dirty.add(d.id);
    for (const def of index.readingEvent(record.event)) {
      if (this.pending(work, def)) continue;
      const state = def.onEvent(this.stateOf(work, def), record);
      work.states.set(def.id, { version: def.version, state });
      work.changedStates.add(def.id);
      dirty.add(def.id);
    }
    for (const name of traitNamesOf(e.message)) for (const def of index.readingTrait(name)) dirty.add(def.id);
    for (const def of index.byIdentifiers) dirty.add(def.id);
    if (changesSubscriptions(e.message)) for (const def of index.bySubscriptions) dirty.add(def.id);
    // Facts are read once per step: the resolve stage has already committed this event's traits and identifiers.
    await this.evaluate(work, index, dirty, t, undefined);
    work.watermark = Math.max(work.watermark ?? t, t);
    work.touched = true;
  }

  private async merge(works: Map<string, Work>, index: DependencyIndex, ws: string, winnerId: string, loserId: string, at: number, eventId: number): Promise<void> {
    const winner = this.work(works, ws, winnerId);
    const loser = this.work(works, ws, loserId);
    const t = Math.max(winner.watermark ?? at, loser.watermark ?? at, at);
    await this.fireProfileTimers(winner, index, t);
    await this.fireProfileTimers(loser, index, t);
    let replayEvents: ApplyEvent[] | undefined;
    for (const def of index.order) {
      if (this.pending(winner, def)) continue;
      if (this.pendingFor(ws, def, loserId)) {
        // The loser was not backfilled for this definition yet: derive the winner's state from its whole history.
        replayEvents ??= this.deps.store.profileEvents(ws, winnerId, eventId - 1);
        this.replay(winner, def, replayEvents);
        continue;
      }
      const a = this.validState(winner, def);
      const b = this.validState(loser, def);
      if (a === undefined && b === undefined) continue;
      winner.states.set(def.id, { version: def.version, state: def.merge(a ?? def.init(), b ?? def.init()) });
      winner.changedStates.add(def.id);
    }
    for (const audience of [...loser.memberships.keys()]) {
      loser.memberships.delete(audience);
      loser.exit.push({ audience, at: t, reason: 'merged', seq: ++loser.seq });
    }
    loser.drop = true;
    loser.touched = true;
    loser.timers.clear();
    await this.evaluate(winner, index, new Set(index.order.map((d) => d.id)), t, undefined);
    winner.watermark = t;
    winner.remap = true;
    winner.touched = true;
  }

  /* ---- timers ---- */

  private async fireTimers(): Promise<void> {
    const now = this.deps.clock.now();
    const due = this.deps.store.dueTimers(now, TIMERS_PER_STEP);
    if (due.length === 0) return;
    const works = new Map<string, Work>();
    for (const timer of due) {
      const work = this.work(works, timer.workspaceId, timer.profileId);
      await this.fireProfileTimers(work, await this.deps.registry.for(timer.workspaceId), now);
    }
    await this.commit(works, {});
  }

  /** Fires the profile's timers due at or before `until`, each at its exact instant, earliest first. */
  private async fireProfileTimers(work: Work, index: DependencyIndex, until: number): Promise<void> {
    for (let i = 0; i < MAX_FIRINGS_PER_PROFILE; i++) {
      let at = Infinity;
      for (const due of work.timers.values()) at = Math.min(at, due);
      if (at > until) return;
      const dirty = new Set<string>();
      for (const [def, due] of [...work.timers]) {
        if (due !== at) continue;
        work.timers.delete(def);
        work.timerChanges.set(def, undefined);
        if (index.byId.has(def)) dirty.add(def);
      }
      await this.evaluate(work, index, dirty, at, undefined);
      work.watermark = Math.max(work.watermark ?? at, at);
      work.touched = true;
    }
    this.deps.onError?.(`apply: profile ${work.profileId} fired ${MAX_FIRINGS_PER_PROFILE} timers in one step; the rest wait for the next`);
  }

  /** Wakes the loop at the next timer's instant (re-arming when it is further than setTimeout can wait). */
  private arm(): void {
    const next = this.deps.store.nextDue();
    if (next === undefined || this.stopped) return;
    if (this.sleepingUntil !== undefined && this.sleepingUntil <= next) return;
    const now = this.deps.clock.now();
    const wait = Math.min(Math.max(0, next - now), MAX_SLEEP_MS);
    this.sleepingUntil = now + wait;
    void this.deps.clock.sleep(wait).then(() => {
      this.sleepingUntil = undefined;
      if (!this.stopped) this.wake();
    });
  }

  /* ---- backfills ---- */

  /** Advances one pending backfill by a chunk of profiles; true if backfill work remains. */
  private async backfill(): Promise<boolean> {
    const pending = this.deps.store.backfills();
    if (pending.length === 0) return false;
    const b = pending[0];
    if (this.backfillTuning.beforeChunk && !(await this.backfillTuning.beforeChunk(b))) return false;
    const index = await this.deps.registry.for(b.workspaceId);
    // A changed definition is backfilled as the shadow of the active version; a new one as itself.
    const def = index.shadows.get(b.def) ?? index.byId.get(b.def);
    if (!def || def.version !== b.version) {
      this.deps.store.commit({ profiles: [], backfills: [{ ...b, cursor: undefined }] }, () => undefined);
      return pending.length > 1 || (def !== undefined && def.version !== b.version);
    }
    const answer = await this.backfillAnswer(b, def);
    const upTo = this.deps.store.position();
    const chunk = Math.max(1, this.backfillTuning.chunk);
    const ids = this.deps.store.profiles(b.workspaceId, b.cursor, chunk);
    const works = new Map<string, Work>();
    const now = this.deps.clock.now();
    for (const profileId of ids) {
      const work = this.work(works, b.workspaceId, profileId);
      // Never applied yet: its first event evaluates every definition, this one included.
      if (work.watermark === undefined) continue;
      const events = this.deps.store.profileEvents(b.workspaceId, profileId, upTo);
      const t = Math.max(work.watermark, now);
      const dirty = new Set([def.id]);
      if (answer) {
        // The answer as of T is the SQL one. The state is seeded by replay (later events and timers need it); its
        // answer as of the same T is checked against SQL. Events applied after T are folded in on top, and the
        // definition is evaluated now.
        let state = def.init();
        const reads = def.deps.events;
        const fold = (e: ApplyEvent) => {
          const record = eventRecordOf(e.message);
          if (reads === '*' || (record.event !== undefined && reads.has(record.event))) state = def.onEvent(state, record);
        };
        for (const e of events) if (e.id <= answer.upTo) fold(e);
        const streamed = def.evaluate(state, await this.view(work), answer.asOf).value;
        const sql = answer.values.get(profileId) ?? (def.kind === AUDIENCES ? false : null);
        const agree = sameAnswer(streamed, sql);
        if (!agree) {
          this.stats.backfillDisagreements++;
          this.deps.onDisagreement?.(def.id);
          this.deps.onError?.(`backfill of ${def.id} version ${def.version}: profile ${profileId} is ${JSON.stringify(streamed)} by replay and ${JSON.stringify(sql)} by SQL as of ${new Date(answer.asOf).toISOString()}`);
        }
        this.setOutput(work, index, def, agree ? streamed : sql, Math.min(answer.asOf, t), dirty);
        let later = false;
        for (const e of events) if (e.id > answer.upTo) (fold(e), (later = true));
        work.states.set(def.id, { version: def.version, state });
        work.changedStates.add(def.id);
        if (!later && t <= answer.asOf) {
          // Nothing happened since T: the SQL answer stands (its timer from the state); readers of a changed output follow.
          dirty.delete(def.id);
          this.setTimer(work, def, def.evaluate(state, await this.view(work), t).nextChange, t);
        }
      } else this.replay(work, def, events);
      await this.evaluate(work, index, dirty, t, def.id);
      work.watermark = t;
      work.touched = true;
    }
    const done = ids.length < chunk;
    if (done) this.answers.delete(`${b.workspaceId}\u0000${b.def}`);
    if (def.base !== undefined) {
      // A shadow keeps its backfill row until the switch, so a crash in between resumes and then switches.
      await this.commit(works, { backfills: [{ workspaceId: b.workspaceId, def: b.def, version: b.version, cursor: ids.length ? ids[ids.length - 1] : b.cursor }] });
      if (done) await this.switchVersion(b.workspaceId, def, index);
    } else {
      await this.commit(works, { backfills: [{ workspaceId: b.workspaceId, def: b.def, version: b.version, cursor: done ? undefined : ids[ids.length - 1] }] });
    }
    return !done || pending.length > 1;
  }

  /**
   * The shadow has caught up (every profile backfilled, every applied event folded in): in one transaction the
   * profiles whose answer changed take the new one (entering or leaving with their events, as a per-profile change
   * would, at the switch), what reads the output is re-evaluated for them, and the new version's states and timers
   * become the active ones for every profile.
   */
  private async switchVersion(workspaceId: string, shadow: ApplyDefinition, index: DependencyIndex): Promise<void> {
    const base = shadow.base!;
    const active = index.byId.get(base);
    const output = shadow.kind === AUDIENCES ? { audience: shadow.key } : { computedKey: shadow.key };
    const works = new Map<string, Work>();
    const at = this.deps.clock.now();
    const started = performance.now();
    const changes = this.deps.store.shadowChanges(workspaceId, base, output);
    for (const change of changes) {
      const work = this.work(works, workspaceId, change.profileId);
      if (work.drop) continue;
      const t = Math.max(work.watermark ?? at, at);
      const value = change.value ?? (shadow.kind === AUDIENCES ? false : null);
      const dirty = new Set<string>();
      if (this.changeOutput(work, shadow.kind, shadow.key, value, t) && active) for (const reader of index.readingOutputOf(active)) dirty.add(reader.id);
      await this.evaluate(work, index, dirty, t, undefined);
      work.watermark = t;
      work.touched = true;
    }
    const sw: VersionSwitch = { workspaceId, def: base, version: shadow.version };
    await this.commit(works, { switches: [sw] });
    this.stats.switches++;
    this.stats.lastSwitch = { def: base, changed: changes.length, ms: performance.now() - started };
    this.deps.registry.invalidate(workspaceId);
    this.refreshBackfills();
  }

  /**
   * The SQL answer of a backfill, computed once per version at its first step (T = now, over the events applied so
   * far); kept in memory, so a restart computes it again at a later T (the cursor stays).
   */
  private async backfillAnswer(b: { workspaceId: string; def: string; version: number }, def: ApplyDefinition): Promise<BackfillAnswer | null> {
    const key = `${b.workspaceId}\u0000${b.def}`;
    const cached = this.answers.get(key);
    if (cached && cached.version === b.version) return cached.answer;
    let answer: BackfillAnswer | null = null;
    if (this.deps.batch && def.sql) {
      const asOf = this.deps.clock.now();
      const upTo = this.deps.store.position();
      try {
        answer = { asOf, upTo, values: await this.deps.batch.answer(b.workspaceId, def, asOf, upTo) };
        this.stats.sqlBackfills++;
      } catch (error) {
        this.deps.onError?.(`backfill of ${def.id} version ${def.version}: the SQL answer failed (${(error as Error).message}); replaying the streaming evaluator only`);
      }
    }
    this.answers.set(key, { version: b.version, answer });
    return answer;
  }

  /** Sets a definition's output (membership or computed value) at `t`; a change marks its readers dirty. */
  private setOutput(work: Work, index: DependencyIndex, def: ApplyDefinition, value: JsonValue, t: number, dirty: Set<string>): void {
    if (this.output(work, def, value, t)) for (const reader of index.readingOutputOf(def)) dirty.add(reader.id);
  }

  /** A definition's output: a shadow's is kept aside (nothing reads it, so it never reports a change). */
  private output(work: Work, def: ApplyDefinition, value: JsonValue | undefined, t: number): boolean {
    if (def.base === undefined) return this.changeOutput(work, def.kind, def.key, value, t);
    const v = value === false || value === null || value === undefined ? undefined : value;
    if (JSON.stringify(work.shadow.get(def.id) ?? null) === JSON.stringify(v ?? null)) return false;
    if (v === undefined) work.shadow.delete(def.id);
    else work.shadow.set(def.id, v);
    work.shadowChanges.set(def.id, { value: v, at: t });
    return false;
  }

  private changeOutput(work: Work, kind: string, key: string, value: JsonValue | undefined, t: number): boolean {
    if (kind === AUDIENCES) {
      const member = value === true;
      if (member && !work.memberships.has(key)) {
        work.memberships.set(key, t);
        work.enter.push({ audience: key, at: t, seq: ++work.seq });
        return true;
      }
      if (!member && work.memberships.has(key)) {
        work.memberships.delete(key);
        work.exit.push({ audience: key, at: t, reason: 'condition', seq: ++work.seq });
        return true;
      }
      return false;
    }
    const before = work.computed[key];
    if (JSON.stringify(before ?? null) === JSON.stringify(value ?? null)) return false;
    if (value === null || value === undefined) delete work.computed[key];
    else work.computed[key] = value;
    work.computedChanges.set(key, { value: value ?? undefined, at: t });
    return true;
  }

  /**
   * Sets a batch-only trait's values (an SQL trait's run, src/apply/sql-traits.ts) at `at`: profiles in `values` get
   * theirs, profiles holding a value that is not in `values` lose it, and whatever reads the trait is re-evaluated
   * and committed like any other change (membership events included). In chunks, between steps. Returns how many
   * profiles changed.
   */
  async setComputed(workspaceId: string, key: string, values: Map<string, JsonValue>, at: number): Promise<number> {
    const ids = [...new Set([...values.keys(), ...this.deps.store.computedHolders(workspaceId, key)])].sort();
    let changed = 0;
    for (let i = 0; i < ids.length; i += PROFILES_PER_BACKFILL_STEP) {
      const chunk = ids.slice(i, i + PROFILES_PER_BACKFILL_STEP);
      changed += await this.exclusive(async () => {
        const index = await this.deps.registry.for(workspaceId);
        const works = new Map<string, Work>();
        let n = 0;
        for (const profileId of chunk) {
          const work = this.work(works, workspaceId, profileId);
          const t = Math.max(work.watermark ?? at, at);
          if (!this.changeOutput(work, TRAITS, key, values.get(profileId) ?? null, t)) continue;
          n++;
          await this.evaluate(work, index, new Set(index.readingComputed(key).map((d) => d.id)), t, undefined);
          work.watermark = t;
          work.touched = true;
        }
        await this.commit(works, {});
        return n;
      });
    }
    this.wake();
    return changed;
  }

  private backfillCursors = new Map<string, { version: number; cursor: string }>();

  /** Whether a definition is still being backfilled and has not reached this profile (its state would be incomplete). */
  private pending(work: Work, def: ApplyDefinition): boolean {
    return this.pendingFor(work.workspaceId, def, work.profileId);
  }

  private pendingFor(ws: string, def: ApplyDefinition, profileId: string): boolean {
    const b = this.backfillCursors.get(`${ws}\u0000${def.base ?? def.id}`);
    // A shadow is evaluated only behind its own backfill's cursor (never before its backfill starts).
    if (def.base !== undefined) return b === undefined || b.version !== def.version || profileId > b.cursor;
    return b !== undefined && b.version === def.version && profileId > b.cursor;
  }

  private refreshBackfills(): void {
    this.backfillCursors = new Map(this.deps.store.backfills().map((b) => [`${b.workspaceId}\u0000${b.def}`, { version: b.version, cursor: b.cursor }]));
  }

  /* ---- evaluation ---- */

  private replay(work: Work, def: ApplyDefinition, events: ApplyEvent[]): void {
    let state = def.init();
    const reads = def.deps.events;
    for (const e of events) {
      const record = eventRecordOf(e.message);
      if (reads === '*' || (record.event !== undefined && reads.has(record.event))) state = def.onEvent(state, record);
    }
    work.states.set(def.id, { version: def.version, state });
    work.changedStates.add(def.id);
  }

  private validState(work: Work, def: ApplyDefinition): StreamingState | undefined {
    const s = work.states.get(def.id);
    return s && s.version === def.version ? s.state : undefined;
  }

  private stateOf(work: Work, def: ApplyDefinition): StreamingState {
    return this.validState(work, def) ?? def.init();
  }

  /**
   * Re-evaluates the dirty definitions at `t` in dependency order; a changed output (membership, computed value)
   * marks what reads it. `force` evaluates that definition even though its backfill has not reached the profile.
   */
  private async evaluate(work: Work, index: DependencyIndex, dirty: Set<string>, t: number, force: string | undefined): Promise<void> {
    if (dirty.size === 0) return;
    for (const def of index.order) {
      if (!dirty.has(def.id)) continue;
      if (def.id !== force && this.pending(work, def)) continue;
      const { value, nextChange } = def.evaluate(this.stateOf(work, def), await this.view(work), t);
      const changed = this.output(work, def, value, t);
      if (changed) for (const reader of index.readingOutputOf(def)) dirty.add(reader.id);
      this.setTimer(work, def, nextChange, t);
    }
    work.touched = true;
  }

  private setTimer(work: Work, def: ApplyDefinition, nextChange: number | undefined, t: number): void {
    const due = nextChange !== undefined && nextChange > t ? nextChange : undefined;
    if (due !== work.timers.get(def.id)) {
      if (due === undefined) work.timers.delete(def.id);
      else work.timers.set(def.id, due);
      work.timerChanges.set(def.id, due);
    }
  }

  /** The profile as a condition reads it: its facts (loaded once per step) and the stage's own outputs. */
  private async view(work: Work): Promise<ProfileView> {
    if (!work.factsLoaded) {
      work.facts = await this.deps.facts(work.workspaceId, work.profileId);
      work.factsLoaded = true;
    }
    const facts = work.facts ?? { traits: {}, identifiers: [], subscriptions: {} };
    return {
      id: work.profileId,
      traits: facts.traits,
      computed: work.computed,
      identifiers: facts.identifiers,
      audiences: [...work.memberships.keys()],
      subscriptions: facts.subscriptions,
    };
  }

  private work(works: Map<string, Work>, ws: string, profileId: string): Work {
    const key = `${ws}\u0000${profileId}`;
    let work = works.get(key);
    if (!work) {
      const cached = this.cache.get(key);
      if (cached) this.stats.cacheHits++;
      else this.stats.cacheMisses++;
      const { store } = this.deps;
      work = cached
        ? new Work(ws, profileId, cached.watermark, new Map(cached.states), { ...cached.computed }, new Map(cached.memberships), new Map(cached.timers), new Map(cached.shadow))
        : new Work(
            ws,
            profileId,
            store.watermark(ws, profileId),
            store.states(ws, profileId),
            store.computed(ws, profileId),
            store.memberships(ws, profileId),
            new Map(store.timersOf(ws, profileId).map((t) => [t.def, t.dueAt])),
            store.shadowOutputs(ws, profileId),
          );
      works.set(key, work);
    }
    return work;
  }

  /* ---- commit and emitted events ---- */

  private async commit(works: Map<string, Work>, extra: { position?: number; backfills?: { workspaceId: string; def: string; version: number; cursor: string | undefined }[]; switches?: VersionSwitch[] }): Promise<void> {
    const touched = [...works.values()].filter((w) => w.touched);
    // Membership events name the profile by one of its identifiers: make sure they are loaded.
    for (const w of touched) {
      if (!w.factsLoaded && (w.enter.length > 0 || w.exit.some((x) => x.reason === 'condition'))) {
        w.facts = await this.deps.facts(w.workspaceId, w.profileId);
        w.factsLoaded = true;
      }
    }
    const byKey = new Map(touched.map((w) => [`${w.workspaceId}\u0000${w.profileId}`, w]));
    const now = this.deps.clock.now();
    try {
      this.deps.store.commit({ position: extra.position, backfills: extra.backfills, switches: extra.switches, profiles: touched.map((w) => w.effects()) }, (change) => {
        const facts = byKey.get(`${change.workspaceId}\u0000${change.profileId}`)?.facts;
        return membershipMessage(change, facts?.identifiers ?? [], now);
      });
    } catch (error) {
      // The works may have changed states in place: nothing of this step is known to be committed.
      this.cache.clear();
      throw error;
    }
    // A version switch rewrites every profile's states: the next step reads them back.
    if (extra.switches?.length) this.cache.clear();
    else for (const [key, w] of works) this.cache.remember(key, w);
    if (extra.backfills) this.refreshBackfills();
    const changes: MembershipChange[] = [];
    for (const w of touched) {
      for (const x of w.exit) if (x.reason === 'condition') changes.push({ workspaceId: w.workspaceId, profileId: w.profileId, audience: x.audience, entered: false, at: x.at });
      for (const e of w.enter) changes.push({ workspaceId: w.workspaceId, profileId: w.profileId, audience: e.audience, entered: true, at: e.at });
    }
    if (changes.length) for (const listener of this.listeners) listener(changes);
  }

  /** Appends emitted events to the Log, then forgets them; a crash between the two repeats an append the events stage drops (same messageId). */
  private async flush(): Promise<void> {
    for (;;) {
      const items = this.deps.store.outbox(OUTBOX_PER_FLUSH);
      if (items.length === 0) return;
      const batches = new Map<string, { batch: LogBatch; entries: LogEntry[] }>();
      for (const item of items) {
        const m = item.message;
        const partition = partitionOf(m.userId ?? m.anonymousId ?? m.messageId, this.deps.log.partitions);
        const key = `${item.workspaceId}\u0000${partition}`;
        let b = batches.get(key);
        if (!b) {
          b = { batch: { partition, workspaceId: item.workspaceId, sourceId: AUDIENCE_SOURCE, receivedAt: this.deps.clock.now(), count: 0, payload: '' }, entries: [] };
          batches.set(key, b);
        }
        b.entries.push({ kind: 'event', message: m, violations: [] });
      }
      await this.deps.log.append([...batches.values()].map((b) => ({ ...b.batch, count: b.entries.length, payload: JSON.stringify(b.entries) })));
      this.deps.store.outboxDone(items.map((i) => i.id));
      if (items.length < OUTBOX_PER_FLUSH) return;
    }
  }
}

/**
 * `Audience Entered` / `Audience Exited` as a track message that resolves to the same profile: it carries one of
 * the profile's own identifiers (docs/decisions/0008-audience-events.md). The messageId comes from the membership
 * history row, so a repeated append is a duplicate the events stage drops.
 */
export function membershipMessage(
  change: { workspaceId: string; profileId: string; audience: string; at: number; entered: boolean; historyId: number },
  identifiers: { type: string; value: string }[],
  now: number,
): Message | undefined {
  const id = identifiers.find((i) => i.type === 'user_id') ?? identifiers.find((i) => i.type === 'anonymous_id') ?? identifiers[0];
  if (!id) return undefined;
  const iso = new Date(change.at).toISOString();
  return {
    type: 'track',
    messageId: `audience-${change.historyId}-${change.entered ? 'entered' : 'exited'}`,
    ...(id.type === 'user_id' ? { userId: id.value } : id.type === 'anonymous_id' ? { anonymousId: id.value } : {}),
    event: change.entered ? AUDIENCE_ENTERED : AUDIENCE_EXITED,
    properties: { audience: change.audience, profile_id: change.profileId },
    context: id.type === 'user_id' || id.type === 'anonymous_id' ? { library: { name: 'tandem-audiences' } } : { library: { name: 'tandem-audiences' }, externalIds: [{ type: id.type, id: id.value }] },
    integrations: {},
    timestamp: iso,
    receivedAt: new Date(Math.max(now, change.at)).toISOString(),
  };
}

function traitNamesOf(m: Message): string[] {
  const names: string[] = [];
  if (m.type === 'identify' && m.traits) names.push(...Object.keys(m.traits));
  const ctx = m.context?.traits;
  if (ctx && typeof ctx === 'object' && !Array.isArray(ctx)) names.push(...Object.keys(ctx));
  return names;
}

function changesSubscriptions(m: Message): boolean {
  if (m.type === 'identify' && m.traits && 'subscriptions' in m.traits) return true;
  const ctx = m.context?.traits as Record<string, unknown> | undefined;
  if (ctx && typeof ctx === 'object' && 'subscriptions' in ctx) return true;
  return m.type === 'track' && (m.event === 'Subscribed' || m.event === 'Unsubscribed');
}
