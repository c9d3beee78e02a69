import { SecretRef } from '../../secrets/reference.js';
import { Type, type Static } from '@sinclair/typebox';
import { DefinitionKey } from '../../catalogs/definition.js';
import { parseDuration } from '../../core/duration.js';
import { badRequest } from '../../core/errors.js';
import { RETRY_DEFAULTS, type RetryPolicy } from '../notify/retry.js';
import { AGGREGATES } from '../series.js';

export const ALERTS_KIND = 'alerts';
export const SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];


export const NotifyTarget = Type.Union([
  Type.Object({ pagerduty: Type.Object({ routingKey: Type.Union([SecretRef, Type.String({ minLength: 1 })], { description: 'The integration key of the PagerDuty service: { secret: NAME } (stored encrypted: PUT /api/v1/secrets/NAME) or { env: NAME }. An inline key is accepted in definitions written before secrets existed; new ones are refused.' }), url: Type.Optional(Type.String({ description: 'Events API v2 endpoint (default https://events.pagerduty.com/v2/enqueue).' })) }, { additionalProperties: false }) }, { additionalProperties: false }),
  Type.Object({ webhook: Type.Object({ url: Type.String({ minLength: 1 }) }, { additionalProperties: false }) }, { additionalProperties: false }),
  Type.Object({ channel: Type.String({ minLength: 1, description: 'A channel key (email, slack or webhook channel).' }), to: Type.Optional(Type.String({ description: 'email: the recipient.' })) }, { additionalProperties: false }),
]);
export type NotifyTarget = Static<typeof NotifyTarget>;

export const AlertBody = Type.Object(
  {
    key: DefinitionKey,
    name: Type.Optional(Type.String()),
    severity: Type.Union(SEVERITIES.map((s) => Type.Literal(s)), { default: 'warning' }),
    monitor: Type.Optional(Type.String({ description: "A monitor key: the rule is active where the monitor's verdict is alert (or, with threshold, where its value crosses it)." })),
    signal: Type.Optional(Type.String({ description: 'A signal key: its aggregate over its window.' })),
    series: Type.Optional(
      Type.Object(
        {
          metric: Type.String({ description: 'events, violations, quarantined, lag, delivery, journey, audience_size, signal, schema_changes, property_null.' }),
          match: Type.Optional(Type.Record(Type.String(), Type.String())),
          aggregate: Type.Optional(Type.Union(AGGREGATES.map((a) => Type.Literal(a)), { default: 'count' })),
          window: Type.Optional(Type.String({ default: '5m' })),
          groupBy: Type.Optional(Type.Array(Type.String())),
        },
        { additionalProperties: false },
      ),
    ),
    threshold: Type.Optional(Type.Object({ op: Type.Union([Type.Literal('gt'), Type.Literal('gte'), Type.Literal('lt'), Type.Literal('lte')]), value: Type.Number() }, { additionalProperties: false })),
    anomaly: Type.Optional(
      Type.Object(
        {
          sensitivity: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
          weeks: Type.Optional(Type.Integer({ minimum: 1, maximum: 12 })),
          minHistoryWeeks: Type.Optional(Type.Integer({ minimum: 1, maximum: 12 })),
          direction: Type.Optional(Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Literal('both')])),
          minChange: Type.Optional(Type.Number({ minimum: 0 })),
        },
        { additionalProperties: false, description: 'Seasonal (hour-of-week) robust anomaly on the series or signal.' },
      ),
    ),
    for: Type.Optional(Type.String({ default: '0m', description: 'How long the condition must hold before the alert fires (pending until then).' })),
    labels: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Added to the alert, for silences and routing.' })),
    notify: Type.Optional(Type.Array(NotifyTarget, { default: [] })),
    repeatInterval: Type.Optional(Type.String({ default: '4h', description: 'A firing, unacknowledged alert is notified again this often.' })),
    group: Type.Optional(
      Type.Object(
        {
          by: Type.Array(Type.String({ minLength: 1 }), { description: 'Alert labels whose values make a notification group (across rules with the same target), such as [team] or [source].' }),
          wait: Type.Optional(Type.String({ default: '30s', description: 'How long a new group waits for more alerts before its first notification.' })),
          interval: Type.Optional(Type.String({ default: '5m', description: 'How long a group that has notified waits before notifying new or resolved alerts.' })),
        },
        { additionalProperties: false, description: 'Notify webhook and channel targets in groups (as Alertmanager group_by, group_wait, group_interval); PagerDuty targets are not grouped.' },
      ),
    ),
    retry: Type.Optional(
      Type.Object(
        {
          attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 20, default: 5, description: 'Attempts in all, the first included (1: no retry).' })),
          backoff: Type.Optional(Type.String({ default: '30s', description: 'Delay before the first retry; doubles at each retry, with jitter (half fixed, half random).' })),
          maxBackoff: Type.Optional(Type.String({ default: '15m', description: 'Cap of the doubled delay.' })),
        },
        { additionalProperties: false, description: 'Retry of failed notifications with exponential backoff and jitter.' },
      ),
    ),
    runbook: Type.Optional(Type.String({ description: 'Markdown shown with the alert and sent with its notifications.' })),
    enabled: Type.Optional(Type.Boolean({ default: true })),
  },
  { additionalProperties: false, description: 'An alert rule: a threshold or an anomaly on a series, a signal or a monitor.' },
);
export type AlertRule = Static<typeof AlertBody>;

/** Checks what the schema cannot; `known` tells whether a monitor or signal key exists. */
export function checkAlert(a: AlertRule, known: { monitor(key: string): boolean; signal(key: string): boolean }): AlertRule {
  const sources = (['monitor', 'signal', 'series'] as const).filter((k) => a[k] !== undefined);
  if (sources.length !== 1) throw badRequest('invalid_source', 'an alert rule watches exactly one of monitor, signal or series', sources[1] ?? 'monitor');
  if (a.monitor !== undefined && !known.monitor(a.monitor)) throw badRequest('unknown_monitor', `monitor '${a.monitor}' does not exist`, 'monitor');
  if (a.signal !== undefined && !known.signal(a.signal)) throw badRequest('unknown_signal', `signal '${a.signal}' does not exist`, 'signal');
  if (a.threshold && a.anomaly) throw badRequest('invalid_condition', 'give threshold or anomaly, not both', 'anomaly');
  if (a.monitor === undefined && !a.threshold && !a.anomaly) throw badRequest('missing_condition', 'a rule on a series or signal needs threshold or anomaly', 'threshold');
  if (a.monitor !== undefined && a.anomaly) throw badRequest('invalid_condition', 'anomaly applies to a series or signal; use a volume_anomaly monitor', 'anomaly');
  for (const field of ['for', 'repeatInterval'] as const) if (a[field] !== undefined) parseDuration(a[field] as string, field);
  if (a.series?.window !== undefined && parseDuration(a.series.window, 'series.window') < 60_000) throw badRequest('invalid_duration', 'series.window must be at least 1m', 'series.window');
  if (a.group) {
    if (a.group.wait !== undefined) parseDuration(a.group.wait, 'group.wait');
    if (a.group.interval !== undefined && parseDuration(a.group.interval, 'group.interval') < 1000) throw badRequest('invalid_duration', 'group.interval must be at least 1s', 'group.interval');
  }
  if (a.retry) {
    const backoff = a.retry.backoff === undefined ? RETRY_DEFAULTS.backoffMs : parseDuration(a.retry.backoff, 'retry.backoff');
    if (backoff < 1000) throw badRequest('invalid_duration', 'retry.backoff must be at least 1s', 'retry.backoff');
    if (a.retry.maxBackoff !== undefined && parseDuration(a.retry.maxBackoff, 'retry.maxBackoff') < backoff) throw badRequest('invalid_duration', 'retry.maxBackoff must not be below retry.backoff', 'retry.maxBackoff');
  }
  a.notify?.forEach((t, i) => {
    if ('webhook' in t && !/^https?:\/\//.test(t.webhook.url)) throw badRequest('invalid_url', `notify[${i}].webhook.url must be an http(s) URL`, `notify[${i}].webhook.url`);
    if ('pagerduty' in t && typeof t.pagerduty.routingKey === 'string') {
      throw badRequest('inline_secret', `notify[${i}].pagerduty.routingKey must reference a secret: { "secret": "NAME" } (stored encrypted: PUT /api/v1/secrets/NAME) or { "env": "NAME" }; keys are never stored inline`, `notify[${i}].pagerduty.routingKey`);
    }
    if ('pagerduty' in t && t.pagerduty.url !== undefined && !/^https?:\/\//.test(t.pagerduty.url)) throw badRequest('invalid_url', `notify[${i}].pagerduty.url must be an http(s) URL`, `notify[${i}].pagerduty.url`);
  });
  return a;
}

/** The rule's retry policy (defaults: 5 attempts, 30s doubling to at most 15m). */
export function retryPolicy(a: AlertRule): RetryPolicy {
  const r = a.retry ?? {};
  return {
    attempts: r.attempts ?? RETRY_DEFAULTS.attempts,
    backoffMs: r.backoff === undefined ? RETRY_DEFAULTS.backoffMs : parseDuration(r.backoff),
    maxBackoffMs: r.maxBackoff === undefined ? Math.max(RETRY_DEFAULTS.maxBackoffMs, r.backoff === undefined ? 0 : parseDuration(r.backoff)) : parseDuration(r.maxBackoff),
  };
}

/** The rule's notification grouping, if any (defaults: wait 30s, interval 5m). */
export function groupPolicy(a: AlertRule): { by: string[]; waitMs: number; intervalMs: number } | undefined {
  if (!a.group) return undefined;
  return { by: a.group.by, waitMs: parseDuration(a.group.wait ?? '30s'), intervalMs: parseDuration(a.group.interval ?? '5m') };
}
