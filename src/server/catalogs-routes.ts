import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { checkCatalog, type Catalogs } from '../catalogs/catalogs.js';
import { CATALOG_KIND, CatalogBody, type Catalog } from '../catalogs/definition.js';
import type { Clock } from '../core/clock.js';
import { badRequest, notFound } from '../core/errors.js';
import type { Store } from '../core/ports/store.js';
import { definitionRoutes } from './channels-routes.js';

export interface CatalogsRouteDeps {
  store: Store;
  clock: Clock;
  catalogs: Catalogs;
}

const Row = Type.Object({}, { additionalProperties: true });
const RowParams = Type.Object({ key: Type.String(), rowKey: Type.String() });
const ROWS_LIMIT = 64 * 1024 * 1024;

/** /api/v1/catalogs and their rows: bulk upsert from JSON or CSV, row-by-row changes, paged reads. */
export async function catalogsRoutes(app: FastifyInstance, deps: CatalogsRouteDeps): Promise<void> {
  const { store, clock, catalogs } = deps;
  app.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: ROWS_LIMIT }, (_req, body, done) => done(null, body));

  definitionRoutes<Catalog>(app, store, clock, {
    kind: CATALOG_KIND,
    noun: 'catalog',
    schema: CatalogBody,
    prepare: async (ws, body) => {
      checkCatalog(body);
      const before = await store.definitions.get<Catalog>(ws, CATALOG_KIND, body.key);
      if (before && before.body.keyField !== body.keyField) {
        throw badRequest('key_field_changed', `keyField cannot change from '${before.body.keyField}' to '${body.keyField}' while the catalog has rows; delete and re-create it`, 'keyField');
      }
      return body;
    },
    changed: (ws, key, deleted) => catalogs.changed(ws, key, deleted),
  });

  app.post<{ Params: { key: string }; Body: unknown }>(
    '/catalogs/:key/rows',
    {
      bodyLimit: ROWS_LIMIT,
      schema: {
        summary: 'Upsert rows: a JSON array of rows, or a CSV document (Content-Type: text/csv, header first); all or nothing',
        tags: ['catalogs'],
        params: Type.Object({ key: Type.String() }),
        body: Type.Union([Type.Array(Row), Type.String({ description: 'CSV text' })]),
        response: { 200: Type.Object({ upserted: Type.Integer(), changed: Type.Integer() }) },
      },
    },
    async (req) => {
      const body = req.body;
      if (typeof body === 'string') return catalogs.upsertCsv(req.workspaceId, req.params.key, body);
      if (!Array.isArray(body)) throw badRequest('wrong_type', 'body must be a JSON array of rows or a CSV document (text/csv)', '');
      return catalogs.upsert(req.workspaceId, req.params.key, body);
    },
  );

  app.get<{ Params: { key: string }; Querystring: { after?: string; limit?: number } }>(
    '/catalogs/:key/rows',
    {
      schema: {
        summary: 'Rows in key order, paged (pass the last key as after)',
        tags: ['catalogs'],
        params: Type.Object({ key: Type.String() }),
        querystring: Type.Object({ after: Type.Optional(Type.String()), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })) }),
        response: { 200: Type.Object({ data: Type.Array(Type.Object({ key: Type.String(), row: Row, updatedAt: Type.Integer() })), total: Type.Integer(), next: Type.Optional(Type.String()) }) },
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 100;
      const { rows, total } = await catalogs.page(req.workspaceId, req.params.key, req.query.after, limit);
      return { data: rows, total, ...(rows.length === limit ? { next: rows[rows.length - 1].key } : {}) };
    },
  );

  app.get<{ Params: { key: string; rowKey: string } }>(
    '/catalogs/:key/rows/:rowKey',
    { schema: { summary: 'One row', tags: ['catalogs'], params: RowParams, response: { 200: Row } } },
    async (req) => {
      await catalogs.definition(req.workspaceId, req.params.key);
      const row = catalogs.get(req.workspaceId, req.params.key, req.params.rowKey);
      if (!row) throw notFound('row', req.params.rowKey);
      return row;
    },
  );

  app.put<{ Params: { key: string; rowKey: string }; Body: Record<string, unknown> }>(
    '/catalogs/:key/rows/:rowKey',
    { schema: { summary: 'Create or replace one row (listeners are told at once)', tags: ['catalogs'], params: RowParams, body: Row, response: { 200: Row, 201: Row } } },
    async (req, reply) => {
      const { created, row } = await catalogs.put(req.workspaceId, req.params.key, req.params.rowKey, req.body);
      return reply.status(created ? 201 : 200).send(row);
    },
  );

  app.delete<{ Params: { key: string; rowKey: string } }>(
    '/catalogs/:key/rows/:rowKey',
    { schema: { summary: 'Delete one row', tags: ['catalogs'], params: RowParams } },
    async (req, reply) => {
      if (!(await catalogs.remove(req.workspaceId, req.params.key, req.params.rowKey))) throw notFound('row', req.params.rowKey);
      return reply.status(204).send();
    },
  );
}
