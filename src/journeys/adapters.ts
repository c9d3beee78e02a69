/**
 * Adapters from Tandem's stages to the journey ports, for the composition root (src/app.ts). Kept here so the
 * engine itself depends on nothing but its ports.
 */
import type { IdentityStore, StoredEvent } from '../core/ports/store.js';
import type { HistorySource, InputSource, JourneyEvent, JourneyProfile, OutboxWriter, ProfileReader } from './ports.js';

const toEvent = (e: StoredEvent): JourneyEvent => ({
  type: e.message.type, ...(e.message.event !== undefined ? { event: e.message.event } : {}),
  timestamp: Date.parse(e.message.timestamp), properties: e.message.properties ?? {}, messageId: e.message.messageId,
});

/**
 * Resolved events of a workspace in event-id order (the position is the event id). Stops before the first event
 * the resolve stage has not placed yet, so nothing is skipped; erased events are left out by the store.
 */
export function resolvedEventsInput(identity: IdentityStore, workspaceId: string): InputSource {
  return {
    async read(position, limit) {
      const events = await identity.history(workspaceId, { afterId: position, limit });
      const owners = await identity.eventProfiles(workspaceId, events.map((e) => e.id));
      const out: Awaited<ReturnType<InputSource['read']>> = [];
      for (const e of events) {
        const profileId = owners.get(e.id);
        if (profileId === undefined) break;
        out.push({ position: e.id, input: { kind: 'event', workspaceId, profileId, event: toEvent(e) } });
      }
      return out;
    },
  };
}

/** Past events for backtests, from the operational event store (bounded by `max`). */
export function storedHistory(identity: IdentityStore, max = 200_000): HistorySource {
  return {
    async events(workspaceId, from, to) {
      const out: { profileId: string; event: JourneyEvent }[] = [];
      let after = 0;
      while (out.length < max) {
        const page = await identity.history(workspaceId, { afterId: after, from, to, limit: 1000 });
        if (page.length === 0) break;
        const owners = await identity.eventProfiles(workspaceId, page.map((e) => e.id));
        for (const e of page) {
          const profileId = owners.get(e.id);
          if (profileId !== undefined) out.push({ profileId, event: toEvent(e) });
        }
        after = page[page.length - 1].id;
      }
      return out.sort((a, b) => a.event.timestamp - b.event.timestamp);
    },
  };
}

/** The profile view (Profiles.get, with its extensions: computed, audiences, subscriptions) as the engine reads it. */
export function profileReader(profiles: {
  get(workspaceId: string, id: string): Promise<{ id: string; traits: Record<string, unknown>; computed?: Record<string, unknown>; audiences?: string[]; identifiers: { type: string; value: string }[]; subscriptions?: Record<string, { status: string }> } | undefined>;
}): ProfileReader {
  return {
    async get(workspaceId, id) {
      const view = await profiles.get(workspaceId, id);
      if (!view || view.id !== id) return undefined;
      const subscriptions: JourneyProfile['subscriptions'] = {};
      for (const [group, s] of Object.entries(view.subscriptions ?? {})) if (s.status === 'subscribed' || s.status === 'unsubscribed') subscriptions[group] = s.status;
      const tz = view.traits.timezone;
      const locale = view.traits.locale;
      return {
        id: view.id, traits: view.traits, computed: view.computed ?? {}, audiences: view.audiences ?? [], subscriptions,
        identifiers: view.identifiers.map((i) => ({ type: i.type, value: i.value })),
        ...(typeof tz === 'string' ? { timezone: tz } : {}), ...(typeof locale === 'string' ? { locale } : {}),
      };
    },
  };
}

/** The delivery outbox (same store.db handle, so the enqueue joins the step's transaction). */
export function deliveryOutbox(outbox: {
  enqueue(m: { workspaceId: string; profileId: string; channel: string; template?: string; payload?: Record<string, unknown>; idempotencyKey: string; priority?: number; journey?: string; node?: string }): unknown;
}): OutboxWriter {
  return {
    enqueue(e) {
      outbox.enqueue({
        workspaceId: e.workspaceId, profileId: e.profileId, channel: e.channel, ...(e.template !== undefined ? { template: e.template } : {}),
        payload: { ...e.payload, category: e.category }, idempotencyKey: e.idempotencyKey, priority: e.priority, journey: e.journey, node: e.node,
      });
    },
  };
}
