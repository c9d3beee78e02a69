import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Quarantine } from '../collect/quarantine/quarantine.js';
import type { Operation } from '../collect/quarantine/fix.js';
import { badRequest, TandemError } from '../core/errors.js';
import type { QuarantineItem, Store } from '../core/ports/store.js';

const Violation = Type.Object({
  kind: Type.String({ description: 'unplanned_event, unplanned_property, required_missing, type_mismatch or schema_error.' }),
  path: Type.String({ description: 'JSON path in the message, such as properties.total.' }),
  message: Type.String(),
});

const Status = Type.Union([Type.Literal('held'), Type.Literal('replayed'), Type.Literal('discarded')]);

export const QuarantineQuery = Type.Object({
  source: Type.Optional(Type.String({ description: 'Source key.' })),
  reason: Type.Optional(Type.String({ description: 'Violation kind, such as type_mismatch.' })),
  event: Type.Optional(Type.String({ description: 'Event name (track).' })),
  status: Type.Optional(Status),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'Received at or after this ISO-8601 time.' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'Received before this ISO-8601 time.' })),
  before: Type.Optional(Type.Integer({ description: 'Paging: only items with an id below this (the `next` of the previous page).' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
});
type QuarantineQuery = Static<typeof QuarantineQuery>;

const ItemView = Type.Object({
  id: Type.Integer(),
  source: Type.String({ description: 'Source key.' }),
  messageId: Type.String(),
  type: Type.String(),
  event: Type.Union([Type.String(), Type.Null()]),
  status: Status,
  reasons: Type.Array(Violation),
  receivedAt: Type.String(),
  updatedAt: Type.String(),
  message: Type.Object({}, { additionalProperties: true }),
});

const Ids = Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1, maxItems: 1000 });

const PatchOp = Type.Object(
  {
    op: Type.Union(['add', 'remove', 'replace', 'move', 'copy', 'test'].map((o) => Type.Literal(o))),
    path: Type.String(),
    from: Type.Optional(Type.String()),
    value: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);

export const ReplayBody = Type.Object(
  {
    ids: Ids,
    patch: Type.Optional(Type.Array(PatchOp, { description: 'RFC 6902 JSON Patch applied to each message (after the mapping).' })),
    mapping: Type.Optional(
      Type.Record(Type.String({ minLength: 1 }), Type.String({ minLength: 1 }), {
        description: 'Field renames applied to each message first: { "properties.amount": "properties.total" } (paths as violations name them, or JSON pointers).',
      }),
    ),
    dryRun: Type.Optional(Type.Boolean({ description: 'Only report what would happen, with each resulting message.' })),
  },
  { additionalProperties: false },
);
type ReplayBody = Static<typeof ReplayBody>;

export const DiscardBody = Type.Object({ ids: Ids, reason: Type.String({ minLength: 1, maxLength: 2000 }) }, { additionalProperties: false });
type DiscardBody = Static<typeof DiscardBody>;

const Problem = Type.Object({ code: Type.String(), message: Type.String(), path: Type.Optional(Type.String()) });

const ReplayAnswerView = Type.Object({
  dryRun: Type.Boolean(),
  replayed: Type.Integer(),
  held: Type.Integer(),
  results: Type.Array(
    Type.Object({
      id: Type.Integer(),
      outcome: Type.String({ description: 'replayed, held (still fails; reasons), failed (edits could not be applied; error), not_found or not_held.' }),
      reasons: Type.Optional(Type.Array(Violation)),
      error: Type.Optional(Problem),
      status: Type.Optional(Type.String()),
      message: Type.Optional(Type.Object({}, { additionalProperties: true })),
      messages: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }), { description: 'Dry runs of a held webhook payload: the messages its function maps it to now.' })),
    }),
  ),
});

const DiscardAnswerView = Type.Object({
  discarded: Type.Integer(),
  results: Type.Array(Type.Object({ id: Type.Integer(), outcome: Type.String(), status: Type.Optional(Type.String()) })),
});

const iso = (ms: number) => new Date(ms).toISOString();

/** /api/v1/quarantine: inspect the held messages, fix and replay them, or discard them. */
export async function quarantineRoutes(app: FastifyInstance, deps: { store: Store; quarantine: Quarantine }): Promise<void> {
  const { store, quarantine } = deps;
  const tags = ['quarantine'];

  const sourceKeys = async (workspaceId: string) => new Map((await store.sources.list(workspaceId)).map((s) => [s.id, s.key]));
  const toView = (keys: Map<string, string>) => (q: QuarantineItem) => ({
    id: q.id,
    source: keys.get(q.sourceId) ?? q.sourceId,
    messageId: q.messageId,
    type: q.type,
    event: q.event,
    status: q.status,
    reasons: q.reasons,
    receivedAt: iso(q.receivedAt),
    updatedAt: iso(q.updatedAt),
    message: q.message,
  });

  const time = (value: string | undefined, field: string) => {
    if (value === undefined) return undefined;
    const ms = Date.parse(value);
    if (!Number.isFinite(ms)) throw badRequest('invalid_timestamp', `${field} must be an ISO-8601 time such as 2026-01-31T12:00:00.000Z`, field);
    return ms;
  };

  app.get<{ Querystring: QuarantineQuery }>(
    '/quarantine',
    { schema: { summary: 'Messages held by tracking plans, newest first', tags, querystring: QuarantineQuery, response: { 200: Type.Object({ data: Type.Array(ItemView), next: Type.Optional(Type.Integer()) }) } } },
    async (req) => {
      const q = req.query;
      const from = time(q.from, 'from');
      const to = time(q.to, 'to');
      let sourceId: string | undefined;
      if (q.source !== undefined) {
        const source = await store.sources.get(req.workspaceId, q.source);
        if (!source) return { data: [] };
        sourceId = source.id;
      }
      const limit = q.limit ?? 100;
      const items = await store.quarantine.list(req.workspaceId, { sourceId, reason: q.reason, event: q.event, status: q.status, from, to, before: q.before, limit });
      const data = items.map(toView(await sourceKeys(req.workspaceId)));
      return items.length === limit ? { data, next: items[items.length - 1].id } : { data };
    },
  );

  app.get<{ Params: { id: number } }>(
    '/quarantine/:id',
    { schema: { summary: 'One held message with its reasons', tags, params: Type.Object({ id: Type.Integer({ minimum: 1 }) }), response: { 200: ItemView } } },
    async (req) => {
      const item = await store.quarantine.get(req.workspaceId, req.params.id);
      if (!item) throw new TandemError('not_found', `quarantine item ${req.params.id} does not exist`, 404);
      return toView(await sourceKeys(req.workspaceId))(item);
    },
  );

  app.post<{ Body: ReplayBody }>(
    '/quarantine/replay',
    {
      schema: {
        summary: 'Fix held messages (mapping, then JSON Patch) and replay those that now pass; the others stay held with their new reasons',
        tags,
        body: ReplayBody,
        response: { 200: ReplayAnswerView },
      },
    },
    async (req) => quarantine.replay(req.workspaceId, { ...req.body, patch: req.body.patch as Operation[] | undefined }, 'admin'),
  );

  app.post<{ Body: DiscardBody }>(
    '/quarantine/discard',
    { schema: { summary: 'Discard held messages, with a reason that goes to the audit log', tags, body: DiscardBody, response: { 200: DiscardAnswerView } } },
    async (req) => quarantine.discard(req.workspaceId, req.body.ids, req.body.reason, 'admin'),
  );
}
