/**
 * The delivery side's vocabulary: messages in the outbox, their delivery log, and what the Store keeps for them.
 * Embedded adapter: src/storage/sqlite/delivery-store.ts (tables in store.db, so that a journey step can enqueue
 * inside its own transaction).
 */

/** The latest thing that happened to a message (the delivery log keeps every one, in order). */
export type DeliveryStatus =
  | 'queued' // in the outbox, waiting for its turn (or for a retry)
  | 'sent' // the channel accepted it (SMTP relay, SMS provider)
  | 'delivered' // it reached its final destination (webhook / Slack endpoint answered 2xx, or a provider said so)
  | 'failed' // it will not be sent: a permanent error, or dead-lettered after the last attempt
  | 'bounced' // the recipient's server refused it permanently
  | 'suppressed' // not sent: the profile is unsubscribed from the channel's subscription group, or has no address
  | 'opened'
  | 'clicked';

/** Where the message is in the dispatcher's hands: pending (will be attempted), done, or dead (gave up after the last attempt). */
export type DeliveryState = 'pending' | 'done' | 'dead';

/** A message the journey engine (or the API) asks to send. */
export interface OutboxMessage {
  workspaceId: string;
  profileId: string;
  /** Key of a `channels` definition. */
  channel: string;
  /** Key of a `templates` definition; without one, the payload is the message (see docs/channels.md). */
  template?: string;
  /** Variables for the template (`payload.*`, and `event.*` from `payload.event`), or the message itself. */
  payload?: Record<string, unknown>;
  /** One action, one key: a second enqueue with the same key (per workspace) is a no-op returning the first message. */
  idempotencyKey: string;
  /** Higher first among profiles; a profile's messages on one channel always go in enqueue order. */
  priority?: number;
  /** Not before this instant (ms). */
  notBefore?: number;
  journey?: string;
  node?: string;
}

export interface DeliveryRecord {
  /** The message id (public, also in events as `message_id`). */
  id: string;
  /** Enqueue order. */
  seq: number;
  workspaceId: string;
  profileId: string;
  channel: string;
  template: string | null;
  payload: Record<string, unknown>;
  idempotencyKey: string;
  priority: number;
  journey: string | null;
  node: string | null;
  state: DeliveryState;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  providerId: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface DeliveryLogEntry {
  status: DeliveryStatus | 'attempt_failed' | 'dead' | 'requeued' | 'unsubscribed';
  at: number;
  attempt?: number;
  detail?: Record<string, unknown>;
}

/** A delivery event waiting to be appended to the Log (identity is resolved when it is appended). */
export interface PendingDeliveryEvent {
  /** Deterministic message id of the track event: a repeat append after a crash is dropped by the events stage's dedup. */
  messageId: string;
  event: string;
  properties: Record<string, unknown>;
  at: number;
}

export interface DeliveryFilter {
  status?: DeliveryStatus;
  state?: DeliveryState;
  channel?: string;
  profileId?: string;
  journey?: string;
  /** Only messages enqueued before this seq (paging newest first). */
  before?: number;
  limit: number;
}

/** What one attempt's outcome changes, with the log entries and events it produces, in one transaction. */
export interface Settlement {
  state: DeliveryState;
  status?: DeliveryStatus;
  lastError?: string | null;
  providerId?: string;
  nextAttemptAt?: number;
  log: DeliveryLogEntry[];
  events: PendingDeliveryEvent[];
}

export interface AudienceChange {
  profileId: string;
  action: 'add' | 'remove';
  email: string | null;
  phone: string | null;
}

export interface AudienceExportRecord {
  id: number;
  kind: 'full' | 'add' | 'remove';
  platform: string;
  file: string;
  rows: number;
  throughSeq: number;
  at: number;
}

/** Synchronous: better-sqlite3 is, and enqueue must run inside the caller's transaction on the shared handle. */
export interface DeliveryStore {
  enqueue(message: OutboxMessage, messageId: string, at: number): { message: DeliveryRecord; created: boolean };
  /** Pending messages due at `now` that head their (profile, channel) queue, highest priority first. */
  due(now: number, limit: number): DeliveryRecord[];
  /** Earliest next attempt among pending messages. */
  nextDue(): number | undefined;
  /** Records an attempt as started (so a crash mid-send still counts and backs off); false when no longer pending. */
  claim(messageId: string, attempt: number, retryAt: number, at: number): boolean;
  settle(messageId: string, s: Settlement, at: number): void;
  /** An after-send status (delivered, bounced, opened, clicked, unsubscribed...): logged, event queued, the message's status moved forward. */
  record(messageId: string, status: DeliveryLogEntry['status'], detail: Record<string, unknown>, event: PendingDeliveryEvent | undefined, at: number): void;
  /** Puts a dead or failed message back in the queue for a fresh round of attempts. */
  requeue(workspaceId: string, messageId: string, at: number): boolean;
  get(messageId: string): DeliveryRecord | undefined;
  byKey(workspaceId: string, idempotencyKey: string): DeliveryRecord | undefined;
  log(messageId: string): DeliveryLogEntry[];
  list(workspaceId: string, filter: DeliveryFilter): DeliveryRecord[];
  pendingEvents(limit: number): { id: number; workspaceId: string; profileId: string; event: PendingDeliveryEvent }[];
  eventsDone(ids: number[]): void;
  /** A named secret, created (by `generate`) the first time it is asked for. */
  secret(name: string, generate: () => string, at: number): string;
  /** Deletes a person's messages, log and queued events (privacy erasure); returns how many messages. */
  eraseProfiles(workspaceId: string, profileIds: string[]): number;
  audience: {
    /** Applies a membership change; a repeat (add of a member, remove of a non-member) changes nothing. */
    apply(workspaceId: string, channel: string, change: AudienceChange, at: number): boolean;
    members(workspaceId: string, channel: string): { profileId: string; email: string | null; phone: string | null }[];
    changesAfter(workspaceId: string, channel: string, seq: number): (AudienceChange & { seq: number })[];
    lastSeq(workspaceId: string, channel: string): number;
    exported(workspaceId: string, channel: string): AudienceExportRecord[];
    recordExport(workspaceId: string, channel: string, record: Omit<AudienceExportRecord, 'id'>): void;
  };
}
