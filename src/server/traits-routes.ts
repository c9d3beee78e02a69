import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Clock } from '../core/clock.js';
import { badRequest, notFound, TandemError } from '../core/errors.js';
import type { Store } from '../core/ports/store.js';
import type { ApplyStage } from '../apply/apply-stage.js';
import { conditionDependencies, TRAITS } from '../apply/definitions.js';
import { AUDIENCE_KIND, type AudienceBody } from '../audiences/schema.js';
import { parseTraitDefinition, type TraitDefinition } from '../traits/definition.js';

const Key = Type.Object({ key: Type.String() });
/** Validated by parseTraitDefinition (errors with a path into the definition); the shapes are in docs/api.md under traits. */
const TraitBody = Type.Object(
  { key: Type.String() },
  { additionalProperties: true, description: 'A computed trait: { key, event?, where?, within?, compute } or { key, sql, schedule } (src/traits/definition.ts).' },
);

export interface TraitsRouteDeps {
  store: Store;
  clock: Clock;
  apply: ApplyStage;
}

/** /api/v1/traits: computed traits (kind `traits`); each save is a new version and backfills the values. */
export function traitsRoutes(deps: TraitsRouteDeps) {
  const { store, clock, apply } = deps;
  const tags = ['traits'];
  const audit = (workspaceId: string, action: string, target: string, detail?: unknown) => store.audit.add({ workspaceId, actor: 'admin', action, target, detail }, clock.now());
  const save = async (workspaceId: string, body: TraitDefinition, action: string) => {
    const version = await store.definitions.put(workspaceId, TRAITS, body.key, body);
    await audit(workspaceId, action, body.key, { version });
    await apply.definitionChanged(workspaceId, TRAITS, body.key);
    return version;
  };
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/traits', { schema: { summary: 'List computed traits', tags, response: { 200: Type.Object({ data: Type.Array(TraitBody) }) } } }, async (req) => ({
      data: (await store.definitions.list<TraitDefinition>(req.workspaceId, TRAITS)).map((d) => d.body),
    }));

    app.post<{ Body: unknown }>('/traits', { schema: { summary: 'Create a computed trait', tags, body: TraitBody, response: { 201: TraitBody } } }, async (req, reply) => {
      const body = parseTraitDefinition(req.body);
      if (await store.definitions.get(req.workspaceId, TRAITS, body.key)) throw new TandemError('conflict', `trait '${body.key}' already exists; use PUT to change it`, 409, 'key');
      const version = await save(req.workspaceId, body, 'trait.create');
      return reply.status(201).header('tandem-version', version).send(body);
    });

    app.get<{ Params: { key: string } }>('/traits/:key', { schema: { summary: 'Get a computed trait', tags, params: Key, response: { 200: TraitBody } } }, async (req, reply) => {
      const found = await store.definitions.get<TraitDefinition>(req.workspaceId, TRAITS, req.params.key);
      if (!found) throw notFound('trait', req.params.key);
      return reply.header('tandem-version', found.version).send(found.body);
    });

    app.put<{ Params: { key: string }; Body: unknown }>(
      '/traits/:key',
      { schema: { summary: 'Replace a computed trait (a new version, backfilled)', tags, params: Key, body: TraitBody, response: { 200: TraitBody } } },
      async (req, reply) => {
        const body = parseTraitDefinition(req.body);
        if (body.key !== req.params.key) throw badRequest('key_mismatch', `key in the body ('${body.key}') must equal the key in the path ('${req.params.key}')`, 'key');
        if (!(await store.definitions.get(req.workspaceId, TRAITS, req.params.key))) throw notFound('trait', req.params.key);
        const version = await save(req.workspaceId, body, 'trait.update');
        return reply.header('tandem-version', version).send(body);
      },
    );

    app.delete<{ Params: { key: string } }>('/traits/:key', { schema: { summary: 'Delete a computed trait no audience reads', tags, params: Key } }, async (req, reply) => {
      const readers = (await store.definitions.list<AudienceBody>(req.workspaceId, AUDIENCE_KIND))
        .filter((a) => conditionDependencies(a.body.condition).computed.has(req.params.key))
        .map((a) => a.key);
      if (readers.length) throw new TandemError('in_use', `trait '${req.params.key}' is read by audience ${readers.map((k) => `'${k}'`).join(', ')}; change them first`, 409);
      if (!(await store.definitions.remove(req.workspaceId, TRAITS, req.params.key))) throw notFound('trait', req.params.key);
      await audit(req.workspaceId, 'trait.delete', req.params.key);
      await apply.definitionChanged(req.workspaceId, TRAITS, req.params.key);
      return reply.status(204).send();
    });
  };
}
