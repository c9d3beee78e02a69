import type { CommittedOutputs, FactsProvider } from '../apply/apply-stage.js';
import type { ApplyStore, MirrorEntry } from '../apply/ports.js';
import { BatchSizer, LoadShare, StageLoop } from '../core/stage-loop.js';
import type { MirrorProfile } from '../storage/duckdb/warehouse.js';

/** What the mirror needs of the warehouse (the embedded DuckDbWarehouse). */
export interface MirrorTarget {
  mirror(profiles: MirrorProfile[]): Promise<number>;
  mirrorErase(workspaceId: string, profileIds: string[]): Promise<void>;
  meta(key: string): Promise<number | undefined>;
  setMeta(key: string, value: number): Promise<void>;
}

const PER_STEP = 1000;
const BUILT = 'mirror_built';

/**
 * Keeps the relational inputs of the condition language (c_profiles, c_identifiers, c_subscriptions,
 * c_memberships and the event -> profile mapping behind c_events) as tables in the warehouse, so that a preview, a
 * backfill or an SQL trait is one query instead of a load of every profile.
 *
 * Every apply commit queues the profiles it touched (apply_mirror_queue, in the same transaction); this loop copies
 * their current facts, computed values and memberships to the warehouse thread, which replaces their rows and
 * follows the resolve stage's event mapping the way it follows the events. A merge or a recompute marks the profile
 * `remap`: its mapping is read again. The first start over existing data queues every profile once.
 */
export class ProfileMirror {
  private readonly loop: StageLoop;
  private lock: Promise<unknown> = Promise.resolve();
  private built = false;
  private readonly sizer = new BatchSizer(PER_STEP, PER_STEP);

  constructor(
    private readonly warehouse: MirrorTarget,
    private readonly apply: ApplyStore,
    private readonly facts: FactsProvider,
    private readonly load: LoadShare = new LoadShare(),
    private readonly onError: (message: string) => void = () => undefined,
    /** The apply stage's committed outputs of a profile it holds in memory (undefined: read them from the store). */
    private readonly outputs: (workspaceId: string, profileId: string) => CommittedOutputs | undefined = () => undefined,
  ) {
    this.loop = new StageLoop('warehouse mirror', () => this.step(), load, 1000);
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Copies everything queued so far: afterwards the mirror reflects every apply effect committed before the call. */
  async sync(): Promise<void> {
    while (await this.step()) { /* until the queue is empty */ }
  }

  /** Privacy erasure: the profiles' rows leave the mirror at once. */
  erase(workspaceId: string, profileIds: string[]): Promise<void> {
    return this.exclusive(() => this.warehouse.mirrorErase(workspaceId, profileIds));
  }

  /** One batch of the queue (the event mapping advances even when it is empty); true if more is queued. */
  step(): Promise<boolean> {
    return this.exclusive(async () => {
      if (!this.built) {
        if ((await this.warehouse.meta(BUILT)) === undefined) {
          this.apply.mirrorEnqueueAll();
          await this.warehouse.setMeta(BUILT, 1);
        }
        this.built = true;
      }
      const limit = this.sizer.size(this.load.busy());
      const started = performance.now();
      const entries = this.apply.mirrorQueue(limit);
      const profiles: MirrorProfile[] = [];
      for (const e of entries) profiles.push(await this.profile(e));
      await this.warehouse.mirror(profiles);
      this.apply.mirrorDone(entries);
      this.sizer.record(entries.length, performance.now() - started);
      return entries.length === limit;
    });
  }

  private async profile(e: MirrorEntry): Promise<MirrorProfile> {
    const base = { ws: e.workspaceId, id: e.profileId, remap: e.remap };
    let facts;
    try {
      facts = await this.facts(e.workspaceId, e.profileId);
    } catch (error) {
      this.onError(`mirror: the facts of profile ${e.profileId} could not be read: ${(error as Error).message}`);
      throw error;
    }
    if (!facts) return { ...base, gone: true, traits: '{}', computed: '{}', identifiers: [], subscriptions: [], memberships: [] };
    const held = this.outputs(e.workspaceId, e.profileId);
    return {
      ...base,
      gone: false,
      traits: JSON.stringify(facts.traits),
      computed: JSON.stringify(held ? held.computed : this.apply.computed(e.workspaceId, e.profileId)),
      identifiers: facts.identifiers.map((i) => [i.type, i.value]),
      subscriptions: Object.entries(facts.subscriptions),
      memberships: [...(held ? held.memberships : this.apply.memberships(e.workspaceId, e.profileId)).keys()],
    };
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.catch(() => undefined);
    return run;
  }
}
