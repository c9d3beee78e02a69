import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Type, type TSchema } from '@sinclair/typebox';
import { checkChannel, CHANNEL_KIND, ChannelBody, type ChannelDefinition } from '../channels/definition.js';
import type { Clock } from '../core/clock.js';
import { badRequest, notFound, TandemError } from '../core/errors.js';
import type { Store } from '../core/ports/store.js';
import type { Delivery } from '../delivery/delivery.js';
import { checkChannelDestinations } from '../channels/destinations.js';
import { STRICT_GUARD } from '../network/destination-guard.js';

const Key = Type.Object({ key: Type.String() });

/** One definable kind's CRUD: the body is exactly the definition; every save is a new version (Tandem-Version header). */
export interface DefinitionRouteSpec<T extends { key: string }> {
  kind: string;
  /** Noun for messages: 'channel'. */
  noun: string;
  schema: TSchema;
  /** Checks (and may complete) a definition before it is saved; throws a TandemError naming the field. */
  prepare(workspaceId: string, body: T): Promise<T>;
  /** After a save or delete. */
  changed(workspaceId: string, key: string, deleted: boolean): void;
}

export function definitionRoutes<T extends { key: string }>(app: FastifyInstance, store: Store, clock: Clock, spec: DefinitionRouteSpec<T>): void {
  const { kind, noun, schema } = spec;
  const tags = [kind];
  const audit = (workspaceId: string, action: string, target: string, detail?: unknown) =>
    store.audit.add({ workspaceId, actor: 'admin', action: `${noun}.${action}`, target, detail }, clock.now());
  const save = async (workspaceId: string, body: T, action: string) => {
    const prepared = await spec.prepare(workspaceId, body);
    const version = await store.definitions.put(workspaceId, kind, prepared.key, prepared);
    spec.changed(workspaceId, prepared.key, false);
    await audit(workspaceId, action, prepared.key, { version });
    return { version, body: prepared };
  };

  app.get(`/${kind}`, { schema: { summary: `List ${kind}`, tags, response: { 200: Type.Object({ data: Type.Array(schema) }) } } }, async (req) => ({
    data: (await store.definitions.list<T>(req.workspaceId, kind)).map((d) => d.body),
  }));

  app.post(`/${kind}`, { schema: { summary: `Create a ${noun}`, tags, body: schema, response: { 201: schema } } }, async (req, reply) => {
    const body = req.body as T;
    if (await store.definitions.get(req.workspaceId, kind, body.key)) throw new TandemError('conflict', `${noun} '${body.key}' already exists; use PUT to change it`, 409, 'key');
    const saved = await save(req.workspaceId, body, 'create');
    return reply.status(201).header('tandem-version', saved.version).send(saved.body);
  });

  app.get<{ Params: { key: string } }>(`/${kind}/:key`, { schema: { summary: `Get a ${noun}`, tags, params: Key, response: { 200: schema } } }, async (req, reply) => {
    const found = await store.definitions.get<T>(req.workspaceId, kind, req.params.key);
    if (!found) throw notFound(noun, req.params.key);
    return reply.header('tandem-version', found.version).send(found.body);
  });

  app.put<{ Params: { key: string } }>(`/${kind}/:key`, { schema: { summary: `Replace a ${noun} (a new version)`, tags, params: Key, body: schema, response: { 200: schema } } }, async (req, reply) => {
    const body = req.body as T;
    if (body.key !== req.params.key) throw badRequest('key_mismatch', `key in the body ('${body.key}') must equal the key in the path ('${req.params.key}')`, 'key');
    if (!(await store.definitions.get(req.workspaceId, kind, req.params.key))) throw notFound(noun, req.params.key);
    const saved = await save(req.workspaceId, body, 'update');
    return reply.header('tandem-version', saved.version).send(saved.body);
  });

  app.delete<{ Params: { key: string } }>(`/${kind}/:key`, { schema: { summary: `Delete a ${noun}`, tags, params: Key } }, async (req, reply) => {
    if (!(await store.definitions.remove(req.workspaceId, kind, req.params.key))) throw notFound(noun, req.params.key);
    spec.changed(req.workspaceId, req.params.key, true);
    await audit(req.workspaceId, 'delete', req.params.key);
    return reply.status(204).send();
  });
}

export interface ChannelsRouteDeps {
  store: Store;
  clock: Clock;
  delivery: Delivery;
}

const ExportRecord = Type.Object({ kind: Type.String(), platform: Type.String(), file: Type.String(), rows: Type.Integer(), throughSeq: Type.Integer(), at: Type.Integer() });

/** /api/v1/channels, and the ad-audience exports of an `audience_export` channel. */
export async function channelsRoutes(app: FastifyInstance, deps: ChannelsRouteDeps): Promise<void> {
  const { store, clock, delivery } = deps;
  definitionRoutes<ChannelDefinition>(app, store, clock, {
    kind: CHANNEL_KIND,
    noun: 'channel',
    schema: ChannelBody,
    prepare: async (_ws, body) => checkChannelDestinations(checkChannel(body), delivery.deps.destinations ?? STRICT_GUARD),
    changed: (ws, key) => delivery.channels.changed(ws, key),
  });

  const audienceChannel = async (workspaceId: string, key: string) => {
    const found = await store.definitions.get<ChannelDefinition>(workspaceId, CHANNEL_KIND, key);
    if (!found) throw notFound('channel', key);
    if (found.body.type !== 'audience_export') throw badRequest('wrong_channel_type', `channel '${key}' is ${found.body.type}; exports are for audience_export channels`, 'type');
    return found.body;
  };

  app.post<{ Params: { key: string }; Body: { kind?: 'full' | 'incremental' } }>(
    '/channels/:key/export',
    {
      schema: {
        summary: 'Write ad-audience files: the full list, or adds and removes since the last export',
        tags: ['channels'],
        params: Key,
        body: Type.Object({ kind: Type.Optional(Type.Union([Type.Literal('full'), Type.Literal('incremental')], { default: 'incremental' })) }, { additionalProperties: false }),
        response: { 200: Type.Object({ data: Type.Array(ExportRecord) }) },
      },
    },
    async (req) => {
      const def = await audienceChannel(req.workspaceId, req.params.key);
      const files = delivery.exports.write(req.workspaceId, def, req.body?.kind ?? 'incremental');
      return { data: files.map(({ id: _id, ...f }) => f) };
    },
  );

  app.get<{ Params: { key: string } }>(
    '/channels/:key/exports',
    { schema: { summary: 'List the export files of an ad-audience channel, newest first', tags: ['channels'], params: Key, response: { 200: Type.Object({ data: Type.Array(ExportRecord) }) } } },
    async (req) => {
      await audienceChannel(req.workspaceId, req.params.key);
      return { data: delivery.deps.store.audience.exported(req.workspaceId, req.params.key).map(({ id: _id, ...f }) => f) };
    },
  );

  app.get<{ Params: { key: string; file: string } }>(
    '/channels/:key/exports/:file',
    { schema: { summary: 'Download one export file (CSV)', tags: ['channels'], params: Type.Object({ key: Type.String(), file: Type.String() }) } },
    async (req, reply) => {
      const def = await audienceChannel(req.workspaceId, req.params.key);
      // Only files this channel recorded: the name never reaches the file system unchecked.
      const known = delivery.deps.store.audience.exported(req.workspaceId, req.params.key).some((f) => f.file === req.params.file);
      const path = join(delivery.exports.directory(req.workspaceId, def), req.params.file);
      if (!known || !existsSync(path)) throw notFound('export file', req.params.file);
      return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${req.params.file}"`).send(createReadStream(path));
    },
  );
}
