import type { Clock } from '../core/clock.js';
import { newId } from '../core/ids.js';
import type { IdentityStore, ResolvedEvent, StoredEvent } from '../core/ports/store.js';
import { sightings } from '../profiles/survivorship.js';
import { WorkingGraph } from './graph.js';
import { extractIdentity } from './identifiers.js';
import { ANONYMOUS_ID, USER_ID, type EventIdentity, type Identifier } from './model.js';
import { resolveEvent } from './resolver.js';
import type { ActiveIdentityRules } from './rules.js';

/** Where the stage reads stored events from, oldest first (a slice of the Store port). */
export interface StoredEvents {
  after(afterId: number, limit: number): Promise<StoredEvent[]>;
}

export type ResolvedListener = (events: ResolvedEvent[]) => void;

const CONSUMER = 'resolve';
const EVENTS_PER_TURN = 1000;

/**
 * The resolve stage: takes stored events in id order, resolves each to a profile (linking identifiers, merging
 * within the identity rules, recording conflicts), keeps the event's traits on its profile, and commits all of it
 * with its position in one transaction, so a crash neither loses nor repeats a resolution. The graph has one
 * writer, this stage, which is what lets it read the graph before the transaction that writes it.
 */
export class ResolveStage {
  private running = false;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private listeners = new Set<ResolvedListener>();
  /** Turns and drains run one at a time: two resolving the same events would both create profiles. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly events: StoredEvents,
    private readonly identity: IdentityStore,
    private readonly rules: ActiveIdentityRules,
    private readonly clock: Clock,
    private readonly newProfileId: () => string = newId,
  ) {}

  /** Runs on every wake() (the events stage calls it after storing events) and on a slow timer as a safety net. */
  start(): void {
    this.timer = setInterval(() => this.wake(), 1000);
    this.timer.unref();
    this.wake();
  }

  subscribe(listener: ResolvedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    setImmediate(() => void this.turn());
  }

  /** Resolves every event stored so far (tests and shutdown). */
  async drain(): Promise<void> {
    while (await this.process(EVENTS_PER_TURN)) { /* until caught up */ }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    while (this.running) await new Promise((r) => setImmediate(r));
  }

  private async turn(): Promise<void> {
    try {
      const more = await this.process(EVENTS_PER_TURN);
      if ((more || this.again) && !this.stopped) {
        this.again = false;
        setImmediate(() => void this.turn());
        return;
      }
    } catch (error) {
      // Nothing was committed, so the same events are resolved again on the next wake-up.
      process.emitWarning(`resolve stage failed and will retry: ${(error as Error).message}`);
    }
    this.running = false;
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
      const graph = new WorkingGraph(await this.identity.slice(workspaceId, identities.flatMap(lookups)));
      list.forEach((e, i) => {
        out.set(e.id, {
          workspaceId,
          sourceId: e.sourceId,
          messageId: e.message.messageId,
          at: Date.parse(e.message.timestamp),
          resolution: resolveEvent(graph, identities[i], rules, this.newProfileId),
          traits: sightings(e.message),
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
