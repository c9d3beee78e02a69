import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { SourceBody, SourceView } from '../collect/source.js';
import type { Clock } from '../core/clock.js';
import { badRequest, notFound, TandemError } from '../core/errors.js';
import { maskSecret, newSecret, sha256 } from '../core/ids.js';
import type { Source, SourceSettings, Store, VersionMeta } from '../core/ports/store.js';

export const WRITE_KEY_PREFIX = 'wk_';

export const view = (s: Source, writeKey?: string) => ({
  key: s.key,
  ...s.settings,
  writeKey: writeKey ?? maskSecret(s.writeKeyPrefix),
  createdAt: new Date(s.createdAt).toISOString(),
});

const settingsOf = (body: SourceBody): SourceSettings => {
  const { key: _key, ...settings } = body;
  return settings;
};

/** Creates a source and returns it with its write key, which is shown this once and stored hashed. */
export async function createSource(store: Store, workspaceId: string, body: SourceBody, meta?: VersionMeta): Promise<{ source: Source; writeKey: string }> {
  const writeKey = newSecret(WRITE_KEY_PREFIX);
  const source = await store.sources.create(workspaceId, body.key, sha256(writeKey), writeKey.slice(0, 8), settingsOf(body), meta);
  return { source, writeKey };
}

const Key = Type.Object({ key: Type.String() });

/** /api/v1/sources: the write keys that collection accepts. */
export async function sourcesRoutes(app: FastifyInstance, deps: { store: Store; clock: Clock; onChange: () => void }): Promise<void> {
  const { store, clock } = deps;
  const audit = (workspaceId: string, action: string, target: string, detail?: unknown) =>
    store.audit.add({ workspaceId, actor: 'admin', action, target, detail }, clock.now());

  app.get('/sources', { schema: { summary: 'List sources (write keys masked)', tags: ['sources'], response: { 200: Type.Object({ data: Type.Array(SourceView) }) } } }, async (req) => ({
    data: (await store.sources.list(req.workspaceId)).map((s) => view(s)),
  }));

  app.post<{ Body: SourceBody }>('/sources', { schema: { summary: 'Create a source; the answer holds its write key', tags: ['sources'], body: SourceBody, response: { 201: SourceView } } }, async (req, reply) => {
    if (await store.sources.get(req.workspaceId, req.body.key)) throw new TandemError('conflict', `source '${req.body.key}' already exists`, 409, 'key');
    const { source, writeKey } = await createSource(store, req.workspaceId, req.body);
    await audit(req.workspaceId, 'source.create', source.key);
    deps.onChange();
    return reply.status(201).send(view(source, writeKey));
  });

  app.get<{ Params: { key: string } }>('/sources/:key', { schema: { summary: 'Get a source', tags: ['sources'], params: Key, response: { 200: SourceView } } }, async (req) => {
    const source = await store.sources.get(req.workspaceId, req.params.key);
    if (!source) throw notFound('source', req.params.key);
    return view(source);
  });

  app.put<{ Params: { key: string }; Body: SourceBody }>('/sources/:key', { schema: { summary: 'Replace a source\'s settings', tags: ['sources'], params: Key, body: SourceBody, response: { 200: SourceView } } }, async (req) => {
    if (req.body.key !== req.params.key) throw badRequest('key_mismatch', `key in the body ('${req.body.key}') must equal the key in the path ('${req.params.key}')`, 'key');
    const source = await store.sources.update(req.workspaceId, req.params.key, settingsOf(req.body));
    if (!source) throw notFound('source', req.params.key);
    await audit(req.workspaceId, 'source.update', source.key, settingsOf(req.body));
    deps.onChange();
    return view(source);
  });

  app.delete<{ Params: { key: string } }>('/sources/:key', { schema: { summary: 'Delete a source; its write key stops working', tags: ['sources'], params: Key } }, async (req, reply) => {
    if (!(await store.sources.remove(req.workspaceId, req.params.key))) throw notFound('source', req.params.key);
    await audit(req.workspaceId, 'source.delete', req.params.key);
    deps.onChange();
    return reply.status(204).send();
  });
}
