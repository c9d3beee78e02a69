/**
 * Adapters from Tandem's stages to the journey ports, for the composition root (src/app.ts). Kept here so the
 * engine itself depends on nothing but its ports.
 */
import type { LogEntry, Message } from '../collect/message.js';
import { partitionOf } from '../collect/partition.js';
import type { Clock } from '../core/clock.js';
import type { Log } from '../core/ports/log.js';
import type { IdentityStore, StoredEvent } from '../core/ports/store.js';
import { identityOf, type DeliveryProfile } from '../delivery/events.js';
import type { Sqlite } from '../storage/sqlite/database.js';
import type { AudienceMembers, HistorySource, InputSource, JourneyEvent, JourneyProfile, OutboxWriter, PerformerSource, ProfileReader, TraitWriter } from './ports.js';

/** The source id journey trait updates are stored under (not a real source: nothing can write with it). */
export const JOURNEY_SOURCE_ID = 'tandem-journeys';

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

/**
 * Events of a workspace that the apply stage has applied (id <= `applied()`), in event-id order: a journey sees an
 * event only once its computed traits and audience memberships are committed, so branch conditions read them.
 * Events nobody owns (erased, or resolved to no profile) only move the position.
 */
export function appliedEventsInput(identity: IdentityStore, workspaceId: string, applied: () => number): InputSource {
  return {
    async read(position, limit) {
      const upTo = applied();
      if (upTo <= position) return [];
      const events = (await identity.history(workspaceId, { afterId: position, limit })).filter((e) => e.id <= upTo);
      const owners = await identity.eventProfiles(workspaceId, events.map((e) => e.id));
      const out: Awaited<ReturnType<InputSource['read']>> = [];
      for (const e of events) {
        const profileId = owners.get(e.id);
        out.push(profileId === undefined ? { position: e.id } : { position: e.id, input: { kind: 'event', workspaceId, profileId, event: toEvent(e) } });
      }
      return out;
    },
  };
}

/**
 * Calls `listener` after every commit of a store with a `commit` method (the apply store: the journeys stage is
 * woken when the apply position moves, membership changes or not).
 */
export function afterCommit<S extends { commit(...args: never[]): unknown }>(store: S, listener: () => void): S {
  const commit = store.commit.bind(store) as (...args: unknown[]) => unknown;
  (store as unknown as { commit: (...args: unknown[]) => unknown }).commit = (...args: unknown[]) => {
    const out = commit(...args);
    listener();
    return out;
  };
  return store;
}

/** Members of an audience now, from the apply stage's memberships, paged in profile id order. */
export function applyAudienceMembers(applyStore: { members(workspaceId: string, audience: string, after: string, limit: number): { profileId: string }[] }): AudienceMembers {
  return {
    async members(workspaceId, audience) {
      const out: string[] = [];
      for (let after = ''; ;) {
        const page = applyStore.members(workspaceId, audience, after, 5000);
        for (const m of page) out.push(m.profileId);
        if (page.length < 5000) return out;
        after = page[page.length - 1].profileId;
      }
    },
  };
}

/**
 * Trait updates as `identify` messages appended to the Log (source `tandem-journeys`), naming the profile the way
 * delivery events do (its user id, else anonymous id, else an external id: `identityOf`), so traits flow through
 * the normal pipeline (events, resolve, apply). The messageId is derived from the step's, so a repeated append
 * after a crash is dropped by the events stage's dedup.
 */
export function logTraitWriter(log: Log, profiles: { get(workspaceId: string, id: string): Promise<DeliveryProfile | undefined> }, clock: Clock): TraitWriter {
  return {
    async setTraits(workspaceId, profileId, traits, messageId) {
      const profile = await profiles.get(workspaceId, profileId);
      const who = profile && identityOf(profile);
      if (!who) return; // erased, or nothing to name it by: nothing to update
      const { externalIds, ...ids } = who;
      const now = new Date(clock.now()).toISOString();
      const message: Message = {
        type: 'identify', messageId: `journey-${messageId}`, ...ids, traits,
        context: { library: { name: JOURNEY_SOURCE_ID }, ...(externalIds ? { externalIds } : {}) },
        integrations: {}, timestamp: now, receivedAt: now,
      };
      const entry: LogEntry = { kind: 'event', message, violations: [] };
      const partition = partitionOf(message.userId ?? message.anonymousId ?? message.messageId, log.partitions);
      await log.append([{ partition, workspaceId, sourceId: JOURNEY_SOURCE_ID, receivedAt: clock.now(), count: 1, payload: JSON.stringify([entry]) }]);
    },
  };
}

/**
 * Who performed an event with `properties.<property>` equal to a value since an instant, from the operational
 * event store on store.db (events joined to the profile each resolved to). A scan of the workspace's events of
 * that name: fine for an embedded store, proportional to the number of such events.
 */
export function sqlitePerformers(db: Sqlite): PerformerSource {
  const query = db.prepare(
    `SELECT DISTINCT p.profile_id AS id FROM events e JOIN identity_event_profiles p ON p.event_id = e.id
     WHERE e.workspace_id = ? AND e.event = ? AND e.timestamp >= ? AND json_extract(e.message, ?) = ?`,
  );
  return {
    async performers(workspaceId, event, property, value, since) {
      const path = `$.properties.${property.split('.').map((p) => `"${p.replace(/"/g, '""')}"`).join('.')}`;
      return (query.all(workspaceId, event, since, path, value) as { id: string }[]).map((r) => r.id);
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

/**
 * The delivery outbox (same store.db handle, so the enqueue joins the step's transaction). The trigger's
 * properties become `payload.event` (what templates read as `event.*`) and its name `payload.event_name`.
 */
export function deliveryOutbox(outbox: {
  enqueue(m: { workspaceId: string; profileId: string; channel: string; template?: string; payload?: Record<string, unknown>; idempotencyKey: string; priority?: number; journey?: string; node?: string }): unknown;
}): OutboxWriter {
  return {
    enqueue(e) {
      // Templates read the triggering event's properties as `event.*` (docs/templates.md); its name is `event_name`.
      const trigger = e.payload.event as { event?: unknown; properties?: unknown } | undefined;
      const flat = trigger && typeof trigger.properties === 'object' && trigger.properties !== null && !Array.isArray(trigger.properties)
        ? { event: trigger.properties, ...(typeof trigger.event === 'string' ? { event_name: trigger.event } : {}) }
        : {};
      outbox.enqueue({
        workspaceId: e.workspaceId, profileId: e.profileId, channel: e.channel, ...(e.template !== undefined ? { template: e.template } : {}),
        payload: { ...e.payload, ...flat, category: e.category }, idempotencyKey: e.idempotencyKey, priority: e.priority, journey: e.journey, node: e.node,
      });
    },
  };
}
