import type { LogEntry, Message } from '../collect/message.js';
import { partitionOf } from '../collect/partition.js';
import type { Clock } from '../core/clock.js';
import type { Log, LogBatch } from '../core/ports/log.js';
import type { DeliveryStore } from './ports.js';

/** The source id delivery events are stored under (not a real source: nothing can write with it). */
export const DELIVERY_SOURCE_ID = 'tandem-delivery';

/** The track event each status enters the loop as. */
export const DELIVERY_EVENTS = {
  sent: 'Message Sent',
  delivered: 'Message Delivered',
  failed: 'Message Failed',
  bounced: 'Message Bounced',
  opened: 'Message Opened',
  clicked: 'Message Clicked',
  unsubscribed: 'Unsubscribed',
} as const;

/** What the delivery side reads of a profile. */
export interface DeliveryProfile {
  id: string;
  traits: Record<string, unknown>;
  computed?: Record<string, unknown>;
  identifiers: { type: string; value: string }[];
  audiences?: string[];
  subscriptions?: Record<string, { status: string }>;
}

export interface ProfileReader {
  /** A profile by any id it ever had (follows merges); undefined when unknown or erased. */
  get(workspaceId: string, id: string): Promise<DeliveryProfile | undefined>;
}

/**
 * How a delivery event names its person so that the resolve stage puts it on the same profile: the profile's
 * user id, else its anonymous id, else its first other identifier as a context.externalIds entry. Identifiers are
 * what the graph links on, so this holds across merges (the profile id itself is not an identifier).
 */
export function identityOf(p: DeliveryProfile): Pick<Message, 'userId' | 'anonymousId'> & { externalIds?: { id: string; type: string; collection: string; encoding: string }[] } | undefined {
  const userId = p.identifiers.find((i) => i.type === 'user_id')?.value;
  if (userId !== undefined) return { userId };
  const anonymousId = p.identifiers.find((i) => i.type === 'anonymous_id')?.value;
  if (anonymousId !== undefined) return { anonymousId };
  const other = p.identifiers[0];
  return other && { externalIds: [{ id: other.value, type: other.type, collection: 'users', encoding: 'none' }] };
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Appends queued delivery events to the Log, as track events from source `tandem-delivery`. Each queued event has
 * a deterministic messageId and is deleted from the queue only after the append is durable: a crash in between
 * appends it again and the events stage's dedup drops the repeat (exactly once in the event store).
 */
export class DeliveryEvents {
  constructor(
    private readonly store: DeliveryStore,
    private readonly log: Log,
    private readonly profiles: ProfileReader,
    private readonly clock: Clock,
  ) {}

  /** Appends up to `limit` queued events; returns how many were taken from the queue. */
  async flush(limit = 500): Promise<number> {
    const pending = this.store.pendingEvents(limit);
    if (pending.length === 0) return 0;
    const identities = new Map<string, ReturnType<typeof identityOf> | null>();
    const groups = new Map<string, LogBatch & { entries: string[] }>();
    const receivedAt = this.clock.now();
    for (const p of pending) {
      const id = `${p.workspaceId}\u0000${p.profileId}`;
      if (!identities.has(id)) {
        const profile = await this.profiles.get(p.workspaceId, p.profileId);
        identities.set(id, (profile && identityOf(profile)) ?? null);
      }
      const who = identities.get(id);
      if (!who) continue; // the profile was erased: its events are dropped with it
      const { externalIds, ...ids } = who;
      const message: Message = {
        type: 'track',
        messageId: p.event.messageId,
        ...ids,
        event: p.event.event,
        properties: p.event.properties,
        context: { library: { name: 'tandem-delivery' }, ...(externalIds ? { externalIds } : {}) },
        integrations: {},
        timestamp: iso(p.event.at),
        receivedAt: iso(receivedAt),
      };
      const entry: LogEntry = { kind: 'event', message, violations: [] };
      const partition = partitionOf(message.userId ?? message.anonymousId ?? message.messageId, this.log.partitions);
      const key = `${p.workspaceId}\u0000${partition}`;
      const group = groups.get(key) ?? { partition, workspaceId: p.workspaceId, sourceId: DELIVERY_SOURCE_ID, receivedAt, count: 0, payload: '', entries: [] };
      group.entries.push(JSON.stringify(entry));
      group.count++;
      groups.set(key, group);
    }
    const batches: LogBatch[] = [...groups.values()].map(({ entries, ...b }) => ({ ...b, payload: `[${entries.join(',')}]` }));
    if (batches.length) await this.log.append(batches);
    this.store.eventsDone(pending.map((p) => p.id));
    return pending.length;
  }
}
