import { ManualClock } from '../core/clock.js';
import { openSqlite } from '../storage/sqlite/database.js';
import { openSqliteJourneyStore, type SqliteJourneyStore } from '../storage/sqlite/journey-store.js';
import type { CatalogLookup, EventRecord } from '../conditions/index.js';
import type { JourneyDefinition } from './definition.js';
import { JourneyEngine } from './engine.js';
import type { Guardrails } from './guardrails.js';
import type { SendTimeSource } from './best-time.js';
import type { JourneyEvent, JourneyProfile, JourneyStats, OutboxEntry, TrailRow } from './ports.js';

/**
 * Simulation and backtests: the real engine over a private in-memory SQLite journey store, an in-memory outbox and
 * a ManualClock that jumps from one event or timer to the next. Nothing is sent and nothing shared is written.
 */
interface Sandbox {
  store: SqliteJourneyStore;
  clock: ManualClock;
  engine: JourneyEngine;
  sent: (OutboxEntry & { at: number })[];
  close(): void;
}

const WS = 'sandbox';

function sandbox(def: JourneyDefinition, start: number, guardrails: Guardrails, catalogs: CatalogLookup, sendTimes?: SendTimeSource, prior?: (store: SqliteJourneyStore) => void): Sandbox {
  const db = openSqlite(':memory:');
  const store = openSqliteJourneyStore(db);
  const clock = new ManualClock(start);
  const sent: (OutboxEntry & { at: number })[] = [];
  let n = 0;
  const engine = new JourneyEngine({
    store, clock, outbox: { enqueue: (e) => sent.push({ ...e, at: clock.now() }) }, catalogs: () => catalogs, guardrails: () => guardrails,
    newId: () => `sim-${++n}`, sendTimes,
  });
  prior?.(store);
  engine.saved(WS, def.key, 1, def);
  return { store, clock, engine, sent, close: () => db.close() };
}

/** Runs events and timers in time order until nothing is left or the horizon passes. */
function play(
  box: Sandbox, events: { profileId: string; event: JourneyEvent }[], end: number, profileOf: (id: string) => JourneyProfile | undefined,
  onSchedule?: () => void,
): void {
  const queue = [...events].sort((a, b) => a.event.timestamp - b.event.timestamp);
  let i = 0;
  const history = new Map<string, EventRecord[]>();
  const view = (id: string): JourneyProfile | undefined => {
    const p = profileOf(id);
    return p && { ...p, events: [...(p.events ?? []), ...(history.get(id) ?? [])] };
  };
  let fired = false;
  for (let guard = 0; guard < 1_000_000; guard++) {
    const schedule = box.store.dueSchedules(box.clock.now())[0];
    if (schedule && onSchedule && !fired) {
      fired = true;
      onSchedule();
      continue;
    }
    const timer = box.store.nextWake();
    const next = queue[i]?.event.timestamp;
    const t = Math.min(timer ?? Infinity, next ?? Infinity);
    if (t === Infinity || t > end) break;
    box.clock.set(Math.max(t, box.clock.now()));
    if (next !== undefined && next <= (timer ?? Infinity)) {
      const { profileId, event } = queue[i++];
      const record: EventRecord = { type: event.type, event: event.event, timestamp: event.timestamp, properties: event.properties };
      const p = view(profileId);
      history.set(profileId, [...(history.get(profileId) ?? []), record]);
      if (p) box.engine.handleEvent(WS, { ...p, events: [...(p.events ?? []), record] }, event);
      continue;
    }
    for (const inst of box.store.due(box.clock.now(), 1000)) box.engine.fireTimer(inst.id, view(inst.profileId));
  }
  box.clock.set(Math.max(box.clock.now(), Math.min(end, box.clock.now())));
}

export interface SimulationInput {
  definition: JourneyDefinition;
  profile: JourneyProfile;
  /** Events of the profile, in any order; with none, a synthetic trigger is made at `start`. */
  events: JourneyEvent[];
  start: number;
  /** Stop after this long (ms). */
  horizon: number;
  guardrails: Guardrails;
  catalogs: CatalogLookup;
  /** Send-time models of the real workspace (the sandbox's own workspace id is ignored). */
  sendTimes?: SendTimeSource;
}

export interface SimulationResult {
  synthetic: boolean;
  path: { at: number; kind: string; node: string | null; detail: Record<string, unknown> }[];
  messages: { at: number; node: string; channel: string; template: string | null; category: string; priority: number; payload: Record<string, unknown> }[];
  instances: { id: string; status: string; node: string; exitReason: string | null; enteredAt: number; wakeAt: number | null }[];
  timings: { node: string; at: number; afterStart: number }[];
}

/** Runs a journey for one profile on a simulated clock: the path, its timings and the messages it would send. */
export function simulate(input: SimulationInput): SimulationResult {
  const { definition: def, profile, start } = input;
  const box = sandbox(def, start, input.guardrails, input.catalogs, input.sendTimes);
  try {
    let events = input.events;
    const synthetic = events.length === 0;
    const t = def.trigger;
    if (synthetic && t.type !== 'schedule') {
      const name = t.type === 'event' ? t.event : t.type === 'audience_entered' ? 'Audience Entered' : 'Audience Exited';
      const properties = t.type === 'event' ? {} : { audience: t.audience };
      events = [{ type: 'track', event: name, timestamp: start, properties, messageId: 'simulated-trigger' }];
    }
    const onSchedule = t.type === 'schedule' ? () => box.engine.fireSchedule(WS, def.key, box.clock.now(), [profile], true) : undefined;
    if (t.type === 'schedule' && box.store.schedule(WS, def.key)?.nextAt == null) box.store.setSchedule(WS, def.key, 1, start);
    play(box, events.map((event) => ({ profileId: profile.id, event })), start + input.horizon, () => profile, onSchedule);
    const trail = box.store.trailOf(WS, profile.id, def.key, 100_000);
    return {
      synthetic,
      path: trail.map((r) => ({ at: r.at, kind: r.kind, node: r.node, detail: r.detail })),
      messages: box.sent.map((m) => ({ at: m.at, node: m.node, channel: m.channel, template: m.template ?? null, category: m.category, priority: m.priority, payload: m.payload })),
      instances: instancesOf(box, profile.id, def.key),
      timings: trail.filter((r) => r.kind === 'node').map((r) => ({ node: r.node!, at: r.at, afterStart: r.at - start })),
    };
  } finally {
    box.close();
  }
}

function instancesOf(box: Sandbox, profileId: string, key: string): SimulationResult['instances'] {
  const ids = new Set(box.store.trailOf(WS, profileId, key, 100_000).map((r) => r.instanceId).filter((id): id is string => id !== null));
  return [...ids].map((id) => box.store.instance(id)!).map((i) => ({ id: i.id, status: i.status, node: i.node, exitReason: i.exitReason, enteredAt: i.enteredAt, wakeAt: i.wakeAt }));
}

export interface BacktestInput {
  definition: JourneyDefinition;
  /** Real events of the period, oldest first, with their profiles. */
  history: { profileId: string; event: JourneyEvent }[];
  /** Profiles as they are now (traits are not replayed; see docs/journeys.md). */
  profiles: Map<string, JourneyProfile>;
  from: number;
  to: number;
  guardrails: Guardrails;
  catalogs: CatalogLookup;
  /** Audience members for a schedule trigger. */
  members?: string[];
  /** Send-time models of the real workspace (the sandbox's own workspace id is ignored). */
  sendTimes?: SendTimeSource;
}

export interface BacktestResult {
  from: number;
  to: number;
  profiles: number;
  entered: number;
  notEntered: Record<string, number>;
  messages: number;
  conversions: number;
  nodes: JourneyStats['nodes'];
  /** Messages stopped by each guardrail (blocked) and postponed (deferred), over all nodes. */
  blocked: Record<string, number>;
  deferred: Record<string, number>;
  /** How frequency caps cut messages, per node. */
  capped: Record<string, number>;
}

/** Replays a (draft) journey over a past period and reports entries, messages per node and what guardrails cut. */
export function backtest(input: BacktestInput): BacktestResult {
  const { definition: def } = input;
  const box = sandbox(def, input.from, input.guardrails, input.catalogs, input.sendTimes);
  try {
    const t = def.trigger;
    const onSchedule = t.type === 'schedule'
      ? () => box.engine.fireSchedule(WS, def.key, box.clock.now(), (input.members ?? []).map((id) => input.profiles.get(id)).filter((p): p is JourneyProfile => p !== undefined), true)
      : undefined;
    play(box, input.history.filter((h) => h.event.timestamp >= input.from && h.event.timestamp < input.to), input.to, (id) => input.profiles.get(id), onSchedule);
    const stats = box.store.stats(WS, def.key);
    const notEntered: Record<string, number> = {};
    const blocked: Record<string, number> = {};
    const deferred: Record<string, number> = {};
    const capped: Record<string, number> = {};
    const profiles = new Set(input.history.map((h) => h.profileId));
    for (const id of profiles) {
      for (const r of box.store.trailOf(WS, id, def.key, 100_000) as TrailRow[]) {
        if (r.kind === 'no_entry') notEntered[String(r.detail.reason)] = (notEntered[String(r.detail.reason)] ?? 0) + 1;
        if (r.kind === 'guardrail') {
          const g = String(r.detail.guardrail);
          const into = r.detail.action === 'defer' ? deferred : blocked;
          into[g] = (into[g] ?? 0) + 1;
          if (g === 'frequency_cap') capped[r.node!] = (capped[r.node!] ?? 0) + 1;
        }
      }
    }
    return {
      from: input.from, to: input.to, profiles: profiles.size, entered: stats.entries, notEntered, messages: box.sent.length, conversions: stats.conversions,
      nodes: stats.nodes, blocked, deferred, capped,
    };
  } finally {
    box.close();
  }
}
