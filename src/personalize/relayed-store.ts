import type { DecisionRecord, GroupTotals, PersonalizeStore, StoredModel } from '../storage/sqlite/personalize-store.js';

/**
 * Under `tandem start` the front thread answers POST /v1/personalize and the core thread is store.db's one writer
 * (docs/personalization.md#threads): the front reads the decision log and models on its own connection and sends
 * every write to the core as one of these, in order.
 */
export type PersonalizeWrite =
  | { op: 'record'; rows: DecisionRecord[] }
  | { op: 'reward'; workspaceId: string; id: string; value: number; event: string; at: number }
  | { op: 'saveModels'; workspaceId: string; decision: string; models: StoredModel[]; at: number }
  | { op: 'forget'; workspaceId: string; decision: string };

/** A reward event the core's events stage stored, for the thread that holds the bandit models. */
export interface RelayedReward {
  workspaceId: string;
  id: string;
  event: string;
  at: number;
}

const visitorKey = (workspaceId: string, decision: string, visitor: string) => `${workspaceId}\u0000${decision}\u0000${visitor}`;

/**
 * The front thread's PersonalizeStore: reads from `reader` (a connection to store.db), writes sent with `send`
 * (numbered; the core acknowledges each once committed). Until then the sent decisions still count here: caps
 * see their impressions and a reward finds them, so nothing is missed in the few milliseconds a write travels.
 */
export class RelayedPersonalizeStore implements PersonalizeStore {
  private seq = 0;
  /** Decisions sent and not yet acknowledged, by id, with the message that carried them. */
  private readonly inFlight = new Map<string, { record: DecisionRecord; seq: number }>();
  private readonly byVisitor = new Map<string, Set<DecisionRecord>>();
  /** Decisions already in the log whose reward was sent and not yet acknowledged (a second one must not count). */
  private readonly rewarding = new Map<string, number>();
  /** Models sent and not yet acknowledged, per workspace and decision: a bandit reloaded meanwhile starts from them. */
  private readonly savingModels = new Map<string, { seq: number; models: StoredModel[] }>();

  constructor(
    private readonly reader: Pick<PersonalizeStore, 'impressions' | 'get' | 'totals' | 'list' | 'models'>,
    private readonly send: (seq: number, writes: PersonalizeWrite[]) => void,
  ) {}

  /** The core committed every write up to `seq`. */
  acknowledged(seq: number): void {
    for (const [id, f] of this.inFlight) {
      if (f.seq > seq) continue;
      this.inFlight.delete(id);
      const key = visitorKey(f.record.workspaceId, f.record.decision, f.record.visitor);
      const set = this.byVisitor.get(key);
      set?.delete(f.record);
      if (set?.size === 0) this.byVisitor.delete(key);
    }
    for (const [id, s] of this.rewarding) if (s <= seq) this.rewarding.delete(id);
    for (const [key, m] of this.savingModels) if (m.seq <= seq) this.savingModels.delete(key);
  }

  /** Writes not yet acknowledged (tests, metrics). */
  get unacknowledged(): number {
    return this.inFlight.size + this.rewarding.size + this.savingModels.size;
  }

  private post(writes: PersonalizeWrite[]): number {
    const seq = ++this.seq;
    this.send(seq, writes);
    return seq;
  }

  record(rows: DecisionRecord[]): void {
    const seq = this.post([{ op: 'record', rows }]);
    for (const r of rows) {
      this.inFlight.set(r.id, { record: r, seq });
      const key = visitorKey(r.workspaceId, r.decision, r.visitor);
      let set = this.byVisitor.get(key);
      if (!set) this.byVisitor.set(key, (set = new Set()));
      set.add(r);
    }
  }

  impressions(workspaceId: string, decision: string, visitor: string, since: number): Map<string, number> {
    const counts = this.reader.impressions(workspaceId, decision, visitor, since);
    for (const r of this.byVisitor.get(visitorKey(workspaceId, decision, visitor)) ?? []) {
      if (r.offer === null || r.at < since) continue;
      // Committed but not yet acknowledged: the read above counted it already.
      if (this.reader.get(workspaceId, r.id)) continue;
      counts.set(r.offer, (counts.get(r.offer) ?? 0) + 1);
    }
    return counts;
  }

  get(workspaceId: string, id: string): DecisionRecord | undefined {
    const f = this.inFlight.get(id);
    if (f) return f.record.workspaceId === workspaceId ? f.record : undefined;
    return this.reader.get(workspaceId, id);
  }

  reward(workspaceId: string, id: string, value: number, event: string, at: number): boolean {
    const f = this.inFlight.get(id);
    if (f) {
      if (f.record.workspaceId !== workspaceId || f.record.reward !== null) return false;
      // The core inserts the row before it applies the reward (one channel, in order).
      Object.assign(f.record, { reward: value, rewardEvent: event, rewardedAt: at });
      this.post([{ op: 'reward', workspaceId, id, value, event, at }]);
      return true;
    }
    if (this.rewarding.has(id)) return false;
    const stored = this.reader.get(workspaceId, id);
    if (!stored || stored.reward !== null) return false;
    this.rewarding.set(id, this.post([{ op: 'reward', workspaceId, id, value, event, at }]));
    return true;
  }

  totals(workspaceId: string, decision: string, since: number): GroupTotals[] {
    return this.reader.totals(workspaceId, decision, since);
  }

  list(workspaceId: string, decision: string, limit: number): DecisionRecord[] {
    return this.reader.list(workspaceId, decision, limit);
  }

  models(workspaceId: string, decision: string): StoredModel[] {
    const stored = this.reader.models(workspaceId, decision);
    const sent = this.savingModels.get(`${workspaceId}\u0000${decision}`);
    if (!sent) return stored;
    const byOffer = new Map(stored.map((m) => [m.offer, m]));
    for (const m of sent.models) byOffer.set(m.offer, m);
    return [...byOffer.values()];
  }

  saveModels(workspaceId: string, decision: string, models: StoredModel[], at: number): void {
    // A copy: the models go on learning in memory while the message travels.
    const copy = structuredClone(models);
    const seq = this.post([{ op: 'saveModels', workspaceId, decision, models: copy, at }]);
    const key = `${workspaceId}\u0000${decision}`;
    const before = this.savingModels.get(key)?.models ?? [];
    const byOffer = new Map(before.map((m) => [m.offer, m]));
    for (const m of copy) byOffer.set(m.offer, m);
    this.savingModels.set(key, { seq, models: [...byOffer.values()] });
  }

  forget(workspaceId: string, decision: string): void {
    for (const [id, f] of this.inFlight) if (f.record.workspaceId === workspaceId && f.record.decision === decision) this.inFlight.delete(id);
    for (const key of [...this.byVisitor.keys()]) if (key.startsWith(`${workspaceId}\u0000${decision}\u0000`)) this.byVisitor.delete(key);
    this.savingModels.delete(`${workspaceId}\u0000${decision}`);
    this.post([{ op: 'forget', workspaceId, decision }]);
  }

  eraseProfiles(): number {
    throw new Error('erasure of decisions runs on the core thread');
  }
}

/**
 * The core thread's side: applies relayed writes in the order they were sent, acknowledging each message once
 * committed. A failed write (a busy database) is retried, and the messages behind it wait, so a reward never
 * reaches the log before its decision.
 */
export class RelayedWrites {
  private readonly queue: { seq: number; writes: PersonalizeWrite[] }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly apply: (writes: PersonalizeWrite[]) => void,
    private readonly acknowledge: (seq: number) => void,
    private readonly onError: (message: string) => void,
    private readonly retryMs = 200,
  ) {}

  receive(seq: number, writes: PersonalizeWrite[]): void {
    this.queue.push({ seq, writes });
    if (!this.timer) this.drain();
  }

  /** Applies what is queued (also at close, so that nothing received is dropped while the database is open). */
  drain(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    let done: number | undefined;
    while (this.queue.length) {
      const next = this.queue[0];
      try {
        this.apply(next.writes);
      } catch (error) {
        this.onError(`personalize: writing relayed decisions failed (will retry): ${(error as Error).message}`);
        this.timer = setTimeout(() => this.drain(), this.retryMs);
        this.timer.unref();
        break;
      }
      this.queue.shift();
      done = next.seq;
    }
    if (done !== undefined) this.acknowledge(done);
  }

  get pending(): number {
    return this.queue.length;
  }
}
