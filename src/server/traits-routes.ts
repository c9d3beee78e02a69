import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Clock } from '../core/clock.js';
import { badRequest, notFound, TandemError } from '../core/errors.js';
import type { Store } from '../core/ports/store.js';
import type { ApplyStage } from '../apply/apply-stage.js';
import { conditionDependencies, TRAITS } from '../apply/definitions.js';
import { AUDIENCE_KIND, type AudienceBody } from '../audiences/schema.js';
import { isSqlTrait, parseTraitDefinition, type TraitDefinition } from '../traits/definition.js';
import type { SqlTraits, SqlTraitStatus } from '../apply/sql-traits.js';

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
  /** The SQL traits' scheduler (runs, status). */
  sqlTraits: SqlTraits;
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

const RunStatus = Type.Object(
  {
    state: Type.Union([Type.Literal('never'), Type.Literal('ok'), Type.Literal('error')], { description: 'The outcome of the last run (never: not run yet).' }),
    lastRunAt: Type.Optional(Type.String({ format: 'date-time', description: 'When the last run started.' })),
    finishedAt: Type.Optional(Type.String({ format: 'date-time' })),
    error: Type.Optional(Type.String({ description: 'Why the last run failed (bad SQL, a profile_id returned twice, the time limit).' })),
    rows: Type.Optional(Type.Integer({ description: 'Rows the last run returned (profiles with a row).' })),
    changed: Type.Optional(Type.Integer({ description: 'Profiles whose value the last run changed.' })),
    nextRunAt: Type.String({ format: 'date-time', description: 'When the schedule runs it next.' }),
  },
  { description: 'SQL traits only: the scheduled runs. Read-only; ignored in a PUT or POST body.' },
);

const statusJson = (s: SqlTraitStatus) => ({
  state: s.state,
  ...(s.lastRunAt !== undefined ? { lastRunAt: iso(s.lastRunAt) } : {}),
  ...(s.finishedAt !== undefined ? { finishedAt: iso(s.finishedAt) } : {}),
  ...(s.error !== undefined ? { error: s.error } : {}),
  ...(s.rows !== undefined ? { rows: s.rows } : {}),
  ...(s.changed !== undefined ? { changed: s.changed } : {}),
  nextRunAt: iso(s.nextRunAt),
});

/** The body without the read-only `status` a GET adds to SQL traits (so a GET body can be PUT back). */
const withoutStatus = (body: unknown): unknown => {
  if (body === null || typeof body !== 'object' || Array.isArray(body) || !('status' in body)) return body;
  const { status: _status, ...rest } = body as Record<string, unknown>;
  return rest;
};

/** /api/v1/traits: computed traits (kind `traits`); each save is a new version and backfills the values. */
export function traitsRoutes(deps: TraitsRouteDeps) {
  const { store, clock, apply, sqlTraits } = deps;
  const tags = ['traits'];
  const audit = (workspaceId: string, action: string, target: string, detail?: unknown) => store.audit.add({ workspaceId, actor: 'admin', action, target, detail }, clock.now());
  const save = async (workspaceId: string, body: TraitDefinition, action: string) => {
    const version = await store.definitions.put(workspaceId, TRAITS, body.key, body);
    await audit(workspaceId, action, body.key, { version });
    await apply.definitionChanged(workspaceId, TRAITS, body.key, { batchOnly: isSqlTrait(body) });
    // A new or changed SQL trait is due at once.
    if (isSqlTrait(body)) sqlTraits.wake();
    return version;
  };
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/traits', { schema: { summary: 'List computed traits', tags, response: { 200: Type.Object({ data: Type.Array(TraitBody) }) } } }, async (req) => ({
      data: (await store.definitions.list<TraitDefinition>(req.workspaceId, TRAITS)).map((d) => d.body),
    }));

    app.post<{ Body: unknown }>('/traits', { schema: { summary: 'Create a computed trait', tags, body: TraitBody, response: { 201: TraitBody } } }, async (req, reply) => {
      const body = parseTraitDefinition(withoutStatus(req.body));
      if (await store.definitions.get(req.workspaceId, TRAITS, body.key)) throw new TandemError('conflict', `trait '${body.key}' already exists; use PUT to change it`, 409, 'key');
      const version = await save(req.workspaceId, body, 'trait.create');
      return reply.status(201).header('tandem-version', version).send(body);
    });

    app.get<{ Params: { key: string } }>(
      '/traits/:key',
      {
        schema: {
          summary: 'Get a computed trait (an SQL trait with `status`: its last run, its error, its next run)',
          tags,
          params: Key,
          response: { 200: Type.Intersect([TraitBody, Type.Object({ status: Type.Optional(RunStatus) })]) },
        },
      },
      async (req, reply) => {
        const found = await store.definitions.get<TraitDefinition>(req.workspaceId, TRAITS, req.params.key);
        if (!found) throw notFound('trait', req.params.key);
        const body = found.body;
        const status = isSqlTrait(body) ? { status: statusJson(sqlTraits.status(req.workspaceId, body.key, found.version, body)) } : {};
        return reply.header('tandem-version', found.version).send({ ...body, ...status });
      },
    );

    app.post<{ Params: { key: string } }>(
      '/traits/:key/run',
      { schema: { summary: 'Run an SQL trait now (its values go through the apply stage); answers its status after the run', tags, params: Key, response: { 200: RunStatus } } },
      async (req) => {
        const found = await store.definitions.get<TraitDefinition>(req.workspaceId, TRAITS, req.params.key);
        if (!found) throw notFound('trait', req.params.key);
        await sqlTraits.runNow(req.workspaceId, req.params.key);
        await audit(req.workspaceId, 'trait.run', req.params.key);
        return statusJson(sqlTraits.status(req.workspaceId, req.params.key, found.version, found.body as Extract<TraitDefinition, { sql: string }>));
      },
    );

    app.put<{ Params: { key: string }; Body: unknown }>(
      '/traits/:key',
      { schema: { summary: 'Replace a computed trait (a new version, backfilled)', tags, params: Key, body: TraitBody, response: { 200: TraitBody } } },
      async (req, reply) => {
        const body = parseTraitDefinition(withoutStatus(req.body));
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
      sqlTraits.forget(req.workspaceId, req.params.key);
      return reply.status(204).send();
    });
  };
}
