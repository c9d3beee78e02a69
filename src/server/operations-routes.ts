import type { FastifyInstance, FastifyRequest } from 'fastify';
import { checkAlertDestinations } from '../operations/notify/destinations.js';
import { STRICT_GUARD, type DestinationGuard } from '../network/destination-guard.js';
import { Type } from '@sinclair/typebox';
import type { Clock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import { badRequest } from '../core/errors.js';
import type { Store } from '../core/ports/store.js';
import { AlertBody, ALERTS_KIND, checkAlert, type AlertRule } from '../operations/alerts/definition.js';
import { evaluateMonitor } from '../operations/monitors/evaluate.js';
import { checkMonitor, MonitorBody, MONITORS_KIND, type Monitor } from '../operations/monitors/definition.js';
import type { Operations } from '../operations/operations.js';
import { AGGREGATES, MINUTE, type Aggregate } from '../operations/series.js';
import { checkSignal, SignalBody, SIGNALS_KIND, type Signal } from '../operations/signals.js';
import { definitionRoutes } from './channels-routes.js';
import type { FlagRow } from '../storage/sqlite/operations-store.js';

export interface OperationsRouteDeps {
  store: Store;
  clock: Clock;
  operations: Operations;
  /** The SSRF guard (src/network): notification URLs written as refused addresses are refused on save. */
  destinations?: DestinationGuard;
}

const Id = Type.Object({ id: Type.Integer({ minimum: 1 }) });
const Labels = Type.Record(Type.String(), Type.String());
const Link = Type.Object({ href: Type.String(), text: Type.String() });
const IncidentView = Type.Object({
  id: Type.Integer(), rule: Type.String(), dedupKey: Type.String(), severity: Type.String(), labels: Labels, summary: Type.String(),
  state: Type.String(), openedAt: Type.String(), resolvedAt: Type.Union([Type.String(), Type.Null()]), acknowledgedAt: Type.Union([Type.String(), Type.Null()]),
  acknowledgedBy: Type.Union([Type.String(), Type.Null()]), lastNotifiedAt: Type.Union([Type.String(), Type.Null()]), runbook: Type.Union([Type.String(), Type.Null()]),
  window: Type.Optional(Type.Object({ from: Type.String(), to: Type.String() }, { description: 'The time the incident is about: from the start of the window that tripped the rule to its resolution (or now).' })),
  detail: Type.Object({}, { additionalProperties: true }), links: Type.Array(Link),
  timeline: Type.Optional(Type.Array(Type.Object({ at: Type.String(), kind: Type.String(), actor: Type.Union([Type.String(), Type.Null()]), detail: Type.Object({}, { additionalProperties: true }) }))),
});
const SilenceView = Type.Object({ id: Type.Integer(), matchers: Labels, startsAt: Type.String(), endsAt: Type.String(), comment: Type.String(), createdBy: Type.String(), createdAt: Type.String(), expiredAt: Type.Union([Type.String(), Type.Null()]), active: Type.Boolean() });
const FlagView = Type.Object({ id: Type.Integer(), targetType: Type.String(), targetId: Type.String(), note: Type.String(), status: Type.String(), incidentId: Type.Union([Type.Integer(), Type.Null()]), createdBy: Type.String(), createdAt: Type.String(), resolvedAt: Type.Union([Type.String(), Type.Null()]), resolution: Type.Union([Type.String(), Type.Null()]) });

/**
 * Who did it, for the audit log and the timeline: the authenticated caller; a `by` naming someone else (a shared
 * token used for a person, a bot acting for one) is kept beside it, never instead of it.
 */
const actorOf = (req: FastifyRequest, by?: string) => {
  const caller = req.actor ?? 'admin';
  return by === undefined || by === caller ? caller : `${caller} (for ${by})`;
};

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
const time = (text: string | undefined, fallback: number, path: string) => {
  if (text === undefined) return fallback;
  const t = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(t)) throw badRequest('invalid_time', `${path} must be an ISO-8601 time or epoch milliseconds`, path);
  return t;
};

/** /api/v1/metrics/series, signals, monitors, alerts, incidents, silences and flags (docs/operations.md). */
export async function operationsRoutes(app: FastifyInstance, deps: OperationsRouteDeps): Promise<void> {
  const { store, clock, operations } = deps;
  const changed = (ws: string) => void operations.definitionsChanged(ws).catch(() => undefined);

  definitionRoutes<Signal>(app, store, clock, { kind: SIGNALS_KIND, noun: 'signal', schema: SignalBody, prepare: async (_ws, body) => checkSignal(body), changed });
  definitionRoutes<Monitor>(app, store, clock, { kind: MONITORS_KIND, noun: 'monitor', schema: MonitorBody, prepare: async (_ws, body) => checkMonitor(body), changed });
  definitionRoutes<AlertRule>(app, store, clock, {
    kind: ALERTS_KIND, noun: 'alert rule', schema: AlertBody, changed,
    prepare: async (ws, body) => {
      const monitors = new Set((await store.definitions.list(ws, MONITORS_KIND)).map((d) => d.key));
      const signals = new Set((await store.definitions.list(ws, SIGNALS_KIND)).map((d) => d.key));
      return checkAlertDestinations(checkAlert(body, { monitor: (k) => monitors.has(k), signal: (k) => signals.has(k) }), deps.destinations ?? STRICT_GUARD);
    },
  });

  app.get<{ Querystring: { metric: string; from?: string; to?: string; step?: string; aggregate?: Aggregate; groupBy?: string; match?: string } }>(
    '/metrics/series',
    {
      schema: {
        summary: 'A metric series for charts: per-minute rollups bucketed by step, one series per label set (or per groupBy labels)',
        tags: ['operations'],
        querystring: Type.Object({
          metric: Type.String({ minLength: 1, description: 'events, violations, quarantined, lag, delivery, journey, audience_size, signal, schema_changes, property_null.' }),
          from: Type.Optional(Type.String({ description: 'ISO-8601 or epoch ms (default: to - 1h).' })),
          to: Type.Optional(Type.String({ description: 'ISO-8601 or epoch ms (default: now).' })),
          step: Type.Optional(Type.String({ description: 'Bucket width, a duration such as 1m, 5m, 1h (default 1m).' })),
          aggregate: Type.Optional(Type.Union(AGGREGATES.map((a) => Type.Literal(a)), { description: 'count (default), sum, avg, max, last (gauges).' })),
          groupBy: Type.Optional(Type.String({ description: 'Comma-separated labels to group by; empty: one series in all.' })),
          match: Type.Optional(Type.String({ description: 'Comma-separated label=value filters, such as event=Order Completed,source=web.' })),
        }),
        response: { 200: Type.Object({ metric: Type.String(), from: Type.String(), to: Type.String(), step: Type.Integer(), aggregate: Type.String(), timestamps: Type.Array(Type.String()), series: Type.Array(Type.Object({ labels: Labels, values: Type.Array(Type.Union([Type.Number(), Type.Null()])) })) }) },
      },
    },
    async (req) => {
      const q = req.query;
      const step = parseDuration(q.step ?? '1m', 'step');
      if (step < MINUTE || step % MINUTE) throw badRequest('invalid_step', 'step must be a whole number of minutes, at least 1m', 'step');
      const now = clock.now();
      const to = Math.ceil(time(q.to, now, 'to') / MINUTE) * MINUTE;
      const from = Math.floor(time(q.from, to - 3_600_000, 'from') / MINUTE) * MINUTE;
      if (from >= to) throw badRequest('invalid_range', 'from must be before to', 'from');
      if ((to - from) / step > 10_000) throw badRequest('too_many_points', 'the range holds more than 10,000 steps; use a larger step', 'step');
      const match: Record<string, string> = {};
      for (const pair of (q.match ?? '').split(',').filter((p) => p.trim() !== '')) {
        const i = pair.indexOf('=');
        if (i < 1) throw badRequest('invalid_match', `match: '${pair}' is not label=value`, 'match');
        match[pair.slice(0, i).trim()] = pair.slice(i + 1).trim();
      }
      const groupBy = q.groupBy === undefined ? undefined : q.groupBy.split(',').map((s) => s.trim()).filter((s) => s !== '');
      const aggregate = q.aggregate ?? 'count';
      const series = operations.recorder.query(req.workspaceId, { metric: q.metric, match, from, to, step, aggregate, groupBy });
      const timestamps = Array.from({ length: Math.ceil((to - from) / step) }, (_, i) => new Date(from + i * step).toISOString());
      return { metric: q.metric, from: new Date(from).toISOString(), to: new Date(to).toISOString(), step, aggregate, timestamps, series };
    },
  );

  app.get('/metrics/names', { schema: { summary: 'Metrics that have series in this workspace', tags: ['operations'], response: { 200: Type.Object({ data: Type.Array(Type.String()) }) } } }, async (req) => ({ data: operations.recorder.metrics(req.workspaceId) }));

  app.post<{ Params: { key: string } }>(
    '/monitors/:key/evaluate',
    { schema: { summary: "A monitor's verdicts now, per group (nothing is recorded)", tags: ['monitors'], params: Type.Object({ key: Type.String() }), response: { 200: Type.Object({ data: Type.Array(Type.Object({ group: Labels, value: Type.Union([Type.Number(), Type.Null()]), alert: Type.Boolean(), learning: Type.Optional(Type.Boolean()), summary: Type.String() })) }) } } },
    async (req) => {
      const found = await store.definitions.get<Monitor>(req.workspaceId, MONITORS_KIND, req.params.key);
      if (!found) throw badRequest('not_found', `monitor '${req.params.key}' does not exist`, 'key');
      return { data: evaluateMonitor(found.body, { workspaceId: req.workspaceId, now: clock.now(), recorder: operations.recorder, store: operations.store }).map(({ detail: _d, ...r }) => r) };
    },
  );

  app.get<{ Querystring: { state?: 'firing' | 'resolved'; rule?: string; before?: number; limit?: number } }>(
    '/incidents',
    { schema: { summary: 'Incidents, newest first', tags: ['incidents'], querystring: Type.Object({ state: Type.Optional(Type.Union([Type.Literal('firing'), Type.Literal('resolved')])), rule: Type.Optional(Type.String()), before: Type.Optional(Type.Integer()), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })) }), response: { 200: Type.Object({ data: Type.Array(IncidentView) }) } } },
    async (req) => {
      await operations.definitions(req.workspaceId);
      const rows = operations.store.incidents(req.workspaceId, { ...req.query, limit: req.query.limit ?? 50 });
      return { data: rows.map((i) => operations.incidentView(req.workspaceId, i)) };
    },
  );

  app.get<{ Params: { id: number } }>('/incidents/:id', { schema: { summary: 'One incident with its runbook, links and timeline', tags: ['incidents'], params: Id, response: { 200: IncidentView } } }, async (req) => {
    await operations.definitions(req.workspaceId);
    const i = operations.incident(req.workspaceId, req.params.id);
    const timeline = operations.store.timeline(i.id).map((t) => ({ ...t, at: new Date(t.at).toISOString() }));
    return { ...operations.incidentView(req.workspaceId, i), timeline };
  });

  app.post<{ Params: { id: number }; Body: { note?: string; by?: string } }>(
    '/incidents/:id/acknowledge',
    { schema: { summary: 'Acknowledge: PagerDuty is told, and the alert is not notified again until it resolves', tags: ['incidents'], params: Id, body: Type.Optional(Type.Object({ note: Type.Optional(Type.String()), by: Type.Optional(Type.String({ minLength: 1 })) }, { additionalProperties: false })), response: { 200: IncidentView } } },
    async (req) => operations.incidentView(req.workspaceId, await operations.acknowledge(req.workspaceId, req.params.id, actorOf(req, req.body?.by), req.body?.note)),
  );

  app.post<{ Params: { id: number }; Body: { text: string; by?: string } }>(
    '/incidents/:id/notes',
    { schema: { summary: "Add a note to an incident's timeline (post-mortems)", tags: ['incidents'], params: Id, body: Type.Object({ text: Type.String({ minLength: 1 }), by: Type.Optional(Type.String({ minLength: 1 })) }, { additionalProperties: false }) } },
    async (req, reply) => {
      await operations.note(req.workspaceId, req.params.id, actorOf(req, req.body.by), req.body.text);
      return reply.status(204).send();
    },
  );

  app.get('/silences', { schema: { summary: 'Silences, newest first', tags: ['silences'], response: { 200: Type.Object({ data: Type.Array(SilenceView) }) } } }, async (req) => ({
    data: operations.store.silences(req.workspaceId).map((s) => operations.silenceView(s)),
  }));

  app.post<{ Body: { matchers: Record<string, string>; startsAt?: string; endsAt?: string; duration?: string; comment: string; by?: string } }>(
    '/silences',
    {
      schema: {
        summary: 'Silence matching alerts for a time (matchers: label values; alert is the rule key)',
        tags: ['silences'],
        body: Type.Object({ matchers: Labels, startsAt: Type.Optional(Type.String({ format: 'date-time' })), endsAt: Type.Optional(Type.String({ format: 'date-time' })), duration: Type.Optional(Type.String({ description: 'Instead of endsAt: 2h, 1d, ...' })), comment: Type.String({ minLength: 1 }), by: Type.Optional(Type.String({ minLength: 1 })) }, { additionalProperties: false }),
        response: { 201: SilenceView },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const startsAt = b.startsAt === undefined ? clock.now() : Date.parse(b.startsAt);
      if (b.endsAt === undefined && b.duration === undefined) throw badRequest('missing_field', 'give endsAt or duration', 'endsAt');
      const endsAt = b.endsAt !== undefined ? Date.parse(b.endsAt) : startsAt + parseDuration(b.duration as string, 'duration');
      const s = await operations.silence(req.workspaceId, { matchers: b.matchers, startsAt, endsAt, comment: b.comment, createdBy: actorOf(req, b.by) });
      return reply.status(201).send(operations.silenceView(s));
    },
  );

  app.delete<{ Params: { id: number } }>('/silences/:id', { schema: { summary: 'Expire a silence now', tags: ['silences'], params: Id } }, async (req, reply) => {
    await operations.expireSilence(req.workspaceId, req.params.id, actorOf(req));
    return reply.status(204).send();
  });

  const flagView = (f: FlagRow) => ({ ...f, createdAt: new Date(f.createdAt).toISOString(), resolvedAt: iso(f.resolvedAt) });

  app.get<{ Querystring: { status?: 'open' | 'resolved'; targetType?: 'event' | 'profile'; targetId?: string; limit?: number } }>(
    '/flags',
    { schema: { summary: 'Data-issue flags on events and profiles, newest first', tags: ['flags'], querystring: Type.Object({ status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('resolved')])), targetType: Type.Optional(Type.Union([Type.Literal('event'), Type.Literal('profile')])), targetId: Type.Optional(Type.String()), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })) }), response: { 200: Type.Object({ data: Type.Array(FlagView) }) } } },
    async (req) => ({ data: operations.store.flags(req.workspaceId, { ...req.query, limit: req.query.limit ?? 100 }).map(flagView) }),
  );

  app.post<{ Body: { targetType: 'event' | 'profile'; targetId: string; note: string; incident?: number; by?: string } }>(
    '/flags',
    {
      schema: {
        summary: 'Flag an event (its messageId or id) or a profile as bad, with a note; audited, and on the incident timeline when given',
        tags: ['flags'],
        body: Type.Object({ targetType: Type.Union([Type.Literal('event'), Type.Literal('profile')]), targetId: Type.String({ minLength: 1 }), note: Type.String({ minLength: 1 }), incident: Type.Optional(Type.Integer({ minimum: 1 })), by: Type.Optional(Type.String({ minLength: 1 })) }, { additionalProperties: false }),
        response: { 201: FlagView },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const f = await operations.flag(req.workspaceId, { targetType: b.targetType, targetId: b.targetId, note: b.note, incidentId: b.incident, createdBy: actorOf(req, b.by) });
      return reply.status(201).send(flagView(f));
    },
  );

  app.post<{ Params: { id: number }; Body: { resolution: string; by?: string } }>(
    '/flags/:id/resolve',
    { schema: { summary: 'Resolve a flag (say how: replayed from quarantine, traits corrected, ...)', tags: ['flags'], params: Id, body: Type.Object({ resolution: Type.String({ minLength: 1 }), by: Type.Optional(Type.String({ minLength: 1 })) }, { additionalProperties: false }), response: { 200: FlagView } } },
    async (req) => flagView(await operations.resolveFlag(req.workspaceId, req.params.id, actorOf(req, req.body.by), req.body.resolution)),
  );
}
