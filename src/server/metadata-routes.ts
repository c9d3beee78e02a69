import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Clock } from '../core/clock.js';
import { notFound } from '../core/errors.js';
import type { Store } from '../core/ports/store.js';
import { CLASSIFICATIONS, DICTIONARY_KIND, DictionaryBody, PII_TYPES, type Classification, type DictionaryEntry, type PiiType } from '../metadata/dictionary.js';
import { roleOf, seesPersonalData } from '../metadata/governance.js';
import type { Metadata } from '../metadata/metadata.js';
import { definitionRoutes } from './channels-routes.js';

export interface MetadataRouteDeps {
  store: Store;
  clock: Clock;
  metadata: Metadata;
}

const tags = ['metadata'];
const Types = Type.Record(Type.String(), Type.Integer(), { description: 'Occurrences by type: string, integer, number, boolean, null, object, array.' });
const Entry = {
  classification: Type.Optional(Type.String()),
  piiType: Type.Optional(Type.String()),
  status: Type.Optional(Type.String()),
  description: Type.Optional(Type.String()),
};
const FieldView = Type.Object({
  path: Type.String({ description: 'Dotted path; `[]` for the elements of an array.' }),
  types: Types,
  count: Type.Integer({ description: 'Occurrences (null included).' }),
  nullRate: Type.Number({ description: 'Share of the parent\'s occurrences (the event\'s, for a top-level property) where it is missing or null.' }),
  distinct: Type.Integer({ description: 'Distinct values, estimated (HyperLogLog, about 1.6% error).' }),
  firstSeen: Type.String(),
  lastSeen: Type.String(),
  samples: Type.Array(Type.String(), { description: 'A few values (a uniform sample); masked when the dictionary classifies it as personal data and the caller may not see it.' }),
  ...Entry,
});
const EntityView = Type.Object({
  source: Type.String({ description: 'Source key (empty for computed traits).' }),
  type: Type.String({ description: 'track, identify, page, screen, group, alias, or computed (computed traits).' }),
  event: Type.String({ description: 'The event name for track; the message type otherwise; empty for computed traits.' }),
  count: Type.Integer(),
  firstSeen: Type.String({ description: 'Event time (ISO) of the earliest message seen.' }),
  lastSeen: Type.String(),
  fields: Type.Integer(),
  untracked: Type.Integer({ description: 'Field occurrences beyond the per-event limit (1000 paths, depth 8), not tracked.' }),
  status: Type.Optional(Type.String()),
  description: Type.Optional(Type.String()),
  owners: Type.Optional(Type.Array(Type.String())),
});
const Filter = { source: Type.Optional(Type.String({ description: 'Source key.' })), type: Type.Optional(Type.String({ description: 'Message type (track, identify, page, screen, group, alias, computed).' })) };
const LineageEntry = Type.Object({ kind: Type.String(), key: Type.String(), paths: Type.Array(Type.String()) });
const Use = Type.Object({ target: Type.String(), path: Type.String() });
const Suggestion = Type.Object({
  target: Type.String({ description: 'event:<name>, property:<event or *>:<path>, trait:<path> or computed:<key>.' }),
  event: Type.Optional(Type.String()),
  property: Type.Optional(Type.String()),
  trait: Type.Optional(Type.String()),
  computed: Type.Optional(Type.String()),
  classification: Type.String(),
  piiType: Type.Optional(Type.String()),
  confidence: Type.String({ description: 'high: the values show it; medium: only the name does.' }),
  reasons: Type.Array(Type.String()),
  samples: Type.Array(Type.String()),
});

/** Response header carrying warnings (one value per warning) on saves through the API. */
export const WARNING_HEADER = 'tandem-warning';
const SAVE_KINDS = new Set(['traits', 'audiences', 'journeys', 'templates', 'models', 'experiments', 'signals', 'monitors', 'alerts', 'channels', DICTIONARY_KIND]);

/** Header values are Latin-1 without control characters: anything else is escaped as JSON does. */
const headerText = (s: string) => s.replace(/[^\x20-\x7e]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);

/**
 * /api/v1/metadata (observed schema, suggestions), /api/v1/dictionary (definitions), /api/v1/lineage, and the
 * deprecation warnings of saves (a `Tandem-Warning` header on the answer to a POST or PUT of a definition).
 * Registered before the other admin plugins, in the admin context (not encapsulated), so its onSend hook sees them.
 */
export function metadataRoutes(deps: MetadataRouteDeps) {
  const { store, clock, metadata } = deps;
  const plugin = async (app: FastifyInstance): Promise<void> => {
    app.addHook('onSend', async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
      if ((req.method !== 'POST' && req.method !== 'PUT') || reply.statusCode >= 300 || typeof payload !== 'string') return payload;
      const m = /^\/api\/v1\/([a-z-]+)(?:\/([^/?]+))?(?:\?.*)?$/.exec(req.url);
      if (!m || !SAVE_KINDS.has(m[1])) return payload;
      try {
        const body = JSON.parse(payload) as { key?: unknown };
        const key = typeof body.key === 'string' ? body.key : m[2] !== undefined ? decodeURIComponent(m[2]) : '';
        const warnings = await metadata.warnings(req.workspaceId, m[1], key, body);
        if (warnings.length) reply.header(WARNING_HEADER, warnings.map(headerText));
      } catch {
        // Not a definition answer (an action's answer, for example): no warnings.
      }
      return payload;
    });

    definitionRoutes<DictionaryEntry>(app, store, clock, {
      kind: DICTIONARY_KIND,
      noun: 'dictionary entry',
      schema: DictionaryBody,
      prepare: (ws, body) => metadata.prepareEntry(ws, body),
      changed: (ws) => metadata.dictionaryChanged(ws),
    });

    const masked = (req: FastifyRequest) => !seesPersonalData(roleOf(req));

    app.get<{ Querystring: { source?: string; type?: string; event?: string } }>(
      '/metadata/schema',
      {
        schema: {
          summary: 'The observed schema: every event (per source), identify, page, screen, group and computed traits, with volumes and first and last seen',
          tags,
          querystring: Type.Object({ ...Filter, event: Type.Optional(Type.String()) }),
          response: { 200: Type.Object({ data: Type.Array(EntityView) }) },
        },
      },
      async (req) => ({ data: await metadata.list(req.workspaceId, req.query) }),
    );

    app.get<{ Params: { event: string }; Querystring: { source?: string; type?: string } }>(
      '/metadata/events/:event',
      {
        schema: {
          summary: 'One event as observed, per source: its properties (or traits, for identify and group) with types, counts, null rates, distinct counts and samples',
          tags,
          params: Type.Object({ event: Type.String({ description: 'Event name, or identify, page, screen, group (their message type).' }) }),
          querystring: Type.Object(Filter),
          response: { 200: Type.Object({ data: Type.Array(Type.Object({ ...EntityView.properties, properties: Type.Array(FieldView) })) }) },
        },
      },
      async (req) => {
        const data = await metadata.event(req.workspaceId, { event: req.params.event, source: req.query.source, type: req.query.type }, masked(req));
        if (!data.length) throw notFound('observed event', req.params.event);
        return { data };
      },
    );

    app.get<{ Querystring: { source?: string; type?: string } }>(
      '/metadata/computed-traits',
      {
        schema: {
          summary: 'Computed traits as observed (values written by traits and models)',
          tags,
          response: { 200: Type.Object({ data: Type.Array(FieldView) }) },
        },
      },
      async (req) => ({ data: (await metadata.event(req.workspaceId, { event: '', type: 'computed' }, masked(req)))[0]?.properties ?? [] }),
    );

    app.get<{ Querystring: { event: string; path: string; source?: string; type?: string } }>(
      '/metadata/property',
      {
        schema: {
          summary: 'One property (or trait) of an event as observed, per source, with its volume per day',
          tags,
          querystring: Type.Object({ event: Type.String({ description: 'Event name (or identify, group, ...; empty with type computed).' }), path: Type.String({ minLength: 1, description: 'Property path: total, address.city, products[].price.' }), ...Filter }),
          response: { 200: Type.Object({ data: Type.Array(Type.Object({ source: Type.String(), type: Type.String(), event: Type.String(), ...FieldView.properties, days: Type.Array(Type.Object({ day: Type.String(), count: Type.Integer() })) })) }) },
        },
      },
      async (req) => {
        const data = await metadata.field(req.workspaceId, req.query, masked(req));
        if (!data.length) throw notFound(`observed property of '${req.query.event}'`, req.query.path);
        return { data };
      },
    );

    app.get(
      '/metadata/suggestions',
      { schema: { summary: 'Classification suggestions (personal or sensitive data) from field names and sample values, for fields without a decided dictionary entry', tags, response: { 200: Type.Object({ data: Type.Array(Suggestion) }) } } },
      async (req) => ({ data: await metadata.suggestions(req.workspaceId, masked(req)) }),
    );

    app.post<{ Body: { target: string; classification?: Classification; piiType?: PiiType; confirmedBy?: string } }>(
      '/metadata/suggestions/confirm',
      {
        schema: {
          summary: 'Confirm a suggestion (or classify a field yourself): creates or updates its dictionary entry, as a new version',
          tags,
          body: Type.Object(
            {
              target: Type.String({ minLength: 1, description: 'The suggestion\'s target: property:<event>:<path>, trait:<path>, ...' }),
              classification: Type.Optional(Type.Union(CLASSIFICATIONS.map((c) => Type.Literal(c)), { description: 'Default: the suggestion\'s.' })),
              piiType: Type.Optional(Type.Union(PII_TYPES.map((c) => Type.Literal(c)))),
              confirmedBy: Type.Optional(Type.String({ maxLength: 200 })),
            },
            { additionalProperties: false },
          ),
          response: { 200: DictionaryBody, 201: DictionaryBody },
        },
      },
      async (req, reply) => {
        const saved = await metadata.confirm(req.workspaceId, req.body);
        return reply.status(saved.created ? 201 : 200).header('tandem-version', saved.version).send(saved.entry);
      },
    );

    app.get<{ Querystring: { event?: string; property?: string; trait?: string; computed?: string; definition?: string } }>(
      '/lineage',
      {
        schema: {
          summary: 'Which definitions use an event, a property, a trait, a computed trait or a definition (and what depends on them), or what a definition uses',
          tags: ['lineage'],
          querystring: Type.Object({
            event: Type.Optional(Type.String({ minLength: 1 })),
            property: Type.Optional(Type.String({ minLength: 1, description: 'With event: a property of that event; alone: in any event.' })),
            trait: Type.Optional(Type.String({ minLength: 1 })),
            computed: Type.Optional(Type.String({ minLength: 1 })),
            definition: Type.Optional(Type.String({ minLength: 1, description: 'kind/key, such as audiences/cart_abandoners.' })),
          }),
          response: {
            200: Type.Object({
              target: Type.String(),
              usedBy: Type.Array(LineageEntry),
              downstream: Type.Array(Type.Object({ ...LineageEntry.properties, via: Type.String() })),
              destinations: Type.Array(Type.String(), { description: 'Channels that journeys among them send through.' }),
              producedBy: Type.Array(LineageEntry),
              uses: Type.Optional(Type.Array(Use)),
            }),
          },
        },
      },
      async (req) => metadata.lineage(req.workspaceId, req.query),
    );
  };
  // Like fastify-plugin: the hook and routes join the admin context, so the onSend hook covers the other plugins.
  (plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
  return plugin;
}
