import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { TRAITS } from '../apply/definitions.js';
import { CATALOG_KIND } from '../catalogs/definition.js';
import type { Clock } from '../core/clock.js';
import { notFound } from '../core/errors.js';
import type { Store } from '../core/ports/store.js';
import { SQL_MODEL_KIND, SqlModelBody, type SqlModelDefinition } from '../transforms/sql-model-definition.js';
import type { SqlModels } from '../transforms/sql-models.js';
import { definitionRoutes } from './channels-routes.js';

const Key = Type.Object({ key: Type.String() });
const Row = Type.Object({}, { additionalProperties: true });
const Run = Type.Object({
  key: Type.String(),
  mode: Type.Union([Type.Literal('full'), Type.Literal('incremental')]),
  low: Type.Integer({ description: 'Events read have an id above this...' }),
  high: Type.Integer({ description: '...and up to this (the watermark of the next incremental run).' }),
  added: Type.Integer(),
  rows: Type.Integer(),
  output: Type.Optional(Type.Object({ trait: Type.Optional(Type.String()), changed: Type.Optional(Type.Integer()), catalog: Type.Optional(Type.String()), upserted: Type.Optional(Type.Integer()), removed: Type.Optional(Type.Integer()) })),
  ms: Type.Number(),
});

/** The store's definitions of the other kinds an SQL model's check needs. */
async function context(store: Store, ws: string) {
  const models = new Map((await store.definitions.list<SqlModelDefinition>(ws, SQL_MODEL_KIND)).map((d) => [d.key, d.body]));
  const traits = (await store.definitions.list(ws, TRAITS)).map((d) => d.key);
  const catalogs = new Set((await store.definitions.list(ws, CATALOG_KIND)).map((d) => d.key));
  return { models, traits, catalogs };
}

/** /api/v1/models-sql: SQL models (docs/transformations.md), their runs, rows and previews. */
export async function modelsSqlRoutes(app: FastifyInstance, deps: { store: Store; clock: Clock; sqlModels: SqlModels }): Promise<void> {
  const { store, clock, sqlModels } = deps;
  const tags = [SQL_MODEL_KIND];
  definitionRoutes<SqlModelDefinition>(app, store, clock, {
    kind: SQL_MODEL_KIND,
    noun: 'SQL model',
    schema: SqlModelBody,
    prepare: async (ws, body) => {
      const c = await context(store, ws);
      return sqlModels.check(ws, body, c.models, c.traits, c.catalogs);
    },
    changed: (ws, key, deleted) => void sqlModels.changed(ws, key, deleted),
  });

  app.post<{ Body: { sql: string; limit?: number } }>(
    `/${SQL_MODEL_KIND}/preview`,
    {
      schema: {
        summary: 'Run a SELECT over the views and models without saving it: at most `limit` rows, 10 s statement timeout',
        tags,
        body: Type.Object({ sql: Type.String({ minLength: 1, maxLength: 100_000 }), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })) }, { additionalProperties: false }),
        response: { 200: Type.Object({ columns: Type.Array(Type.String()), rows: Type.Array(Row), truncated: Type.Boolean({ description: 'More rows than the limit.' }), reads: Type.Array(Type.String()) }) },
      },
    },
    async (req) => sqlModels.preview(req.workspaceId, req.body.sql, req.body.limit ?? 100),
  );

  const RunBody = Type.Object({ full: Type.Optional(Type.Boolean({ default: false, description: 'Rebuild incremental models from all events.' })) }, { additionalProperties: false });
  app.post<{ Body: { full?: boolean } }>(
    `/${SQL_MODEL_KIND}/run`,
    { schema: { summary: 'Run every enabled SQL model now, in dependency order', tags, body: Type.Optional(RunBody), response: { 200: Type.Object({ data: Type.Array(Run) }) } } },
    async (req) => ({ data: await sqlModels.run(req.workspaceId, undefined, { full: req.body?.full }) }),
  );

  app.post<{ Params: { key: string }; Body: { full?: boolean } }>(
    `/${SQL_MODEL_KIND}/:key/run`,
    { schema: { summary: 'Run a SQL model now, after the models it reads (in dependency order)', tags, params: Key, body: Type.Optional(RunBody), response: { 200: Type.Object({ data: Type.Array(Run) }) } } },
    async (req) => ({ data: await sqlModels.run(req.workspaceId, [req.params.key], { full: req.body?.full }) }),
  );

  app.get<{ Params: { key: string }; Querystring: { limit?: number; offset?: number } }>(
    `/${SQL_MODEL_KIND}/:key/rows`,
    {
      schema: {
        summary: "A SQL model's materialised rows",
        tags,
        params: Key,
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 100 })), offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })) }),
        response: { 200: Type.Object({ columns: Type.Array(Type.String()), rows: Type.Array(Row) }) },
      },
    },
    async (req) => {
      if (!(await store.definitions.get(req.workspaceId, SQL_MODEL_KIND, req.params.key))) throw notFound('SQL model', req.params.key);
      return sqlModels.rows(req.workspaceId, req.params.key, req.query.limit ?? 100, req.query.offset ?? 0);
    },
  );

  app.get<{ Params: { key: string } }>(
    `/${SQL_MODEL_KIND}/:key/status`,
    {
      schema: {
        summary: 'The last run of a SQL model (since this start) and its next scheduled run',
        tags,
        params: Key,
        response: { 200: Type.Object({ lastRun: Type.Optional(Type.Intersect([Run, Type.Object({ at: Type.Integer() })])), error: Type.Optional(Type.String()), nextRunAt: Type.Optional(Type.Integer()) }) },
      },
    },
    async (req) => {
      const found = await store.definitions.get<SqlModelDefinition>(req.workspaceId, SQL_MODEL_KIND, req.params.key);
      if (!found) throw notFound('SQL model', req.params.key);
      return sqlModels.statusOf(req.workspaceId, req.params.key, found.body);
    },
  );
}
