import { ManualClock } from '../core/clock.js';
import type { Store } from '../core/ports/store.js';
import { openSqlite, type Sqlite } from '../storage/sqlite/database.js';
import { openSqliteJourneyOutbox } from '../storage/sqlite/journey-outbox.js';
import type { SendTimeSource } from './best-time.js';
import { createJourneys, type Journeys } from './journeys.js';
import type { ExperimentPort, InputSource, JourneyEvent, JourneyInput, JourneyProfile, OutboxEntry } from './ports.js';

/** In-memory Store.definitions and audit, enough for the journeys component. */
export function memoryDefinitions(): Pick<Store, 'definitions' | 'audit'> {
  const rows = new Map<string, { version: number; body: unknown; deleted: boolean }[]>();
  const id = (ws: string, kind: string, key: string) => `${ws}\u0000${kind}\u0000${key}`;
  return {
    definitions: {
      async put(ws, kind, key, body) {
        const list = rows.get(id(ws, kind, key)) ?? [];
        list.push({ version: list.length + 1, body: structuredClone(body), deleted: false });
        rows.set(id(ws, kind, key), list);
        return list.length;
      },
      async get<T>(ws: string, kind: string, key: string) {
        const last = rows.get(id(ws, kind, key))?.at(-1);
        return last && !last.deleted ? { version: last.version, body: last.body as T } : undefined;
      },
      async list<T>(ws: string, kind: string) {
        const out: { key: string; version: number; body: T }[] = [];
        for (const [k, list] of rows) {
          const [w, kd, key] = k.split('\u0000');
          const last = list.at(-1)!;
          if (w === ws && kd === kind && !last.deleted) out.push({ key, version: last.version, body: last.body as T });
        }
        return out;
      },
      async remove(ws, kind, key) {
        const list = rows.get(id(ws, kind, key));
        if (!list || list.at(-1)!.deleted) return false;
        list.push({ version: list.length + 1, body: null, deleted: true });
        return true;
      },
    },
    audit: { add: async () => undefined, list: async () => [] },
  };
}

export const profile = (id: string, traits: Record<string, unknown> = {}, subscriptions: JourneyProfile['subscriptions'] = {}): JourneyProfile => ({
  id, traits, computed: {}, identifiers: [{ type: 'user_id', value: id }], audiences: [], subscriptions,
});

export interface Harness {
  db: Sqlite;
  clock: ManualClock;
  journeys: Journeys;
  profiles: Map<string, JourneyProfile>;
  catalog: Map<string, Record<string, unknown>>;
  members: Map<string, string[]>;
  /** Outbox rows with the simulated instant each was queued at. */
  outbox(): (OutboxEntry & { seq: number; at: number })[];
  /** Feeds an event for a profile and drains the stage. */
  emit(profileId: string, event: string, properties?: Record<string, unknown>): Promise<void>;
  /** Moves the clock forward, draining due timers at every instant on the way (in order). */
  advance(ms: number): Promise<void>;
  close(): Promise<void>;
}

export function harness(opts: { start?: number; file?: string; experiments?: (db: Sqlite, clock: ManualClock) => ExperimentPort; sendTimes?: SendTimeSource } = {}): Harness {
  const db = openSqlite(opts.file ?? ':memory:');
  const clock = new ManualClock(opts.start ?? Date.UTC(2026, 0, 1));
  const profiles = new Map<string, JourneyProfile>();
  const catalog = new Map<string, Record<string, unknown>>();
  const members = new Map<string, string[]>();
  const sqlOutbox = openSqliteJourneyOutbox(db);
  const times = new Map<string, number>();
  const inputs: { position: number; input: Extract<JourneyInput, { kind: 'event' }> }[] = [];
  const source: InputSource = { read: async (position, limit) => inputs.filter((i) => i.position > position).slice(0, limit) };
  let n = 0;
  const journeys = createJourneys({
    db, store: memoryDefinitions(), clock,
    profiles: { get: async (_ws, id) => (profiles.has(id) ? structuredClone(profiles.get(id)!) : undefined) },
    outbox: { enqueue: (e) => (times.has(e.idempotencyKey) || times.set(e.idempotencyKey, clock.now()), sqlOutbox.enqueue(e)) },
    catalogs: () => ({ get: (name, key) => (name === 'products' ? catalog.get(key) : undefined) }),
    inputs: source,
    audiences: { members: async (_ws, a) => members.get(a) ?? [] },
    experiments: opts.experiments?.(db, clock),
    sendTimes: opts.sendTimes,
  });
  return {
    db, clock, journeys, profiles, catalog, members,
    outbox: () => sqlOutbox.rows().map((r) => ({ ...r, at: times.get(r.idempotencyKey)! })),
    async emit(profileId, event, properties = {}) {
      n++;
      const e: JourneyEvent = { type: 'track', event, timestamp: clock.now(), properties, messageId: `m${n}` };
      inputs.push({ position: n, input: { kind: 'event', workspaceId: 'w', profileId, event: e } });
      await journeys.drain();
    },
    async advance(ms) {
      const end = clock.now() + ms;
      for (;;) {
        const next = Math.min(journeys.store.nextWake() ?? Infinity, journeys.store.dueSchedules(end)[0]?.nextAt ?? Infinity);
        if (next === Infinity) break;
        if (next > end) break;
        clock.set(Math.max(next, clock.now()));
        await journeys.drain();
      }
      clock.set(end);
      await journeys.drain();
    },
    async close() {
      await journeys.stop();
      db.close();
    },
  };
}

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
