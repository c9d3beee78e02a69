import { Counter, Gauge, type Registry } from 'prom-client';
import type { Message } from '../collect/message.js';
import type { StoredEvent } from '../core/ports/store.js';
import type { OperationsStore } from '../storage/sqlite/operations-store.js';
import type { Monitor } from './monitors/definition.js';
import { floorMinute, type SeriesRecorder } from './series.js';
import { eventName, passes, propertyOf, signalValue, type Signal } from './signals.js';

/** The definitions the ingest path needs, per workspace (kept current by the operations service). */
export interface FeedDefinitions {
  signals(workspaceId: string): Signal[];
  nullRateMonitors(workspaceId: string): Monitor[];
}

/** What a newly seen (event, property, type) is: a new event name, a new property, or a property whose type changed. */
export function schemaChange(store: OperationsStore, ws: string, f: { event: string; property: string; type: string }, seenAt: number): 'new_event' | 'new_property' | 'type_change' {
  if (f.property === '') return 'new_event';
  return store.schemaKnown(ws, f.event, f.property, seenAt).some((t) => t !== f.type) ? 'type_change' : 'new_property';
}

const jsonType = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/**
 * What fills the series. Stored events arrive through the events stage's listener (one call per stored batch):
 * volume per source, type and event name, violations, processing lag, signals, null rates, and the schema seen.
 * Quarantine, delivery outcomes, journey entries, exits and conversions are read after a watermark (an id) from
 * their tables in store.db each tick, and audience sizes are sampled: those components need no edit to be watched.
 */
export class SeriesFeeds {
  private sourceKeys = new Map<string, string>();
  private schema = new Map<string, Map<string, { event: string; property: string; type: string }>>();
  readonly prom: ReturnType<typeof promMetrics>;

  constructor(
    private readonly recorder: SeriesRecorder,
    private readonly store: OperationsStore,
    private readonly definitions: FeedDefinitions,
    registry: Registry,
  ) {
    this.prom = promMetrics(registry);
  }

  sourceKey(sourceId: string): string {
    let key = this.sourceKeys.get(sourceId);
    if (key === undefined) {
      for (const r of this.store.all<{ id: string; key: string }>('SELECT id, key FROM sources')) this.sourceKeys.set(r.id, r.key);
      key = this.sourceKeys.get(sourceId) ?? sourceId;
    }
    return key;
  }

  /** The events stage's listener: never throws (a failure here must not stop the pipeline). */
  onStored(events: StoredEvent[], now: number): void {
    for (const e of events) {
      try {
        this.record(e, now);
      } catch {
        // A malformed message is the tracking plan's business; the series skip it.
      }
    }
  }

  private record(e: StoredEvent, now: number): void {
    const m = e.message;
    const ws = e.workspaceId;
    const source = this.sourceKey(e.sourceId);
    const received = Date.parse(m.receivedAt);
    const at = Number.isFinite(received) ? received : now;
    const event = eventName(m);
    this.recorder.add(ws, 'events', { source, type: m.type, event }, at);
    this.prom.events.inc({ source, type: m.type, event });
    if (e.violations.length) {
      this.recorder.add(ws, 'violations', { source, event }, at);
      this.prom.violations.inc({ source, event });
    }
    const lag = Math.max(0, now - at);
    this.recorder.add(ws, 'lag', {}, now, 1, lag);
    this.prom.lag.set(lag / 1000);
    for (const s of this.definitions.signals(ws)) {
      const v = signalValue(s, m, source);
      if (v !== undefined) this.recorder.add(ws, 'signal', { signal: s.key }, at, 1, v);
    }
    for (const mon of this.definitions.nullRateMonitors(ws)) {
      if (mon.source !== undefined && mon.source !== source) continue;
      if (mon.event !== undefined && mon.event !== event) continue;
      if (!passes(m, mon.where ?? [])) continue;
      const v = propertyOf(m, mon.property ?? '');
      const empty = v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
      this.recorder.add(ws, 'property_null', { monitor: mon.key }, at, 1, empty ? 1 : 0);
    }
    this.noteSchema(ws, event, m);
  }

  private noteSchema(ws: string, event: string, m: Message): void {
    let pending = this.schema.get(ws);
    if (!pending) this.schema.set(ws, (pending = new Map()));
    const add = (property: string, type: string) => {
      const k = `${event}\u0000${property}\u0000${type}`;
      if (!pending.has(k)) pending.set(k, { event, property, type });
    };
    add('', 'event');
    for (const [property, v] of Object.entries((m.type === 'identify' || m.type === 'group' ? m.traits : m.properties) ?? {})) add(property, jsonType(v));
  }

  /** Writes the schema seen since the last tick; counts what is new (series `schema_changes`). */
  flushSchema(now: number): void {
    for (const [ws, pending] of this.schema) {
      if (!pending.size) continue;
      const fresh = this.store.noteSchema(ws, [...pending.values()], floorMinute(now));
      pending.clear();
      const newEvents = new Set(fresh.filter((f) => f.property === '').map((f) => f.event));
      for (const f of fresh) {
        if (f.property !== '' && newEvents.has(f.event)) continue;
        this.recorder.add(ws, 'schema_changes', { event: f.event, change: schemaChange(this.store, ws, f, floorMinute(now)) }, now);
      }
    }
  }

  /** Reads new rows of other components' tables after their watermarks, and samples audience sizes. */
  sample(now: number): void {
    this.after('quarantine', 'SELECT id, workspace_id AS ws, source_id AS source, event, received_at AS at FROM quarantine WHERE id > ? ORDER BY id LIMIT 5000', (r) => {
      const source = this.sourceKey(r.source as string);
      this.recorder.add(r.ws as string, 'quarantined', { source, event: (r.event as string | null) ?? '' }, r.at as number);
    });
    this.after(
      'delivery_log',
      `SELECT l.id, l.workspace_id AS ws, l.status, l.at, m.channel FROM delivery_log l JOIN delivery_messages m ON m.message_id = l.message_id WHERE l.id > ? ORDER BY l.id LIMIT 5000`,
      (r) => {
        this.recorder.add(r.ws as string, 'delivery', { channel: r.channel as string, status: r.status as string }, r.at as number);
        this.prom.delivery.inc({ channel: r.channel as string, status: r.status as string });
      },
    );
    this.after("journey_trail", "SELECT id, workspace_id AS ws, journey, kind, at FROM journey_trail WHERE id > ? AND kind IN ('entry', 'exit', 'goal') ORDER BY id LIMIT 5000", (r) => {
      const kind = r.kind === 'goal' ? 'conversion' : (r.kind as string);
      this.recorder.add(r.ws as string, 'journey', { journey: r.journey as string, kind }, r.at as number);
      this.prom.journeys.inc({ journey: r.journey as string, kind });
    });
    try {
      for (const r of this.store.all<{ ws: string; audience: string; size: number }>('SELECT workspace_id AS ws, audience, size FROM apply_audience_counts')) {
        this.recorder.gauge(r.ws, 'audience_size', { audience: r.audience }, now, r.size);
        this.prom.audiences.set({ audience: r.audience }, r.size);
      }
    } catch {
      // The apply tables are not there (a store without the apply stage).
    }
  }

  /** Rows after the watermark `name`; the first run starts from the newest row (history before is not replayed). */
  private after(name: string, sql: string, each: (row: Record<string, unknown>) => void): void {
    try {
      let from = this.store.watermark(name);
      if (from === undefined) {
        const table = name;
        from = this.store.all<{ id: number | null }>(`SELECT MAX(id) AS id FROM ${table}`)[0]?.id ?? 0;
        this.store.setWatermark(name, from);
      }
      for (;;) {
        const rows = this.store.all(sql, from);
        for (const r of rows) each(r);
        if (!rows.length) break;
        from = rows[rows.length - 1].id as number;
        this.store.setWatermark(name, from);
        if (rows.length < 5000) break;
      }
    } catch {
      // The table belongs to a component that is not present: nothing to read.
    }
  }
}

function promMetrics(registry: Registry) {
  const existing = (name: string) => registry.getSingleMetric(name);
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) => (existing(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] });
  const gauge = <L extends string>(name: string, help: string, labelNames: L[]) => (existing(name) as Gauge<L> | undefined) ?? new Gauge({ name, help, labelNames, registers: [registry] });
  return {
    events: counter('tandem_ops_events_total', 'Stored events by source, message type and event name (the volume series).', ['source', 'type', 'event']),
    violations: counter('tandem_ops_violations_total', 'Stored events that carry tracking-plan violations.', ['source', 'event']),
    lag: gauge('tandem_ops_processing_lag_seconds', 'Seconds from receipt to storage of the last stored event.', []),
    delivery: counter('tandem_ops_delivery_outcomes_total', 'Delivery log entries by channel and status (sent, delivered, bounced, failed, attempt_failed, dead, suppressed).', ['channel', 'status']),
    journeys: counter('tandem_ops_journey_total', 'Journey entries, exits and conversions.', ['journey', 'kind']),
    audiences: gauge('tandem_ops_audience_size', 'Members of each audience (sampled each minute).', ['audience']),
    firing: gauge('tandem_ops_alerts_firing', 'Alert groups firing, by rule and severity.', ['rule', 'severity']),
    notifications: counter('tandem_ops_notifications_total', 'Alert notifications sent, by target type and outcome.', ['target', 'outcome']),
  };
}
