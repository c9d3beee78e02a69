import type { Clock } from '../../core/clock.js';
import type { Config } from '../../core/config.js';
import { TandemError } from '../../core/errors.js';
import type { Log, LogBatch } from '../../core/ports/log.js';
import type { QuarantineItem, Source, Store } from '../../core/ports/store.js';
import { MessageTypes, type LogEntry, type Message, type MessageType, type Violation } from '../message.js';
import { normalise } from '../normalise.js';
import { partitionOf } from '../partition.js';
import type { TrackingPlans } from '../tracking-plan/check.js';
import { checkMessage, type MessageProblem } from '../validate.js';
import { applyJsonPatch, applyMapping, type Operation } from './fix.js';
import { isHeldWebhook, type HeldWebhook, type WebhookRerun } from './held-webhook.js';

export interface ReplayRequest {
  ids: number[];
  /** RFC 6902 operations applied to each message (after the mapping). */
  patch?: Operation[];
  /** Field renames, from path -> to path, applied to each message first. */
  mapping?: Record<string, string>;
  /** Check only: nothing is appended or updated; each result carries the message as it would be replayed. */
  dryRun?: boolean;
}

export type ReplayOutcome = 'replayed' | 'held' | 'failed' | 'not_found' | 'not_held';

export interface ReplayResult {
  id: number;
  /**
   * replayed: passes now and was appended to the log as an event; held: still fails, kept with the new reasons;
   * failed: the edits could not be applied (or the source is gone), the item is unchanged; not_found;
   * not_held: already replayed or discarded.
   */
  outcome: ReplayOutcome;
  /** held: why it still fails; replayed: violations recorded on the event (flag policies). */
  reasons?: Violation[];
  error?: { code: string; message: string; path?: string };
  status?: QuarantineItem['status'];
  /** dry runs: the message after the edits (a held webhook: the item with its edited payload). */
  message?: Message;
  /** dry runs of a held webhook: the messages its function maps the payload to now. */
  messages?: Message[];
}

export interface ReplayAnswer {
  dryRun: boolean;
  replayed: number;
  held: number;
  results: ReplayResult[];
}

export interface DiscardResult {
  id: number;
  outcome: 'discarded' | 'not_found' | 'not_held';
  status?: QuarantineItem['status'];
}

const TYPES = new Set<string>(MessageTypes);

/** Collection's checks name problems by code; the quarantine files them under the violation kinds. */
function problemToViolation(p: MessageProblem): Violation {
  const kind: Violation['kind'] = p.code === 'required' || p.code === 'missing_identity' ? 'required_missing' : p.code === 'wrong_type' ? 'type_mismatch' : 'schema_error';
  return { kind, path: p.path, message: p.message };
}

export interface QuarantineDeps {
  store: Store;
  log: Log;
  plans: TrackingPlans;
  clock: Clock;
  limits: Config['collect'];
}

/**
 * Fix and replay, or discard, messages held in the quarantine. Nothing leaves it otherwise: a replayed message
 * goes back through the same checks as at collection and, if it passes, into the Log as an event carrying
 * `replayOf`; the events stage marks the item replayed in the transaction that stores the event.
 */
export class Quarantine {
  private rerun: WebhookRerun | undefined;

  constructor(private readonly deps: QuarantineDeps) {}

  /** Sets how a held webhook payload is mapped again (webhook sources: src/transforms/webhooks.ts). */
  rerunWebhooksWith(rerun: WebhookRerun): void {
    this.rerun = rerun;
  }

  async replay(workspaceId: string, request: ReplayRequest, actor: string): Promise<ReplayAnswer> {
    const { store, plans, clock, log } = this.deps;
    const dryRun = request.dryRun ?? false;
    await plans.prepare(workspaceId);
    const sources = new Map<string, Source | undefined>();
    const results: ReplayResult[] = [];
    const groups = new Map<string, { sourceId: string; partition: number; entries: string[] }>();
    const now = clock.now();
    const ids = [...new Set(request.ids)].sort((a, b) => a - b); // oldest first keeps a person's events in order
    const webhooksDone: number[] = [];
    const enqueue = (sourceId: string, entry: LogEntry) => {
      const partition = partitionOf(entry.message.userId ?? entry.message.anonymousId ?? entry.message.messageId, log.partitions);
      const key = `${sourceId}\u0000${partition}`;
      const group = groups.get(key);
      if (group) group.entries.push(JSON.stringify(entry));
      else groups.set(key, { sourceId, partition, entries: [JSON.stringify(entry)] });
    };

    for (const id of ids) {
      const item = await store.quarantine.get(workspaceId, id);
      if (!item) {
        results.push({ id, outcome: 'not_found', error: { code: 'not_found', message: `quarantine item ${id} does not exist` } });
        continue;
      }
      if (item.status !== 'held') {
        results.push({ id, outcome: 'not_held', status: item.status, error: { code: 'not_held', message: `quarantine item ${id} is already ${item.status}` } });
        continue;
      }
      if (!sources.has(item.sourceId)) sources.set(item.sourceId, await store.sources.byId(item.sourceId));
      const source = sources.get(item.sourceId);
      if (!source || source.workspaceId !== workspaceId) {
        results.push({ id, outcome: 'failed', error: { code: 'source_missing', message: `the source of quarantine item ${id} was deleted; discard the item instead` } });
        continue;
      }

      if (isHeldWebhook(item.message)) {
        const ran = await this.replayWebhook(item, source, request);
        results.push(ran.result);
        if (dryRun || ran.result.outcome === 'failed') continue;
        if (ran.result.outcome === 'held') await store.quarantine.update(workspaceId, id, ran.held as unknown as Message, ran.result.reasons ?? [], now);
        else {
          for (const entry of ran.entries ?? []) enqueue(source.id, entry);
          webhooksDone.push(id);
        }
        continue;
      }

      const checked = this.recheck(item, request);
      if ('error' in checked) {
        results.push({ id, outcome: 'failed', error: checked.error });
        continue;
      }
      const { message } = checked;
      plans.alias(source, message);
      const reasons = checked.problem ? [checked.problem] : undefined;
      const verdict = reasons ? { quarantine: true, violations: reasons } : plans.check(source, message);
      const result: ReplayResult = verdict.quarantine
        ? { id, outcome: 'held', reasons: verdict.violations }
        : { id, outcome: 'replayed', ...(verdict.violations.length ? { reasons: verdict.violations } : {}) };
      if (dryRun) result.message = message;
      results.push(result);
      if (dryRun) continue;

      if (verdict.quarantine) {
        await store.quarantine.update(workspaceId, id, message, verdict.violations, now);
        continue;
      }
      enqueue(source.id, { kind: 'event', violations: verdict.violations, message, replayOf: id });
    }

    if (!dryRun && groups.size) {
      const batches: LogBatch[] = [...groups.values()].map((g) => ({
        partition: g.partition,
        workspaceId,
        sourceId: g.sourceId,
        receivedAt: now,
        count: g.entries.length,
        payload: `[${g.entries.join(',')}]`,
      }));
      await log.append(batches);
    }
    // A held webhook's messages carry no replayOf (it may map to none, or to several): it is marked once they are logged.
    if (webhooksDone.length) await store.quarantine.setStatus(workspaceId, webhooksDone, 'replayed', now);

    const count = (o: ReplayOutcome) => results.filter((r) => r.outcome === o).length;
    const answer: ReplayAnswer = { dryRun, replayed: count('replayed'), held: count('held'), results };
    // Audited when something changed: a replay edits held messages or releases them into the event stream.
    if (!dryRun && answer.replayed + answer.held > 0) {
      await store.audit.add(
        {
          workspaceId,
          actor,
          action: 'quarantine.replay',
          target: 'quarantine',
          detail: {
            ids,
            replayed: results.filter((r) => r.outcome === 'replayed').map((r) => r.id),
            held: results.filter((r) => r.outcome === 'held').map((r) => r.id),
            ...(request.patch ? { patch: request.patch } : {}),
            ...(request.mapping ? { mapping: request.mapping } : {}),
          },
        },
        now,
      );
    }
    return answer;
  }

  /**
   * Applies the edits and runs collection's checks again (Segment spec, depth, size), then normalises the result
   * as collection would. The time Tandem first received the message is kept; client timestamps are taken as
   * already corrected for skew.
   */
  private recheck(item: QuarantineItem, request: ReplayRequest): { message: Message; problem?: Violation } | { error: ReplayResult['error'] } {
    const edited = this.edit(item, request);
    if ('error' in edited) return edited;
    const receivedAt = Date.parse(item.message.receivedAt);
    return this.check(edited.doc, Number.isFinite(receivedAt) ? receivedAt : item.receivedAt, '');
  }

  private edit(item: QuarantineItem, request: ReplayRequest): { doc: Record<string, unknown> } | { error: ReplayResult['error'] } {
    const doc = structuredClone(item.message) as unknown as Record<string, unknown>;
    try {
      if (request.mapping) applyMapping(doc, request.mapping);
      if (request.patch?.length) applyJsonPatch(doc, request.patch);
    } catch (error) {
      if (error instanceof TandemError) return { error: { code: error.code, message: error.message, ...(error.path ? { path: error.path } : {}) } };
      throw error;
    }
    return { doc };
  }

  /** Collection's checks on one message (`prefix` names it in a problem's path), normalised as collection would. */
  private check(raw: unknown, receivedAt: number, prefix: string): { message: Message; problem?: Violation } {
    const doc = (raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
    const type = doc.type;
    const at = (path: string) => (prefix && path ? `${prefix}.${path}` : prefix || path);
    if (typeof type !== 'string' || !TYPES.has(type)) {
      return { message: doc as unknown as Message, problem: { kind: 'schema_error', path: at('type'), message: `${at('type')} must be one of ${MessageTypes.join(', ')}` } };
    }
    const problem = checkMessage(doc, type as MessageType, prefix, this.deps.limits.maxDepth);
    if (problem) return { message: doc as unknown as Message, problem: problemToViolation(problem) };
    const message = normalise(doc, type as MessageType, {}, receivedAt, false);
    if (typeof doc.originalTimestamp === 'string') message.originalTimestamp = doc.originalTimestamp;
    else delete message.originalTimestamp;
    const bytes = Buffer.byteLength(JSON.stringify(message));
    if (bytes > this.deps.limits.maxMessageBytes) {
      return { message, problem: { kind: 'schema_error', path: prefix, message: `${prefix || 'message'} is ${bytes} bytes; the limit is ${this.deps.limits.maxMessageBytes} bytes per message` } };
    }
    return { message };
  }

  /**
   * A held webhook payload: the edits apply to the held item (paths such as /payload/customer), then the source's
   * current webhook function maps the payload again and each message it returns is checked as at collection. All
   * pass: they are logged (a tracking plan may still hold one of them, as a message); else the payload stays held.
   */
  private async replayWebhook(item: QuarantineItem, source: Source, request: ReplayRequest): Promise<{ result: ReplayResult; entries?: LogEntry[]; held?: HeldWebhook }> {
    const { id } = item;
    const edited = this.edit(item, request);
    if ('error' in edited) return { result: { id, outcome: 'failed', error: edited.error } };
    const held = edited.doc as unknown as HeldWebhook;
    const shown = request.dryRun ? { message: held as unknown as Message } : {};
    if (!this.rerun) return { result: { id, outcome: 'failed', error: { code: 'webhooks_unavailable', message: 'webhook sources are not running in this process' } } };
    const ran = await this.rerun(source, held);
    if (!ran.ok) return { result: { id, outcome: 'held', reasons: [ran.violation], ...shown }, held };
    const receivedAt = Date.parse(held.receivedAt);
    const entries: LogEntry[] = [];
    for (let i = 0; i < ran.messages.length; i++) {
      const checked = this.check(ran.messages[i], Number.isFinite(receivedAt) ? receivedAt : item.receivedAt, ran.messages.length === 1 ? 'result' : `result[${i}]`);
      if (checked.problem) {
        const reason = { ...checked.problem, message: `function '${held.webhook?.function}' returned an invalid message: ${checked.problem.message}` };
        return { result: { id, outcome: 'held', reasons: [reason], ...shown }, held };
      }
      this.deps.plans.alias(source, checked.message);
      const verdict = this.deps.plans.check(source, checked.message);
      entries.push({ kind: verdict.quarantine ? 'quarantine' : 'event', violations: verdict.violations, message: checked.message });
    }
    const violations = entries.flatMap((e) => e.violations);
    return {
      result: { id, outcome: 'replayed', ...(violations.length ? { reasons: violations } : {}), ...shown, ...(request.dryRun ? { messages: entries.map((e) => e.message) } : {}) },
      entries,
    };
  }

  async discard(workspaceId: string, ids: number[], reason: string, actor: string): Promise<{ discarded: number; results: DiscardResult[] }> {
    const { store, clock } = this.deps;
    const results: DiscardResult[] = [];
    const held: number[] = [];
    for (const id of [...new Set(ids)]) {
      const item = await store.quarantine.get(workspaceId, id);
      if (!item) results.push({ id, outcome: 'not_found' });
      else if (item.status !== 'held') results.push({ id, outcome: 'not_held', status: item.status });
      else {
        held.push(id);
        results.push({ id, outcome: 'discarded' });
      }
    }
    const now = clock.now();
    // setStatus only changes rows still held, so an item replayed meanwhile is not discarded behind our back.
    const discarded = held.length ? await store.quarantine.setStatus(workspaceId, held, 'discarded', now) : 0;
    if (discarded !== held.length) {
      for (const r of results) {
        if (r.outcome !== 'discarded') continue;
        const now2 = await store.quarantine.get(workspaceId, r.id);
        if (now2 && now2.status !== 'discarded') Object.assign(r, { outcome: 'not_held', status: now2.status });
      }
    }
    if (discarded) await store.audit.add({ workspaceId, actor, action: 'quarantine.discard', target: 'quarantine', detail: { ids: results.filter((r) => r.outcome === 'discarded').map((r) => r.id), reason } }, now);
    return { discarded, results };
  }
}
