import type { SubscriptionChange, SubscriptionStatus } from '../core/ports/privacy.js';
import type { StoredEvent } from '../core/ports/store.js';

export const SUBSCRIPTION_STATUSES = new Set(['subscribed', 'unsubscribed']);

/** Whether a message states any subscription change (the resolve stage marks such events for profile reads). */
export function statesSubscriptions(message: StoredEvent['message']): boolean {
  return subscriptionChangesOf({ message } as StoredEvent).length > 0;
}

/** Subscription changes an event states (the documented shapes in docs/profiles.md#privacy). */
export function subscriptionChangesOf(e: StoredEvent): SubscriptionChange[] {
  const m = e.message;
  const at = Date.parse(m.timestamp);
  const out: SubscriptionChange[] = [];
  const subs = m.type === 'identify' ? m.traits?.subscriptions : (m.context?.traits as Record<string, unknown> | undefined)?.subscriptions;
  if (subs && typeof subs === 'object' && !Array.isArray(subs)) {
    for (const [group, status] of Object.entries(subs as Record<string, unknown>)) {
      if (typeof status === 'string' && SUBSCRIPTION_STATUSES.has(status)) out.push({ group, status: status as SubscriptionStatus, at, source: 'trait', messageId: m.messageId });
    }
  }
  if (m.type === 'track' && (m.event === 'Subscribed' || m.event === 'Unsubscribed')) {
    const group = m.properties?.group;
    if (typeof group === 'string' && group !== '') out.push({ group, status: m.event === 'Subscribed' ? 'subscribed' : 'unsubscribed', at, source: 'event', messageId: m.messageId });
  }
  return out;
}

