import { accountOf } from '../accounts/accounts.js';
import type { Clock } from '../core/clock.js';
import { BatchSizer, LoadShare, StageLoop } from '../core/stage-loop.js';
import type { IdentityStore, ResolvedEvent, StoredEvent } from '../core/ports/store.js';
import { sightings } from '../profiles/survivorship.js';
import { WorkingGraph } from './graph.js';
import { extractIdentity } from './identifiers.js';
import { ANONYMOUS_ID, USER_ID, type EventIdentity, type Identifier } from './model.js';
import { newProfileId as timeOrderedId } from './profile-ids.js';
import { ResidentGraph } from './resident-graph.js';
import { resolveEvent } from './resolver.js';
import type { ActiveIdentityRules } from './rules.js';
import { statesSubscriptions } from '../profiles/subscriptions.js';

/** Where the stage reads stored events from, oldest first (a slice of the Store port). */
export interface StoredEvents {
  after(afterId: number, limit: number): Promise<StoredEvent[]>;
}

export type ResolvedListener = (events: ResolvedEvent[]) => void;

/** Decides, per event, whether it is dropped before resolution (privacy tombstones: docs/decisions/0005). */
export interface ResolveFilter {
  dropped(workspaceId: string, identities: EventIdentity[]): Promise<boolean[] | undefined>;
}

const CONSUMER = 'resolve';
// A batch is one transaction (the graph it resolves against is held in memory). While collection requests arrive, batches stay small so
// that turns stay a few milliseconds (see StageLoop). Otherwise they are large: a commit's cost is mostly the
// index pages it dirties, and events of one batch share pages, so 5,000 events per commit resolve about 3 times
// faster than 50 (docs/benchmarks.md, identity), at the price of a transaction of a few hundred milliseconds.
const EVENTS_PER_BUSY_BATCH = 50;
const EVENTS_PER_IDLE_BATCH = 5000;

/**
 * The resolve stage: takes stored events in id order, resolves each to a profile (linking identifiers, merging
 * within the identity rules, recording conflicts), keeps the event's traits on its profile, and commits all of it
 * with its position in one transaction, so a crash neither loses nor repeats a resolution. The graph has one
 * writer, this stage (others take its exclusive turn), which is what lets it keep the identifier-to-profile map
 * in memory between batches (ResidentGraph) instead of reading it from the store before each transaction.
 */
export class ResolveStage {
  private readonly loop: StageLoop;
  private readonly sizer = new BatchSizer(EVENTS_PER_BUSY_BATCH, EVENTS_PER_IDLE_BATCH);
  private listeners = new Set<ResolvedListener>();
  /** Batches never overlap, whoever runs them: two resolving the same events would both create profiles. */
  private queue: Promise<unknown> = Promise.resolve();
  /**
   * Each workspace's graph, loaded from the store on first use and kept across batches (ResidentGraph): what the
   * store holds as of the last commit. Dropped whenever the graph may have changed behind the stage's back.
   */
  private readonly graphs = new Map<string, ResidentGraph>();

  constructor(
    private readonly events: StoredEvents,
    private readonly identity: IdentityStore,
    private readonly rules: ActiveIdentityRules,
    private readonly clock: Clock,
    private readonly load: LoadShare = new LoadShare(),
    private readonly newProfileId: () => string = () => timeOrderedId(clock.now()),
  ) {
    this.loop = new StageLoop('resolve', (deadline) => this.step(deadline), load);
  }

  private filter: ResolveFilter | undefined;

  /** Events the filter drops resolve to no profile: no identifiers, links, traits or timeline row. */
  filterWith(filter: ResolveFilter): void {
    this.filter = filter;
  }

  /**
   * Runs `fn` between batches, never beside one: graph writers other than the stage (privacy erasure, unmerge,
   * blocking) go through here. Identifiers' deferred sightings are written to their rows first (nothing of an
   * erased identifier may wait elsewhere), and the graph held in memory is dropped after `fn`, so the next batch
   * reloads it from the store with whatever `fn` wrote.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      try {
        await this.identity.settle();
        return await fn();
      } finally {
        this.graphs.clear();
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Runs on every wake() (the events stage's listener calls it after storing events) and on a slow timer. */
  start(): void {
    this.loop.start();
  }

  wake(): void {
    this.loop.wake();
  }

  /** Resolves every event stored so far (tests and shutdown). */
  drain(): Promise<void> {
    return this.loop.drain();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  subscribe(listener: ResolvedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves batches until the deadline (a performance.now() value); true if events may remain. */
  private async step(deadline: number): Promise<boolean> {
    for (;;) {
      const limit = this.sizer.size(this.load.busy());
      const started = performance.now();
      const more = await this.process(limit);
      if (more) this.sizer.record(limit, performance.now() - started);
      if (!more) return false;
      if (performance.now() >= deadline) return true;
    }
  }

  /** Resolves up to `limit` events; returns true if more may remain. */
  process(limit: number): Promise<boolean> {
    const run = this.queue.then(() => this.processNow(limit));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async processNow(limit: number): Promise<boolean> {
    const from = await this.identity.position(CONSUMER);
    const events = await this.events.after(from, limit);
    if (events.length === 0) return false;
    const { resolved, graphs } = await this.resolve(events);
    // A failed commit writes nothing and leaves the resident graphs untouched: they still match the store.
    await this.identity.commit(CONSUMER, events[events.length - 1].id, resolved, this.clock.now());
    // Only now, with the batch committed, does the graph in memory take its changes.
    for (const [workspaceId, graph] of graphs) {
      // Profiles merged away that existed before the batch (one created and merged within it was never counted).
      const mine = resolved.filter((e) => e.workspaceId === workspaceId).map((e) => e.resolution);
      const created = new Set(mine.flatMap((r) => (r.created ? [r.created.id] : [])));
      const removed = mine.reduce((n, r) => n + r.merges.filter((m) => !created.has(m.loser)).length, 0);
      this.graphs.get(workspaceId)?.update(graph.profiles(), removed);
    }
    for (const listener of this.listeners) listener(resolved);
    return events.length === limit;
  }

  /** The workspace's graph as committed, loaded from the store when the stage has none in memory. */
  private async graphOf(workspaceId: string): Promise<ResidentGraph> {
    let graph = this.graphs.get(workspaceId);
    if (!graph) {
      const loading = new ResidentGraph();
      await this.identity.eachIdentifier(workspaceId, (profileId, age, type, value) => loading.load(profileId, age, type, value));
      this.graphs.set(workspaceId, (graph = loading.loaded()));
    }
    return graph;
  }

  /** Identifiers and profiles held in memory (the benchmark reports them with the heap they take). */
  residentSize(): { profiles: number; identifiers: number } {
    let profiles = 0;
    let identifiers = 0;
    for (const g of this.graphs.values()) (profiles += g.size.profiles, identifiers += g.size.identifiers);
    return { profiles, identifiers };
  }

  private async resolve(events: StoredEvent[]): Promise<{ resolved: ResolvedEvent[]; graphs: Map<string, WorkingGraph> }> {
    const byWorkspace = new Map<string, StoredEvent[]>();
    for (const e of events) {
      const list = byWorkspace.get(e.workspaceId);
      if (list) list.push(e);
      else byWorkspace.set(e.workspaceId, [e]);
    }
    const out = new Map<number, ResolvedEvent>();
    const graphs = new Map<string, WorkingGraph>();
    for (const [workspaceId, list] of byWorkspace) {
      const rules = await this.rules.for(workspaceId);
      const identities = list.map((e) => extractIdentity(e.id, e.message, rules));
      const dropped = this.filter && (await this.filter.dropped(workspaceId, identities));
      // The batch works on a copy of the profiles it touches: the resident graph changes only after the commit.
      const graph = new WorkingGraph((await this.graphOf(workspaceId)).slice(identities.flatMap(lookups)));
      graphs.set(workspaceId, graph);
      list.forEach((e, i) => {
        // A suppressed group call names no account: the event is about to be erased (docs/decisions/0005).
        const account = dropped?.[i] ? undefined : accountOf(e.message);
        out.set(e.id, {
          workspaceId,
          sourceId: e.sourceId,
          messageId: e.message.messageId,
          at: Date.parse(e.message.timestamp),
          resolution: dropped?.[i] ? { eventId: e.id, profileId: null, merges: [], identifiers: [] } : resolveEvent(graph, identities[i], rules, this.newProfileId),
          traits: sightings(e.message),
          ...(account ? { group: account } : {}),
          ...(statesSubscriptions(e.message) ? { subscriptions: true } : {}),
        });
      });
    }
    // Workspaces never share profiles, so resolving them apart keeps each one's event order.
    return { resolved: events.map((e) => out.get(e.id)!), graphs };
  }
}

/** Identifiers whose profiles the resolver may need for an event: its own, and both readings of an alias's previousId. */
function lookups(identity: EventIdentity): Identifier[] {
  if (identity.previousId === undefined) return identity.identifiers;
  return [...identity.identifiers, { type: ANONYMOUS_ID, value: identity.previousId }, { type: USER_ID, value: identity.previousId }];
}
