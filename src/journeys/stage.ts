import type { Clock } from '../core/clock.js';
import { LoadShare, StageLoop } from '../core/stage-loop.js';
import type { JourneyEngine } from './engine.js';
import type { AudienceMembers, InputSource, JourneyProfile, JourneyStore, ProfileReader, TraitWriter } from './ports.js';

export interface JourneyStageDeps {
  engine: JourneyEngine;
  store: JourneyStore;
  profiles: ProfileReader;
  clock: Clock;
  /** Events to react to, with a position committed with each step (optional: handleEvent can be called directly). */
  inputs?: InputSource;
  audiences?: AudienceMembers;
  traits?: TraitWriter;
  load?: LoadShare;
  /** Consumer name of the input position. */
  consumer?: string;
  batch?: number;
  onError?: (message: string) => void;
}

const SCHEDULE_CHUNK = 500;

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
    this.batch = deps.batch ?? 200;
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

  /** One turn: inputs, then due timers, then due schedules, then trait updates. True when work remains. */
  async step(deadline: number): Promise<boolean> {
    const { store, engine, profiles, clock } = this.deps;
    let more = false;
    if (this.deps.inputs) {
      const from = store.position(this.consumer);
      const items = await this.deps.inputs.read(from, this.batch);
      let expected = from;
      for (const item of items) {
        const profile = await profiles.get(item.input.workspaceId, item.input.profileId);
        let moved = false;
        store.transaction(() => {
          if (store.position(this.consumer) !== expected) return; // another turn took it
          if (profile) engine.handleEvent(item.input.workspaceId, profile, item.input.event);
          store.setPosition(this.consumer, item.position);
          moved = true;
        });
        if (!moved) return true;
        expected = item.position;
        if (performance.now() > deadline) return true;
      }
      if (items.length === this.batch) more = true;
    }
    const now = clock.now();
    const due = store.due(now, this.batch);
    for (const inst of due) {
      const profile = await profiles.get(inst.workspaceId, inst.profileId);
      engine.fireTimer(inst.id, profile);
      if (performance.now() > deadline) return true;
    }
    if (due.length === this.batch) more = true;
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
