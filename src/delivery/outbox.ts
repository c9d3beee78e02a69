import type { Clock } from '../core/clock.js';
import { badRequest } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { DeliveryRecord, DeliveryStore, OutboxMessage } from './ports.js';

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Checks a message before it is queued; errors name the field. */
export function checkOutboxMessage(m: OutboxMessage): void {
  const need = (field: keyof OutboxMessage) => {
    const v = m[field];
    if (typeof v !== 'string' || v === '') throw badRequest('required', `${field} is required (a non-empty string)`, field);
  };
  need('workspaceId');
  need('profileId');
  need('channel');
  need('idempotencyKey');
  if (m.idempotencyKey.length > 512) throw badRequest('invalid_value', 'idempotencyKey must be at most 512 characters', 'idempotencyKey');
  if (m.template !== undefined && (typeof m.template !== 'string' || m.template === '')) throw badRequest('invalid_value', 'template must be a non-empty string', 'template');
  if (m.payload !== undefined && !isObject(m.payload)) throw badRequest('wrong_type', 'payload must be an object', 'payload');
  if (m.priority !== undefined && !Number.isInteger(m.priority)) throw badRequest('wrong_type', 'priority must be an integer', 'priority');
  if (m.notBefore !== undefined && !Number.isFinite(m.notBefore)) throw badRequest('wrong_type', 'notBefore must be a time in ms', 'notBefore');
}

/**
 * The outbox: where the journey engine (and the API) put messages to send. `enqueue` is synchronous and touches
 * only store.db, so it can run inside the caller's better-sqlite3 transaction on the shared handle: the step's
 * state and its messages commit together, or neither does. The idempotency key makes a repeated step harmless.
 */
export class Outbox {
  constructor(
    private readonly store: DeliveryStore,
    private readonly clock: Clock,
    /** Called after each new message (wakes the dispatcher; its turn runs after the current transaction). */
    private readonly onEnqueued: () => void = () => undefined,
  ) {}

  /** Queues a message; a second call with the same idempotency key returns the first message (created: false). */
  enqueue(message: OutboxMessage): { message: DeliveryRecord; created: boolean } {
    checkOutboxMessage(message);
    const result = this.store.enqueue(message, newId(), this.clock.now());
    if (result.created) this.onEnqueued();
    return result;
  }

  /** The message queued under an idempotency key, if any. */
  byKey(workspaceId: string, idempotencyKey: string): DeliveryRecord | undefined {
    return this.store.byKey(workspaceId, idempotencyKey);
  }
}
