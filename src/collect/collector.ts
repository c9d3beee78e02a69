import type { Config } from '../core/config.js';
import { badRequest, TandemError } from '../core/errors.js';
import type { Log, LogBatch } from '../core/ports/log.js';
import type { Source } from '../core/ports/store.js';
import { MessageTypes, type Message, type MessageType, type Violation } from './message.js';
import { normalise, type BatchDefaults } from './normalise.js';
import { partitionOf } from './partition.js';
import { checkBatchField, checkMessage, isIsoDate, type MessageProblem } from './validate.js';

/** What a tracking plan says about one message. */
export interface PlanVerdict {
  violations: Violation[];
  /** True when the source's mode blocks this message: it goes to the quarantine instead of the event stream. */
  quarantine: boolean;
}

export interface TrackingPlanCheck {
  check(source: Source, message: Message): PlanVerdict;
  /** Rewrites a normalised message by the workspace's aliases (renamed events and properties), before check(). */
  alias?(source: Source, message: Message): void;
}

export interface MessageError extends MessageProblem {
  index: number;
  messageId?: string;
}

export interface CollectResult {
  accepted: number;
  quarantined: number;
  errors: MessageError[];
}

/** A checked request: what to append to the log, what to answer, and what to count. */
export interface PreparedBatch extends CollectResult {
  batches: LogBatch[];
  /** Messages in the request. */
  received: number;
  /** Accepted messages with tracking-plan violations recorded. */
  flagged: number;
}

export type CollectCall = { kind: 'single'; type: MessageType } | { kind: 'batch' } | { kind: 'import' };

const TYPES = new Set<string>(MessageTypes);
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The collect stage: validates and normalises Segment-spec messages, applies the source's tracking plan, and
 * groups them by partition into log batches (`prepare`, pure and synchronous, so it can run on a collect thread);
 * `collect` also appends them to the Log and resolves only once the log holds them durably.
 */
export class Collector {
  constructor(
    private readonly log: Pick<Log, 'partitions' | 'append'>,
    private readonly plans: TrackingPlanCheck,
    private readonly limits: Config['collect'],
  ) {}

  /** Number of messages a request carries, for rate limiting before the work is done. */
  static count(call: CollectCall, body: Record<string, unknown>): number {
    return call.kind === 'single' ? 1 : Array.isArray(body.batch) ? body.batch.length : 0;
  }

  async collect(source: Source, call: CollectCall, body: Record<string, unknown>, receivedAt: number): Promise<PreparedBatch> {
    const prepared = this.prepare(source, call, body, receivedAt);
    await this.log.append(prepared.batches);
    return prepared;
  }

  /** Checks and serialises a request's messages. Throws a TandemError when nothing in it can be kept. */
  prepare(source: Source, call: CollectCall, body: Record<string, unknown>, receivedAt: number): PreparedBatch {
    const items = this.itemsOf(call, body);
    const defaults = call.kind === 'single' ? {} : this.defaultsOf(body);

    const errors: MessageError[] = [];
    const groups = new Map<number, string[]>();
    let accepted = 0;
    let quarantined = 0;
    let flagged = 0;

    items.forEach(([raw, type], index) => {
      const prefix = call.kind === 'single' ? '' : `batch[${index}]`;
      const fail = (p: MessageProblem) => {
        const messageId = isObject(raw) && typeof raw.messageId === 'string' ? raw.messageId : undefined;
        errors.push({ index, ...(messageId !== undefined ? { messageId } : {}), ...p });
      };
      if (!TYPES.has(type as string)) {
        const path = `${prefix}.type`;
        return fail({ code: 'invalid_value', path, message: `${path} must be one of ${MessageTypes.join(', ')}` });
      }
      const problem = checkMessage(raw, type as MessageType, prefix, this.limits.maxDepth);
      if (problem) return fail(problem);
      const message = normalise(raw as Record<string, unknown>, type as MessageType, defaults, receivedAt, call.kind !== 'import');
      this.plans.alias?.(source, message);
      const json = JSON.stringify(message);
      // 3 UTF-8 bytes per UTF-16 unit at most, so short messages need no byte count.
      if (json.length * 3 > this.limits.maxMessageBytes && Buffer.byteLength(json) > this.limits.maxMessageBytes) {
        return fail({
          code: 'message_too_large',
          path: prefix,
          message: `${prefix || 'message'} is ${Buffer.byteLength(json)} bytes; the limit is ${Math.round(this.limits.maxMessageBytes / 1024)} KB (${this.limits.maxMessageBytes} bytes) per message`,
        });
      }
      const verdict = this.plans.check(source, message);
      const entry = `{"kind":"${verdict.quarantine ? 'quarantine' : 'event'}","violations":${verdict.violations.length ? JSON.stringify(verdict.violations) : '[]'},"message":${json}}`;
      const partition = partitionOf(message.userId ?? message.anonymousId ?? message.messageId, this.log.partitions);
      const group = groups.get(partition);
      if (group) group.push(entry);
      else groups.set(partition, [entry]);
      if (verdict.quarantine) quarantined++;
      else {
        accepted++;
        if (verdict.violations.length) flagged++;
      }
    });

    if (call.kind === 'single' && errors.length) {
      const e = errors[0];
      throw new TandemError(e.code, e.message, 400, e.path, errors);
    }
    if (groups.size === 0) {
      const e = errors[0];
      throw new TandemError(e.code, `no message in the batch was accepted; ${e.message}`, 400, e.path, errors);
    }

    const batches: LogBatch[] = [...groups].map(([partition, entries]) => ({
      partition,
      workspaceId: source.workspaceId,
      sourceId: source.id,
      receivedAt,
      count: entries.length,
      payload: `[${entries.join(',')}]`,
    }));
    return { batches, received: items.length, accepted, quarantined, flagged, errors };
  }

  private itemsOf(call: CollectCall, body: Record<string, unknown>): [unknown, unknown][] {
    if (call.kind === 'single') return [[body, call.type]];
    const batch = body.batch;
    if (!Array.isArray(batch)) throw badRequest(batch === undefined ? 'required' : 'wrong_type', batch === undefined ? 'batch is required' : 'batch must be an array of messages', 'batch');
    if (batch.length === 0) throw badRequest('empty_batch', 'batch is empty; send at least one message', 'batch');
    if (batch.length > this.limits.maxBatchMessages) {
      throw badRequest('batch_too_large', `batch has ${batch.length} messages; the limit is ${this.limits.maxBatchMessages} messages per batch`, 'batch');
    }
    return batch.map((item) => [item, isObject(item) ? item.type : undefined]);
  }

  private defaultsOf(body: Record<string, unknown>): BatchDefaults {
    for (const field of ['context', 'integrations'] as const) {
      if (body[field] !== undefined && !isObject(body[field])) throw badRequest('wrong_type', `${field} must be an object`, field);
      // Merged into every message, so it obeys the message limits (else deep nesting overflows JSON.stringify: a 500).
      const problem = body[field] === undefined ? undefined : checkBatchField(body[field], field, this.limits.maxDepth);
      if (problem) throw badRequest(problem.code, problem.message, problem.path);
    }
    if (body.sentAt !== undefined && (typeof body.sentAt !== 'string' || !isIsoDate(body.sentAt))) {
      throw badRequest('invalid_timestamp', 'sentAt must be an ISO-8601 date such as 2026-01-31T12:00:00.000Z', 'sentAt');
    }
    return { context: body.context as Record<string, unknown> | undefined, integrations: body.integrations as Record<string, unknown> | undefined, sentAt: body.sentAt as string | undefined };
  }
}
