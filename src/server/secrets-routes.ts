import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Clock } from '../core/clock.js';
import { notFound } from '../core/errors.js';
import type { Store } from '../core/ports/store.js';
import type { Secrets } from '../secrets/secrets.js';

const SecretView = Type.Object({
  name: Type.String(),
  keyId: Type.String({ description: 'The master key the value is sealed under (its id, not the key).' }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
const Name = Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) });
const SetSecret = Type.Object({ value: Type.String({ minLength: 1, description: 'The secret value: stored encrypted, never returned.' }) }, { additionalProperties: false });

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * /api/v1/secrets (admin only, enforced in admin-auth.ts): values referenced as `{ "secret": NAME }` by channels,
 * alert targets and webhook signatures, sealed with AES-256-GCM under the master key. Values go in, never out.
 */
export function secretsRoutes(deps: { secrets: Secrets; store: Store; clock: Clock }) {
  const { secrets, store, clock } = deps;
  const audit = (req: FastifyRequest, action: string, name: string) => store.audit.add({ workspaceId: req.workspaceId, actor: req.actor, action, target: `secret:${name}` }, clock.now());
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/secrets', { schema: { summary: 'Stored secrets: names and dates, never values', tags: ['secrets'], response: { 200: Type.Object({ data: Type.Array(SecretView) }) } } }, async (req) => ({
      data: secrets.list(req.workspaceId).map((s) => ({ name: s.name, keyId: s.keyId, createdAt: iso(s.createdAt), updatedAt: iso(s.updatedAt) })),
    }));
    app.put<{ Params: Static<typeof Name>; Body: Static<typeof SetSecret> }>(
      '/secrets/:name',
      { schema: { summary: 'Set a secret (create or replace); reference it as { "secret": NAME }', tags: ['secrets'], params: Name, body: SetSecret, response: { 200: SecretView } } },
      async (req) => {
        const existed = secrets.set(req.workspaceId, req.params.name, req.body.value);
        await audit(req, existed ? 'secret.replace' : 'secret.create', req.params.name);
        const s = secrets.list(req.workspaceId).find((x) => x.name === req.params.name)!;
        return { name: s.name, keyId: s.keyId, createdAt: iso(s.createdAt), updatedAt: iso(s.updatedAt) };
      },
    );
    app.delete<{ Params: Static<typeof Name> }>(
      '/secrets/:name',
      { schema: { summary: 'Delete a secret (what references it fails, and says so, until it is set again)', tags: ['secrets'], params: Name, response: { 204: Type.Null() } } },
      async (req, reply) => {
        if (!secrets.remove(req.workspaceId, req.params.name)) throw notFound('secret', req.params.name);
        await audit(req, 'secret.delete', req.params.name);
        return reply.status(204).send();
      },
    );
  };
}
