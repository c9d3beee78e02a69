import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { EventsStage } from '../events/events-stage.js';
import type { Store, StoredEvent } from '../core/ports/store.js';
import type { PersonalDataMask } from '../metadata/metadata.js';

export const EventQuery = Type.Object({
  source: Type.Optional(Type.String({ description: 'Source key.' })),
  type: Type.Optional(Type.String({ description: 'Message type: track, identify, page, screen, group or alias.' })),
  event: Type.Optional(Type.String({ description: 'Event name (track).' })),
  messageId: Type.Optional(Type.String()),
  before: Type.Optional(Type.Integer({ description: 'Paging: only events with an id below this.' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
});
type EventQuery = Static<typeof EventQuery>;

const EventView = Type.Object({
  id: Type.Integer(),
  source: Type.String(),
  violations: Type.Array(Type.Object({ kind: Type.String(), path: Type.String(), message: Type.String() })),
  message: Type.Object({}, { additionalProperties: true }),
});

/** The live event debugger: recent events newest first, and a server-sent-event stream of arriving ones. */
export async function eventsRoutes(app: FastifyInstance, deps: { store: Store; stage: EventsStage; mask?: PersonalDataMask }): Promise<void> {
  const { store } = deps;

  const sourceKeys = async (workspaceId: string) => new Map((await store.sources.list(workspaceId)).map((s) => [s.id, s.key]));
  const toView = (keys: Map<string, string>) => (e: StoredEvent) => ({ id: e.id, source: keys.get(e.sourceId) ?? e.sourceId, violations: e.violations, message: e.message });

  /** Resolves the query's source key to an id; undefined source means any, null means no such source. */
  const sourceIdOf = async (req: FastifyRequest, key: string | undefined) => (key === undefined ? undefined : ((await store.sources.get(req.workspaceId, key))?.id ?? null));

  app.get<{ Querystring: EventQuery }>(
    '/events',
    { schema: { summary: 'Recent events, newest first', tags: ['events'], querystring: EventQuery, response: { 200: Type.Object({ data: Type.Array(EventView), next: Type.Optional(Type.Integer()) }) } } },
    async (req) => {
      const q = req.query;
      const sourceId = await sourceIdOf(req, q.source);
      if (sourceId === null) return { data: [] };
      const limit = q.limit ?? 100;
      const events = await store.events.list(req.workspaceId, { sourceId, type: q.type, event: q.event, messageId: q.messageId, before: q.before, limit });
      const mask = await deps.mask?.forRequest(req);
      const data = events.map(toView(await sourceKeys(req.workspaceId))).map((v) => (mask ? { ...v, message: mask.message(v.message as unknown as Record<string, unknown>) } : v));
      return events.length === limit ? { data, next: events[events.length - 1].id } : { data };
    },
  );

  app.get<{ Querystring: Omit<EventQuery, 'before' | 'limit'> }>(
    '/events/stream',
    { schema: { summary: 'Server-sent events: each stored event as it arrives (event: event, data: the event as in GET /events)', tags: ['events'], querystring: Type.Omit(EventQuery, ['before', 'limit']) } },
    async (req, reply) => {
      const q = req.query;
      const sourceId = await sourceIdOf(req, q.source);
      const keys = await sourceKeys(req.workspaceId);
      const workspaceId = req.workspaceId;
      const mask = await deps.mask?.forRequest(req);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      res.write(': connected\n\n');
      const unsubscribe = deps.stage.subscribe((events) => {
        for (const e of events) {
          if (e.workspaceId !== workspaceId) continue;
          if (sourceId !== undefined && e.sourceId !== sourceId) continue;
          if (q.type !== undefined && e.message.type !== q.type) continue;
          if (q.event !== undefined && e.message.event !== q.event) continue;
          if (q.messageId !== undefined && e.message.messageId !== q.messageId) continue;
          const view = toView(keys)(e);
          res.write(`id: ${e.id}\nevent: event\ndata: ${JSON.stringify(mask ? { ...view, message: mask.message(view.message as unknown as Record<string, unknown>) } : view)}\n\n`);
        }
      });
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
      req.raw.on('close', () => {
        clearInterval(heartbeat);
        unsubscribe();
      });
    },
  );
}
