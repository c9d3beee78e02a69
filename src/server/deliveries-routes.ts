import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { CHANNEL_KIND } from '../channels/definition.js';
import { badRequest, notFound } from '../core/errors.js';
import type { Store } from '../core/ports/store.js';
import type { Delivery } from '../delivery/delivery.js';
import type { DeliveryFilter, DeliveryRecord, DeliveryStatus, OutboxMessage } from '../delivery/ports.js';
import { TEMPLATE_KIND } from '../templates/definition.js';

export interface DeliveriesRouteDeps {
  store: Store;
  delivery: Delivery;
}

const Statuses = ['queued', 'sent', 'delivered', 'failed', 'bounced', 'suppressed', 'opened', 'clicked'] as const;
const Status = Type.Union(Statuses.map((s) => Type.Literal(s)));
const State = Type.Union([Type.Literal('pending'), Type.Literal('done'), Type.Literal('dead')]);

const iso = (ms: number) => new Date(ms).toISOString();

const DeliveryView = Type.Object({
  id: Type.String(),
  seq: Type.Integer(),
  profileId: Type.String(),
  channel: Type.String(),
  template: Type.Union([Type.String(), Type.Null()]),
  payload: Type.Object({}, { additionalProperties: true }),
  idempotencyKey: Type.String(),
  priority: Type.Integer(),
  journey: Type.Union([Type.String(), Type.Null()]),
  node: Type.Union([Type.String(), Type.Null()]),
  state: State,
  status: Status,
  attempts: Type.Integer(),
  nextAttemptAt: Type.Union([Type.String(), Type.Null()], { description: 'When the next attempt is due (pending messages only).' }),
  lastError: Type.Union([Type.String(), Type.Null()], { description: 'Reason of the last failed attempt, or why the message was dead-lettered.' }),
  providerId: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

const LogEntry = Type.Object({ status: Type.String(), at: Type.String(), attempt: Type.Optional(Type.Integer()), detail: Type.Optional(Type.Object({}, { additionalProperties: true })) });

const view = (d: DeliveryRecord) => ({
  id: d.id, seq: d.seq, profileId: d.profileId, channel: d.channel, template: d.template, payload: d.payload, idempotencyKey: d.idempotencyKey,
  priority: d.priority, journey: d.journey, node: d.node, state: d.state, status: d.status, attempts: d.attempts,
  nextAttemptAt: d.state === 'pending' ? iso(d.nextAttemptAt) : null, lastError: d.lastError, providerId: d.providerId,
  createdAt: iso(d.createdAt), updatedAt: iso(d.updatedAt),
});

const EnqueueBody = Type.Object(
  {
    profileId: Type.String({ minLength: 1 }),
    channel: Type.String({ minLength: 1 }),
    template: Type.Optional(Type.String({ minLength: 1 })),
    payload: Type.Optional(Type.Object({}, { additionalProperties: true })),
    idempotencyKey: Type.String({ minLength: 1, maxLength: 512 }),
    priority: Type.Optional(Type.Integer()),
    notBefore: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);

/** /api/v1/deliveries: the delivery log (filter by status, state, channel), one message with its history, send and retry. */
export async function deliveriesRoutes(app: FastifyInstance, deps: DeliveriesRouteDeps): Promise<void> {
  const { store, delivery } = deps;
  const tags = ['deliveries'];
  const own = (workspaceId: string, id: string) => {
    const m = delivery.message(id);
    if (!m || m.workspaceId !== workspaceId) throw notFound('delivery', id);
    return m;
  };

  app.get<{ Querystring: { status?: DeliveryStatus; state?: DeliveryFilter['state']; channel?: string; profile?: string; journey?: string; before?: number; limit?: number } }>(
    '/deliveries',
    {
      schema: {
        summary: 'Messages, newest first; dead letters are state=dead',
        tags,
        querystring: Type.Object({
          status: Type.Optional(Status), state: Type.Optional(State), channel: Type.Optional(Type.String()), profile: Type.Optional(Type.String()),
          journey: Type.Optional(Type.String()), before: Type.Optional(Type.Integer({ description: 'Only messages with a seq below this (paging).' })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
        }),
        response: { 200: Type.Object({ data: Type.Array(DeliveryView) }) },
      },
    },
    async (req) => {
      const q = req.query;
      const rows = delivery.deps.store.list(req.workspaceId, { status: q.status, state: q.state, channel: q.channel, profileId: q.profile, journey: q.journey, before: q.before, limit: q.limit ?? 100 });
      return { data: rows.map(view) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/deliveries/:id',
    { schema: { summary: 'One message and its delivery log', tags, params: Type.Object({ id: Type.String() }), response: { 200: Type.Intersect([DeliveryView, Type.Object({ log: Type.Array(LogEntry) })]) } } },
    async (req) => {
      const m = own(req.workspaceId, req.params.id);
      return { ...view(m), log: delivery.deps.store.log(m.id).map((e) => ({ ...e, at: iso(e.at) })) };
    },
  );

  app.post<{ Body: Omit<OutboxMessage, 'workspaceId' | 'notBefore'> & { notBefore?: string } }>(
    '/deliveries',
    { schema: { summary: 'Queue a message (the same idempotencyKey again answers the first message)', tags, body: EnqueueBody, response: { 200: DeliveryView, 201: DeliveryView } } },
    async (req, reply) => {
      const b = req.body;
      if (!(await store.definitions.get(req.workspaceId, CHANNEL_KIND, b.channel))) throw badRequest('unknown_channel', `channel '${b.channel}' does not exist`, 'channel');
      if (b.template !== undefined && !(await store.definitions.get(req.workspaceId, TEMPLATE_KIND, b.template))) throw badRequest('unknown_template', `template '${b.template}' does not exist`, 'template');
      const { message, created } = delivery.outbox.enqueue({ ...b, workspaceId: req.workspaceId, notBefore: b.notBefore === undefined ? undefined : Date.parse(b.notBefore) });
      return reply.status(created ? 201 : 200).send(view(message));
    },
  );

  app.post<{ Params: { id: string } }>(
    '/deliveries/:id/retry',
    { schema: { summary: 'Queue a dead-lettered or failed message again, with a fresh round of attempts', tags, params: Type.Object({ id: Type.String() }), response: { 200: DeliveryView } } },
    async (req) => {
      const m = own(req.workspaceId, req.params.id);
      if (!delivery.deps.store.requeue(req.workspaceId, m.id, delivery.deps.clock.now())) throw badRequest('not_finished', `message '${m.id}' is still pending`, 'id');
      delivery.dispatcher.wake();
      return view(own(req.workspaceId, m.id));
    },
  );

  app.post<{ Params: { id: string }; Body: { status: 'delivered' | 'bounced' | 'failed'; reason?: string } }>(
    '/deliveries/:id/report',
    {
      schema: {
        summary: 'Record what a provider reported after sending (delivered, bounced, failed)',
        tags,
        params: Type.Object({ id: Type.String() }),
        body: Type.Object({ status: Type.Union([Type.Literal('delivered'), Type.Literal('bounced'), Type.Literal('failed')]), reason: Type.Optional(Type.String()) }, { additionalProperties: false }),
        response: { 200: DeliveryView },
      },
    },
    async (req) => {
      const m = own(req.workspaceId, req.params.id);
      delivery.report(m, req.body.status, req.body.reason !== undefined ? { reason: req.body.reason } : {});
      return view(own(req.workspaceId, m.id));
    },
  );
}
