import { accountOf } from '../accounts/accounts.js';
import type { Clock } from '../core/clock.js';
import { newId } from '../core/ids.js';
import { BatchSizer, LoadShare, StageLoop } from '../core/stage-loop.js';
import type { IdentityStore, ResolvedEvent, StoredEvent } from '../core/ports/store.js';
import { sightings } from '../profiles/survivorship.js';
import { WorkingGraph } from './graph.js';
import { extractIdentity } from './identifiers.js';
import { ANONYMOUS_ID, USER_ID, type EventIdentity, type Identifier } from './model.js';
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
// A batch is one read of the graph and one transaction. While collection requests arrive, batches stay small so
// that turns stay a few milliseconds (see StageLoop). Otherwise they are large: a commit's cost is mostly the
// index pages it dirties, and events of one batch share pages, so 5,000 events per commit resolve about 3 times
// faster than 50 (docs/benchmarks.md, identity), at the price of a transaction of a few hundred milliseconds.
const EVENTS_PER_BUSY_BATCH = 50;
const EVENTS_PER_IDLE_BATCH = 5000;

/**
 * The resolve stage: takes stored events in id order, resolves each to a profile (linking identifiers, merging
 * within the identity rules, recording conflicts), keeps the event's traits on its profile, and commits all of it
 * with its position in one transaction, so a crash neither loses nor repeats a resolution. The graph has one
 * writer, this stage, which is what lets it read the graph before the transaction that writes it.
 */
export class ResolveStage {
  private readonly loop: StageLoop;
  private readonly sizer = new BatchSizer(EVENTS_PER_BUSY_BATCH, EVENTS_PER_IDLE_BATCH);
  private listeners = new Set<ResolvedListener>();
  /** Batches never overlap, whoever runs them: two resolving the same events would both create profiles. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly events: StoredEvents,
    private readonly identity: IdentityStore,
    private readonly rules: ActiveIdentityRules,
    private readonly clock: Clock,
    private readonly load: LoadShare = new LoadShare(),
    private readonly newProfileId: () => string = newId,
  ) {
    this.loop = new StageLoop('resolve', (deadline) => this.step(deadline), load);
  }

  private filter: ResolveFilter | undefined;

  /** Events the filter drops resolve to no profile: no identifiers, links, traits or timeline row. */
  filterWith(filter: ResolveFilter): void {
    this.filter = filter;
  }

  /** Runs `fn` between batches, never beside one: graph writers other than the stage (privacy erasure) go through here. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
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
    const resolved = await this.resolve(events);
    await this.identity.commit(CONSUMER, events[events.length - 1].id, resolved, this.clock.now());
    for (const listener of this.listeners) listener(resolved);
    return events.length === limit;
  }

  private async resolve(events: StoredEvent[]): Promise<ResolvedEvent[]> {
    const byWorkspace = new Map<string, StoredEvent[]>();
    for (const e of events) {
      const list = byWorkspace.get(e.workspaceId);
      if (list) list.push(e);
      else byWorkspace.set(e.workspaceId, [e]);
    }
    const out = new Map<number, ResolvedEvent>();
    for (const [workspaceId, list] of byWorkspace) {
      const rules = await this.rules.for(workspaceId);
      const identities = list.map((e) => extractIdentity(e.id, e.message, rules));
      const dropped = this.filter && (await this.filter.dropped(workspaceId, identities));
      const graph = new WorkingGraph(await this.identity.slice(workspaceId, identities.flatMap(lookups)));
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
    return events.map((e) => out.get(e.id)!);
  }
}

/** Identifiers whose profiles the resolver may need for an event: its own, and both readings of an alias's previousId. */
function lookups(identity: EventIdentity): Identifier[] {
  if (identity.previousId === undefined) return identity.identifiers;
  return [...identity.identifiers, { type: ANONYMOUS_ID, value: identity.previousId }, { type: USER_ID, value: identity.previousId }];
}
