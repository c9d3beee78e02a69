import type { Identifier } from '../../identity/model.js';
import type { StoredEvent } from './store.js';

/** Privacy state (tombstones, subscription changes made by API) and the erasure of one person's rows. */

export type SubscriptionStatus = 'subscribed' | 'unsubscribed';

export interface SubscriptionChange {
  group: string;
  status: SubscriptionStatus;
  at: number;
  /** trait: an identify's `traits.subscriptions`; event: a `Subscribed` / `Unsubscribed` track; api: the admin API. */
  source: 'trait' | 'event' | 'api';
  messageId?: string;
  actor?: string;
}

/** Everything one erasure removes from the Store, found before it runs (under the resolve stage's exclusive turn). */
export interface ErasurePlan {
  workspaceId: string;
  /** The surviving profile and every profile merged into it. */
  profileIds: string[];
  identifiers: Identifier[];
  eventIds: number[];
  messageIds: string[];
  quarantineIds: number[];
  /** SHA-256 of `type:value` for each identifier, kept so that later events from them can be suppressed. */
  tombstones: string[];
  at: number;
}

/** Work left after the Store's transaction (warehouse, log), recorded in it so a crash cannot skip it. */
export interface PendingErasure {
  id: number;
  workspaceId: string;
  eventIds: number[];
  messageIds: string[];
}

export interface ErasureCounts {
  events: number;
  identifiers: number;
  traits: number;
  merges: number;
  conflicts: number;
  quarantine: number;
}

export interface PrivacyStore {
  /** The profile and every profile merged into it. */
  profileIds(workspaceId: string, canonical: string): Promise<string[]>;
  /** Events resolved to any of these profiles, oldest first. */
  eventRefs(workspaceId: string, profileIds: string[]): Promise<{ id: number; messageId: string }[]>;
  /** Deletes the plan's rows, records its tombstones and a pending erasure, in one transaction. */
  erase(plan: ErasurePlan): Promise<{ counts: ErasureCounts; pending: number }>;
  /** Deletes stored events (and their dedup rows) that were suppressed; records a pending erasure for the rest. */
  eraseEvents(workspaceId: string, events: { id: number; messageId: string }[]): Promise<number>;
  pending(): Promise<PendingErasure[]>;
  done(id: number): Promise<void>;
  tombstones(workspaceId: string): Promise<string[]>;
  /** The profile's events that may state a subscription change (identify / context traits, Subscribed, Unsubscribed), oldest first. */
  subscriptionEvents(workspaceId: string, profileId: string): Promise<StoredEvent[]>;
  subscriptionChanges(workspaceId: string, profileIds: string[]): Promise<SubscriptionChange[]>;
  addSubscriptionChange(workspaceId: string, profileId: string, change: SubscriptionChange): Promise<void>;
}
