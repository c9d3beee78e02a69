import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { WorkspaceService } from '../workspace/workspace.js';

const Document = Type.Object(
  { kind: Type.String({ description: 'The kind (sources, tracking-plans, audiences, ...); the other fields are the body of that kind\'s admin API.' }) },
  { additionalProperties: true, description: 'A workspace document (docs/workspace.md, schema: docs/workspace.schema.json).' },
);
const Field = Type.Object({
  path: Type.String(),
  op: Type.Union([Type.Literal('add'), Type.Literal('remove'), Type.Literal('change')]),
  before: Type.Optional(Type.Unknown()),
  after: Type.Optional(Type.Unknown()),
});
const Problem = Type.Object({ document: Type.String(), path: Type.String(), code: Type.String(), message: Type.String() });
const Change = Type.Object({
  kind: Type.String(),
  key: Type.String(),
  op: Type.Union([Type.Literal('create'), Type.Literal('update'), Type.Literal('delete')]),
  fields: Type.Array(Field),
  impact: Type.Array(Type.String()),
});
const PlanFields = {
  baseVersion: Type.Integer({ description: 'The workspace version planned against; pass it to apply to refuse a workspace changed since.' }),
  prune: Type.Boolean(),
  strict: Type.Boolean({ description: 'workspace-settings strict: unknown references refuse the apply.' }),
  changes: Type.Array(Change),
  unchanged: Type.Integer(),
  notInDocuments: Type.Array(Type.String({ description: 'kind/key' }), { description: 'Definitions kept because prune is off.' }),
  references: Type.Array(Problem, { description: 'Events, properties, audiences or traits named but unknown (warnings; errors in strict mode).' }),
};
const PlanRequest = Type.Object(
  {
    documents: Type.Array(Document),
    prune: Type.Optional(Type.Boolean({ default: false, description: 'Delete definitions that are not in the documents.' })),
  },
  { additionalProperties: false },
);
const Meta = {
  author: Type.Optional(Type.String({ maxLength: 200, description: 'Recorded with the version (default: the admin token\'s holder, `admin`).' })),
  message: Type.Optional(Type.String({ maxLength: 2000 })),
};
const ApplyAnswer = Type.Object({
  ...PlanFields,
  version: Type.Integer({ description: 'The new workspace version (the base version when nothing changed).' }),
  writeKeys: Type.Record(Type.String(), Type.String(), { description: 'Write keys of the sources created, shown this once.' }),
  errors: Type.Array(Type.String(), { description: 'Side effects that failed after the commit (the change stands).' }),
});

/** /api/v1/workspace: plan, apply, export and rollback of workspace as code (docs/workspace.md). */
export function workspaceRoutes(deps: { workspace: WorkspaceService }) {
  const { workspace } = deps;
  const tags = ['workspace'];
  return async (app: FastifyInstance): Promise<void> => {
    app.post<{ Body: { documents: unknown[]; prune?: boolean } }>(
      '/workspace/plan',
      { bodyLimit: 16 * 1024 * 1024, schema: { summary: 'Validate documents and show the changes applying them would make, with their impact (writes nothing)', tags, body: PlanRequest, response: { 200: Type.Object(PlanFields) } } },
      async (req) => workspace.plan(req.workspaceId, req.body.documents, { prune: req.body.prune }),
    );

    app.post<{ Body: { documents: unknown[]; prune?: boolean; author?: string; message?: string; baseVersion?: number } }>(
      '/workspace/apply',
      {
        bodyLimit: 16 * 1024 * 1024,
        schema: {
          summary: 'Apply documents all or nothing, recorded as one version; an invalid document applies nothing and is named in the error',
          tags,
          body: Type.Object({ ...PlanRequest.properties, ...Meta, baseVersion: Type.Optional(Type.Integer({ minimum: 0, description: 'Refuse (409) unless the workspace is still at this version.' })) }, { additionalProperties: false }),
          response: { 200: ApplyAnswer },
        },
      },
      async (req) => workspace.apply(req.workspaceId, req.body.documents, {
        prune: req.body.prune, baseVersion: req.body.baseVersion, author: req.body.author ?? 'admin', message: req.body.message ?? 'workspace apply',
      }),
    );

    app.get('/workspace/export', { schema: { summary: 'The current definitions as workspace documents', tags, response: { 200: Type.Object({ version: Type.Integer(), documents: Type.Array(Document) }) } } }, async (req) => ({
      version: await workspace.latestVersion(req.workspaceId),
      documents: await workspace.export(req.workspaceId),
    }));

    app.post<{ Body: { to: number; author?: string; message?: string } }>(
      '/workspace/rollback',
      {
        schema: {
          summary: 'Apply the definitions of an earlier version as a new version (history is kept)',
          tags,
          body: Type.Object({ to: Type.Integer({ minimum: 0 }), ...Meta }, { additionalProperties: false }),
          response: { 200: ApplyAnswer },
        },
      },
      async (req) => workspace.rollback(req.workspaceId, req.body.to, { author: req.body.author ?? 'admin', message: req.body.message ?? `rollback to version ${req.body.to}` }),
    );
  };
}
