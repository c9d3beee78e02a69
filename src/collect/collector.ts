import type { Config } from '../core/config.js';
import { badRequest, TandemError } from '../core/errors.js';
import type { Log, LogBatch } from '../core/ports/log.js';
import type { Source } from '../core/ports/store.js';
import type { Metrics } from '../server/metrics.js';
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

export type CollectCall = { kind: 'single'; type: MessageType } | { kind: 'batch' } | { kind: 'import' };

const TYPES = new Set<string>(MessageTypes);
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The collect stage: validates and normalises Segment-spec messages, applies the source's tracking plan, and
 * appends them to the Log grouped by partition. Resolves only once the log holds them durably.
 */
export class Collector {
  constructor(
    private readonly log: Log,
    private readonly plans: TrackingPlanCheck,
    private readonly limits: Config['collect'],
    private readonly metrics: Metrics,
  ) {}

  /** Number of messages a request carries, for rate limiting before the work is done. */
  static count(call: CollectCall, body: Record<string, unknown>): number {
    return call.kind === 'single' ? 1 : Array.isArray(body.batch) ? body.batch.length : 0;
  }

  async collect(source: Source, call: CollectCall, body: Record<string, unknown>, receivedAt: number): Promise<CollectResult> {
    const items = this.itemsOf(call, body);
    const defaults = call.kind === 'single' ? {} : this.defaultsOf(body);
    this.metrics.received.inc({ source: source.key }, items.length);

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
        this.metrics.rejected.inc({ reason: p.code });
      };
      if (!TYPES.has(type as string)) {
        const path = `${prefix}.type`;
        return fail({ code: 'invalid_value', path, message: `${path} must be one of ${MessageTypes.join(', ')}` });
      }
      const problem = checkMessage(raw, type as MessageType, prefix, this.limits.maxDepth);
      if (problem) return fail(problem);
      const message = normalise(raw as Record<string, unknown>, type as MessageType, defaults, receivedAt, call.kind !== 'import');
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
      throw new TandemError(e.code, e.message, 400, e.path);
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
    await this.log.append(batches);
    this.metrics.accepted.inc({ source: source.key }, accepted);
    if (quarantined) this.metrics.quarantined.inc({ source: source.key }, quarantined);
    if (flagged) this.metrics.flagged.inc({ source: source.key }, flagged);
    return { accepted, quarantined, errors };
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
