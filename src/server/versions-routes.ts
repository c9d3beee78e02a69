import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { WorkspaceService } from '../workspace/workspace.js';

const Field = Type.Object({ path: Type.String(), op: Type.String(), before: Type.Optional(Type.Unknown()), after: Type.Optional(Type.Unknown()) });
const Version = (bodies: boolean) =>
  Type.Object({
    version: Type.Integer(),
    at: Type.String({ format: 'date-time' }),
    author: Type.String({ description: '`api` for a change through a kind\'s routes; the author given to apply or rollback otherwise.' }),
    message: Type.String(),
    changes: Type.Array(
      Type.Object({
        kind: Type.String(),
        key: Type.String(),
        op: Type.Union([Type.Literal('create'), Type.Literal('update'), Type.Literal('delete')]),
        fields: Type.Array(Field, { description: 'Field-level differences from the body before to the body after.' }),
        ...(bodies ? { before: Type.Unknown({ description: 'The whole body before (null: absent).' }), after: Type.Unknown({ description: 'The whole body after (null: deleted).' }) } : {}),
      }),
    ),
  });

/** /api/v1/versions: every change to the workspace's definitions, through the API or an apply, with its diff. */
export function versionsRoutes(deps: { workspace: WorkspaceService }) {
  const { workspace } = deps;
  const tags = ['workspace'];
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Querystring: { limit?: number; before?: number } }>(
      '/versions',
      {
        schema: {
          summary: 'Workspace versions, newest first, with field-level diffs (page with `before`)',
          tags,
          querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })), before: Type.Optional(Type.Integer({ minimum: 1 })) }),
          response: { 200: Type.Object({ data: Type.Array(Version(false)), next: Type.Optional(Type.Integer({ description: 'Pass as `before` for the next page; absent on the last page.' })) }) },
        },
      },
      async (req) => {
        const limit = req.query.limit ?? 50;
        const data = await workspace.versions(req.workspaceId, { before: req.query.before, limit });
        return { data, ...(data.length === limit && data[data.length - 1].version > 1 ? { next: data[data.length - 1].version } : {}) };
      },
    );

    app.get<{ Params: { version: number } }>(
      '/versions/:version',
      { schema: { summary: 'One workspace version with its diffs and whole bodies before and after', tags, params: Type.Object({ version: Type.Integer({ minimum: 1 }) }), response: { 200: Version(true) } } },
      async (req) => workspace.version(req.workspaceId, req.params.version),
    );
  };
}
