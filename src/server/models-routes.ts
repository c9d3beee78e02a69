import type { FastifyInstance, RouteHandlerMethod } from 'fastify';
import { Type } from '@sinclair/typebox';
import { TRAITS } from '../apply/definitions.js';
import type { Clock } from '../core/clock.js';
import { notFound } from '../core/errors.js';
import type { Store } from '../core/ports/store.js';
import { checkModel, MODEL_KIND, ModelBody, type ModelDefinition } from '../models/definition.js';
import { checkOutput } from '../models/kind.js';
import type { Models } from '../models/models.js';
import type { ModelRun } from '../models/ports.js';
import { definitionRoutes } from './channels-routes.js';

export interface ModelsRouteDeps {
  store: Store;
  clock: Clock;
  models: Models;
}

const Key = Type.Object({ key: Type.String() });
const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? undefined : new Date(ms).toISOString());

const Run = Type.Object(
  {
    run: Type.Integer({ description: 'The model version: 1, 2, ... per model.' }),
    definitionVersion: Type.Integer(),
    status: Type.Union([Type.Literal('running'), Type.Literal('ok'), Type.Literal('error')]),
    startedAt: Type.String({ format: 'date-time' }),
    finishedAt: Type.Optional(Type.String({ format: 'date-time' })),
    progress: Type.Optional(Type.Object({ stage: Type.String(), fraction: Type.Number() })),
    error: Type.Optional(Type.String()),
    result: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'Parameters, standard errors, log-likelihood, metrics, diagnostics, explanation.' })),
  },
  { description: 'One training of a model.' },
);

const runJson = (r: Omit<ModelRun, 'artefact' | 'workspaceId' | 'key' | 'result'> & { result?: ModelRun['result'] }, withResult: boolean) => ({
  run: r.run,
  definitionVersion: r.definitionVersion,
  status: r.status,
  startedAt: iso(r.startedAt)!,
  ...(r.finishedAt !== null ? { finishedAt: iso(r.finishedAt) } : {}),
  ...(r.progress ? { progress: r.progress } : {}),
  ...(r.error !== null ? { error: r.error } : {}),
  ...(withResult && r.result ? { result: r.result } : {}),
});

const Status = Type.Object(
  {
    state: Type.Union([Type.Literal('never'), Type.Literal('running'), Type.Literal('ok'), Type.Literal('error')]),
    run: Type.Optional(Run),
    trained: Type.Optional(Type.Object({ run: Type.Integer(), definitionVersion: Type.Integer(), finishedAt: Type.Optional(Type.String({ format: 'date-time' })), result: Type.Object({}, { additionalProperties: true }) })),
    nextRunAt: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { description: 'Read-only: the latest run and the results of the newest successful one; ignored in a PUT or POST body.' },
);

/** /api/v1/models: definitions (kind `models`), training, results and per-profile explanations. */
export async function modelsRoutes(app: FastifyInstance, deps: ModelsRouteDeps): Promise<void> {
  const { store, clock, models } = deps;
  const tags = [MODEL_KIND];

  // GET /models/<key> answers the definition plus its read-only training status (as GET /traits/<key> does for SQL
  // traits): definitionRoutes registers the plain GET, and this plugin's onRoute hook swaps in that handler.
  const getWithStatus: RouteHandlerMethod = async (req, reply) => {
    const { key } = req.params as { key: string };
    const found = await store.definitions.get<ModelDefinition>(req.workspaceId, MODEL_KIND, key);
    if (!found) throw notFound('model', key);
    const s = models.status(req.workspaceId, key, found.version, checkModel(found.body));
    const status = {
      state: s.state,
      ...(s.run ? { run: runJson(s.run, false) } : {}),
      ...(s.trained ? { trained: { run: s.trained.run, definitionVersion: s.trained.definitionVersion, ...(s.trained.finishedAt !== null ? { finishedAt: iso(s.trained.finishedAt) } : {}), result: s.trained.result ?? {} } } : {}),
      ...(s.nextRunAt !== undefined ? { nextRunAt: iso(s.nextRunAt) } : {}),
    };
    return reply.header('tandem-version', found.version).send({ ...found.body, status });
  };
  app.addHook('onRoute', (route) => {
    if (route.method === 'GET' && route.url.endsWith(`/${MODEL_KIND}/:key`)) {
      route.handler = getWithStatus;
      route.schema = {
        ...route.schema,
        summary: 'Get a model with its training status: parameters, standard errors, log-likelihood, validation metrics and explanation of the newest trained version',
        response: { 200: Type.Intersect([Type.Omit(ModelBody, ['status']), Type.Object({ status: Status })]) },
      };
    }
  });

  definitionRoutes<ModelDefinition>(app, store, clock, {
    kind: MODEL_KIND,
    noun: 'model',
    schema: ModelBody,
    prepare: async (ws, body) => {
      const def = checkModel(body);
      checkOutput(def, (await store.definitions.list(ws, TRAITS)).map((t) => t.key), (await store.definitions.list(ws, MODEL_KIND)).map((m) => [m.key, m.body] as [string, unknown]));
      return def;
    },
    changed: (ws, key, deleted) => void models.changed(ws, key, deleted).catch(() => undefined),
  });

  app.post<{ Params: { key: string }; Querystring: { wait?: boolean } }>(
    '/models/:key/train',
    {
      schema: {
        summary: 'Train a model now (after any training in progress): 202 with the run started, or with wait=true 200 with the finished run',
        tags,
        params: Key,
        querystring: Type.Object({ wait: Type.Optional(Type.Boolean({ description: 'Answer when the training has finished.' })) }),
        response: { 200: Run, 202: Run },
      },
    },
    async (req, reply) => {
      const { run, done } = await models.train(req.workspaceId, req.params.key);
      await store.audit.add({ workspaceId: req.workspaceId, actor: 'admin', action: 'model.train', target: req.params.key, detail: { run: run.run } }, clock.now());
      if (req.query.wait) return reply.status(200).send(runJson(await done, true));
      return reply.status(202).send(runJson(run, false));
    },
  );

  app.get<{ Params: { key: string }; Querystring: { limit?: number } }>(
    '/models/:key/runs',
    {
      schema: {
        summary: 'The trainings of a model (its versions), newest first, with their results',
        tags,
        params: Key,
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })) }),
        response: { 200: Type.Object({ data: Type.Array(Run) }) },
      },
    },
    async (req) => {
      if (!(await store.definitions.get(req.workspaceId, MODEL_KIND, req.params.key))) throw notFound('model', req.params.key);
      return { data: models.runs(req.workspaceId, req.params.key, req.query.limit ?? 20).map((r) => runJson(r, true)) };
    },
  );

  app.get<{ Params: { key: string; profileId: string } }>(
    '/models/:key/profiles/:profileId',
    {
      schema: {
        summary: "One profile's values from the newest trained version, and why: the features pushing a score up and down, the history behind a CLV, the hours behind a send time",
        tags,
        params: Type.Object({ key: Type.String(), profileId: Type.String() }),
        response: { 200: Type.Object({ model: Type.String(), run: Type.Integer(), profileId: Type.String(), values: Type.Unknown() }, { additionalProperties: true }) },
      },
    },
    async (req) => models.explain(req.workspaceId, req.params.key, req.params.profileId),
  );
}
