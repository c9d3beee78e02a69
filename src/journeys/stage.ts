import type { Clock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import { LoadShare, StageLoop } from '../core/stage-loop.js';
import type { JourneyEngine } from './engine.js';
import { JourneyEngine as Engine } from './engine.js';
import type { AudienceMembers, CatalogChange, InputSource, JourneyEvent, JourneyProfile, JourneyStore, PerformerSource, ProfileReader, TraitWriter } from './ports.js';

export interface JourneyStageDeps {
  engine: JourneyEngine;
  store: JourneyStore;
  profiles: ProfileReader;
  clock: Clock;
  /** Events to react to, with a position committed with each step (optional: handleEvent can be called directly). */
  inputs?: InputSource;
  audiences?: AudienceMembers;
  /** Recipients of catalog_changed triggers with `performed`. */
  performers?: PerformerSource;
  traits?: TraitWriter;
  load?: LoadShare;
  /** Consumer name of the input position. */
  consumer?: string;
  batch?: number;
  onError?: (message: string) => void;
}

const SCHEDULE_CHUNK = 500;
const CATALOG_BATCH = 20;

/**
 * The orchestrate stage (ARCHITECTURE.md section 3): consumes inputs (events with their position), fires due
 * timers and schedules with the injected Clock, and applies pending trait updates. Each input, timer and schedule
 * chunk is one engine transaction; the input position commits inside the same transaction as its effects.
 */
export class JourneyStage {
  private readonly loop: StageLoop;
  private armed: number | undefined;
  private readonly consumer: string;
  private readonly batch: number;

  constructor(private readonly deps: JourneyStageDeps) {
    this.consumer = deps.consumer ?? 'journeys';
    this.batch = deps.batch ?? 64;
    this.loop = new StageLoop('journeys', (deadline) => this.step(deadline), deps.load ?? new LoadShare(1), 1000);
  }

  start(): void {
    this.loop.start();
  }
  wake(): void {
    this.loop.wake();
  }
  stop(): Promise<void> {
    return this.loop.stop();
  }
  /** Runs until no input, due timer, due schedule or pending effect remains (tests, shutdown). */
  drain(): Promise<void> {
    return this.loop.drain();
  }

  /**
   * One turn: inputs, then due timers, then due schedules, catalog changes and trait updates. True when work
   * remains. Inputs and timers go in chunks: the profiles of a chunk are read first, then the chunk's steps run in
   * one transaction (with the input position), so a commit is paid per chunk, not per step; a crash repeats the
   * whole chunk or none of it, and each step is idempotent anyway.
   */
  async step(deadline: number): Promise<boolean> {
    const { store, engine, profiles, clock } = this.deps;
    let more = false;
    if (this.deps.inputs) {
      for (;;) {
        const from = store.position(this.consumer);
        const items = await this.deps.inputs.read(from, this.batch);
        if (items.length === 0) break;
        const views = await Promise.all(
          items.map((item) => (item.input && engine.concerns(item.input.workspaceId, item.input.profileId, item.input.event) ? profiles.get(item.input.workspaceId, item.input.profileId) : undefined)),
        );
        let moved = false;
        store.transaction(() => {
          if (store.position(this.consumer) !== from) return; // another turn took it
          items.forEach((item, i) => {
            const profile = views[i];
            if (item.input && profile) engine.handleEvent(item.input.workspaceId, profile, item.input.event);
          });
          store.setPosition(this.consumer, items[items.length - 1].position);
          moved = true;
        });
        if (!moved) return true;
        if (items.length < this.batch) break;
        if (performance.now() > deadline) return true;
      }
    }
    const now = clock.now();
    for (;;) {
      const due = store.due(now, this.batch);
      if (due.length === 0) break;
      const views = await Promise.all(due.map((inst) => profiles.get(inst.workspaceId, inst.profileId)));
      store.transaction(() => due.forEach((inst, i) => engine.fireTimer(inst.id, views[i])));
      if (due.length < this.batch) break;
      if (performance.now() > deadline) return true;
    }
    if (this.deps.audiences) {
      for (const s of store.dueSchedules(now)) {
        const ids = await this.deps.audiences.members(s.workspaceId, (store.latest(s.workspaceId).find((j) => j.key === s.journey)?.body.trigger as { audience?: string }).audience ?? '');
        for (let i = 0; i < ids.length || i === 0; i += SCHEDULE_CHUNK) {
          const chunk = ids.slice(i, i + SCHEDULE_CHUNK);
          const views = (await Promise.all(chunk.map((id) => profiles.get(s.workspaceId, id)))).filter((p): p is JourneyProfile => p !== undefined);
          engine.fireSchedule(s.workspaceId, s.journey, s.nextAt, views, i + SCHEDULE_CHUNK >= ids.length);
        }
      }
    }
    const changes = store.catalogChanges(CATALOG_BATCH);
    for (const change of changes) {
      await this.catalogChange(change);
      if (performance.now() > deadline) return true;
    }
    if (changes.length === CATALOG_BATCH) more = true;
    if (this.deps.traits) {
      for (const e of store.effects(this.batch)) {
        try {
          await this.deps.traits.setTraits(e.workspaceId, e.profileId, e.traits, e.messageId);
          store.removeEffect(e.id);
        } catch (error) {
          this.deps.onError?.(`journey trait update for ${e.profileId} failed and will be retried: ${(error as Error).message}`);
          break;
        }
      }
    }
    this.arm();
    return more;
  }

  /**
   * One queued catalog row change: for every active catalog_changed journey on that catalog whose filters it
   * satisfies, the recipients (audience members, or who performed the event on this key within the window) enter in
   * chunks keyed by the change; then the change is removed. A crash repeats it and enters nobody twice.
   */
  private async catalogChange(c: CatalogChange): Promise<void> {
    const { store, engine, profiles, clock } = this.deps;
    const event: JourneyEvent = {
      type: 'track', event: 'Catalog Row Changed', timestamp: c.at, messageId: `catalog-${c.id}`,
      properties: { catalog: c.catalog, key: c.key, before: c.before ?? null, after: c.after ?? null },
    };
    for (const j of store.latest(c.workspaceId)) {
      const t = j.body.trigger;
      if (t.type !== 'catalog_changed' || t.catalog !== c.catalog || j.status !== 'active') continue;
      if (!Engine.catalogMatches(t, c.before, c.after, clock.now())) continue;
      let ids: string[] = [];
      if (t.audience !== undefined) ids = (await this.deps.audiences?.members(c.workspaceId, t.audience)) ?? [];
      else if (t.performed && this.deps.performers) {
        ids = await this.deps.performers.performers(c.workspaceId, t.performed.event, t.performed.property, c.key, c.at - parseDuration(t.performed.within, 'trigger.performed.within'));
      }
      for (let i = 0; i < ids.length; i += SCHEDULE_CHUNK) {
        const chunk = ids.slice(i, i + SCHEDULE_CHUNK);
        const views = (await Promise.all(chunk.map((id) => profiles.get(c.workspaceId, id)))).filter((p): p is JourneyProfile => p !== undefined);
        engine.fireCatalogChange(c.workspaceId, j.key, c.id, event, views);
      }
    }
    store.removeCatalogChange(c.id);
  }

  /** Sleeps on the injected clock until the next timer, then wakes the loop (ManualClock.advance wakes it in tests). */
  private arm(): void {
    const timer = this.deps.store.nextWake() ?? Infinity;
    const schedule = this.deps.audiences ? (this.deps.store.dueSchedules(Number.MAX_SAFE_INTEGER)[0]?.nextAt ?? Infinity) : Infinity;
    const next = Math.min(timer, schedule);
    if (next === Infinity || next === this.armed) return;
    this.armed = next;
    const wait = Math.max(0, Math.min(next - this.deps.clock.now(), 60_000));
    void this.deps.clock.sleep(wait).then(() => {
      if (this.armed === next) this.armed = undefined;
      this.loop.wake();
    });
  }
}
