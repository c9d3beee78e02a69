import { Type, type Static } from '@sinclair/typebox';
import { DefinitionKey } from '../../catalogs/definition.js';
import { parseDuration } from '../../core/duration.js';
import { badRequest } from '../../core/errors.js';
import { checkTests, PropertyTest } from '../signals.js';

export const MONITORS_KIND = 'monitors';

export const MONITOR_TYPES = ['volume_anomaly', 'freshness', 'zero_volume', 'schema_drift', 'null_rate', 'violation_rate', 'delivery_failure_rate', 'audience_jump', 'processing_lag'] as const;
export type MonitorType = (typeof MONITOR_TYPES)[number];

export const MonitorBody = Type.Object(
  {
    key: DefinitionKey,
    name: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
    type: Type.Union(MONITOR_TYPES.map((t) => Type.Literal(t)), { description: 'What is watched (docs/operations.md, Monitors).' }),
    event: Type.Optional(Type.String({ description: 'Event name (volume_anomaly, zero_volume, freshness, null_rate, violation_rate).' })),
    source: Type.Optional(Type.String({ description: 'Source key.' })),
    per: Type.Optional(Type.Union([Type.Literal('event'), Type.Literal('source')], { description: 'volume_anomaly, freshness, zero_volume: one verdict per event name or per source.' })),
    property: Type.Optional(Type.String({ description: 'null_rate: dotted path under properties.' })),
    where: Type.Optional(Type.Array(PropertyTest, { description: 'null_rate: only events passing these tests count.' })),
    channel: Type.Optional(Type.String({ description: 'delivery_failure_rate: one channel key (else one verdict per channel).' })),
    audience: Type.Optional(Type.String({ description: 'audience_jump: one audience key (else one verdict per audience).' })),
    window: Type.Optional(Type.String({ description: 'The window a value is computed over (default 1h; processing_lag 5m).' })),
    maxAge: Type.Optional(Type.String({ description: 'freshness: alert when the newest event is older than this (default 15m).' })),
    threshold: Type.Optional(Type.Number({ description: 'Rates: a fraction (null_rate default 0.1, violation_rate 0.05, delivery_failure_rate 0.1); audience_jump: relative change (0.2); processing_lag: seconds (300).' })),
    minCount: Type.Optional(Type.Integer({ minimum: 0, description: 'Rates and audience_jump: no verdict below this many events (or members) in the window (default 20).' })),
    sensitivity: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'volume_anomaly: robust z-score beyond which a window is anomalous (default 4).' })),
    weeks: Type.Optional(Type.Integer({ minimum: 1, maximum: 12, description: 'volume_anomaly: weeks of seasonal history compared with (default 4).' })),
    minHistoryWeeks: Type.Optional(Type.Integer({ minimum: 1, maximum: 12, description: 'volume_anomaly: weeks that must have data before it gives a verdict (default 2).' })),
    direction: Type.Optional(Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Literal('both')], { description: 'volume_anomaly: drops, spikes or both (default both).' })),
    minChange: Type.Optional(Type.Number({ minimum: 0, description: 'volume_anomaly: relative change from the baseline also required (default 0.3).' })),
    learning: Type.Optional(Type.String({ description: "schema_drift: what is first seen during this period after the workspace's first event is the baseline, not drift (default 24h)." })),
  },
  { additionalProperties: false, description: 'A data-quality monitor; alert rules refer to it by key.' },
);
export type Monitor = Static<typeof MonitorBody>;

const NEEDS: Partial<Record<MonitorType, (keyof Monitor)[]>> = { null_rate: ['property'] };
const ALLOWED: Record<MonitorType, (keyof Monitor)[]> = {
  volume_anomaly: ['event', 'source', 'per', 'window', 'sensitivity', 'weeks', 'minHistoryWeeks', 'direction', 'minChange'],
  freshness: ['event', 'source', 'per', 'maxAge'],
  zero_volume: ['event', 'source', 'per', 'window'],
  schema_drift: ['event', 'window', 'learning'],
  null_rate: ['event', 'source', 'property', 'where', 'window', 'threshold', 'minCount'],
  violation_rate: ['event', 'source', 'window', 'threshold', 'minCount'],
  delivery_failure_rate: ['channel', 'window', 'threshold', 'minCount'],
  audience_jump: ['audience', 'window', 'threshold', 'minCount'],
  processing_lag: ['window', 'threshold'],
};
const COMMON = new Set<keyof Monitor>(['key', 'name', 'description', 'type']);

/** Checks what the schema cannot: fields that apply to the type, durations, thresholds. */
export function checkMonitor(m: Monitor): Monitor {
  for (const field of Object.keys(m) as (keyof Monitor)[]) {
    if (!COMMON.has(field) && !ALLOWED[m.type].includes(field)) throw badRequest('not_applicable', `${field} does not apply to a ${m.type} monitor (it takes ${ALLOWED[m.type].join(', ')})`, field);
  }
  for (const field of NEEDS[m.type] ?? []) if (m[field] === undefined) throw badRequest('missing_field', `${field} is required for a ${m.type} monitor`, field);
  for (const field of ['window', 'maxAge', 'learning'] as const) {
    if (m[field] === undefined) continue;
    const ms = parseDuration(m[field] as string, field);
    if (ms < 60_000) throw badRequest('invalid_duration', `${field} must be at least 1m`, field);
  }
  if (m.type === 'volume_anomaly' && m.minHistoryWeeks !== undefined && m.minHistoryWeeks > (m.weeks ?? 4)) throw badRequest('invalid_history', 'minHistoryWeeks must not exceed weeks', 'minHistoryWeeks');
  if (m.threshold !== undefined && ['null_rate', 'violation_rate', 'delivery_failure_rate'].includes(m.type) && (m.threshold < 0 || m.threshold > 1)) {
    throw badRequest('invalid_threshold', 'threshold of a rate is a fraction between 0 and 1', 'threshold');
  }
  if (m.type === 'zero_volume' && m.event === undefined && m.source === undefined && m.per === undefined) throw badRequest('missing_field', 'a zero_volume monitor needs event, source or per', 'event');
  checkTests(m.where ?? [], 'where');
  return m;
}
