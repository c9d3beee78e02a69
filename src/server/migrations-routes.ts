import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Migrations } from '../migrations/migrations.js';
import { MigrationRequest } from '../migrations/schema.js';

const MigrationView = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  dryRun: Type.Boolean(),
  status: Type.Union([Type.Literal('running'), Type.Literal('done'), Type.Literal('failed')]),
  author: Type.String(),
  request: Type.Object({}, { additionalProperties: true, description: 'The request (bulk trait data replaced by its size, dataBytes).' }),
  progress: Type.Object({ phase: Type.String(), done: Type.Integer(), total: Type.Integer() }),
  report: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'What changed (or, for a dry run, would change): counts, samples before and after, definitions updated.' })),
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String(), path: Type.Optional(Type.String()) })),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

/** /api/v1/migrations: data migrations (docs/migrations.md). */
export function migrationsRoutes(deps: { migrations: Migrations }) {
  const { migrations } = deps;
  const tags = ['migrations'];
  return async (app: FastifyInstance): Promise<void> => {
    app.post<{ Body: MigrationRequest }>(
      '/migrations',
      {
        bodyLimit: 17 * 1024 * 1024,
        schema: {
          summary: 'Start a data migration (rename an event or property, retype a property, bulk trait updates or deletions), or its dry run',
          tags,
          body: MigrationRequest,
          response: { 202: MigrationView },
        },
      },
      async (req, reply) => reply.code(202).send(migrations.start(req.workspaceId, req.body)),
    );
    app.get<{ Querystring: { limit?: number } }>(
      '/migrations',
      { schema: { summary: 'List data migrations, newest first', tags, querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })) }), response: { 200: Type.Object({ data: Type.Array(MigrationView) }) } } },
      async (req) => ({ data: migrations.list(req.workspaceId, req.query.limit ?? 50) }),
    );
    app.get<{ Params: { id: string } }>(
      '/migrations/:id',
      { schema: { summary: 'A data migration: status, progress and report', tags, params: Type.Object({ id: Type.String() }), response: { 200: MigrationView } } },
      async (req) => migrations.get(req.workspaceId, req.params.id),
    );
  };
}
