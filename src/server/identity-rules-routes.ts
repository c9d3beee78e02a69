import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Clock } from '../core/clock.js';
import { badRequest, notFound, TandemError } from '../core/errors.js';
import type { Store } from '../core/ports/store.js';
import { ACTIVE_RULES_KEY, compileIdentityRules, defaultIdentityRules, IDENTITY_RULES_KIND, IdentityRulesBody } from '../identity/rules.js';

const Key = Type.Object({ key: Type.String() });

export interface IdentityRulesRouteDeps {
  store: Store;
  clock: Clock;
  /** Called after the rules of a workspace changed (the resolve stage and profile views reload them). */
  onChange: (workspaceId: string) => void;
}

/**
 * /api/v1/identity-rules: the `identity-rules` definitions. The workspace resolves with the one keyed
 * `default` (the built-in defaults until one is saved); a change applies to events resolved from then on, and
 * survivorship changes apply to every profile at once (traits are chosen when read).
 */
export function identityRulesRoutes(deps: IdentityRulesRouteDeps) {
  const { store, clock } = deps;
  const audit = (workspaceId: string, action: string, target: string, detail?: unknown) => store.audit.add({ workspaceId, actor: 'admin', action, target, detail }, clock.now());

  const save = async (workspaceId: string, body: unknown) => {
    const rules = compileIdentityRules(body);
    await store.definitions.put(workspaceId, IDENTITY_RULES_KIND, rules.body.key, rules.body);
    if (rules.body.key === ACTIVE_RULES_KEY) deps.onChange(workspaceId);
    return rules.body;
  };
  const current = async (workspaceId: string, key: string) =>
    (await store.definitions.get<IdentityRulesBody>(workspaceId, IDENTITY_RULES_KIND, key))?.body ?? (key === ACTIVE_RULES_KEY ? defaultIdentityRules().body : undefined);

  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/identity-rules', { schema: { summary: "List identity rules ('default' is the one in force)", tags: ['identity-rules'], response: { 200: Type.Object({ data: Type.Array(IdentityRulesBody) }) } } }, async (req) => {
      const stored = (await store.definitions.list<IdentityRulesBody>(req.workspaceId, IDENTITY_RULES_KIND)).map((d) => d.body);
      return { data: stored.some((b) => b.key === ACTIVE_RULES_KEY) ? stored : [defaultIdentityRules().body, ...stored] };
    });

    app.post<{ Body: IdentityRulesBody }>('/identity-rules', { schema: { summary: 'Create identity rules', tags: ['identity-rules'], body: IdentityRulesBody, response: { 201: IdentityRulesBody } } }, async (req, reply) => {
      if (await store.definitions.get(req.workspaceId, IDENTITY_RULES_KIND, req.body.key)) throw new TandemError('conflict', `identity rules '${req.body.key}' already exist; PUT to change them`, 409, 'key');
      const body = await save(req.workspaceId, req.body);
      await audit(req.workspaceId, 'identity-rules.create', body.key, body);
      return reply.status(201).send(body);
    });

    app.get<{ Params: { key: string } }>('/identity-rules/:key', { schema: { summary: 'Get identity rules', tags: ['identity-rules'], params: Key, response: { 200: IdentityRulesBody } } }, async (req) => {
      const body = await current(req.workspaceId, req.params.key);
      if (!body) throw notFound('identity rules', req.params.key);
      return body;
    });

    app.put<{ Params: { key: string }; Body: IdentityRulesBody }>(
      '/identity-rules/:key',
      { schema: { summary: 'Create or replace identity rules (a new version)', tags: ['identity-rules'], params: Key, body: IdentityRulesBody, response: { 200: IdentityRulesBody } } },
      async (req) => {
        if (req.body.key !== req.params.key) throw badRequest('key_mismatch', `key in the body ('${req.body.key}') must equal the key in the path ('${req.params.key}')`, 'key');
        const body = await save(req.workspaceId, req.body);
        await audit(req.workspaceId, 'identity-rules.put', body.key, body);
        return body;
      },
    );

    app.delete<{ Params: { key: string } }>(
      '/identity-rules/:key',
      { schema: { summary: "Delete identity rules (deleting 'default' restores the built-in defaults)", tags: ['identity-rules'], params: Key } },
      async (req, reply) => {
        if (!(await store.definitions.remove(req.workspaceId, IDENTITY_RULES_KIND, req.params.key))) throw notFound('identity rules', req.params.key);
        if (req.params.key === ACTIVE_RULES_KEY) deps.onChange(req.workspaceId);
        await audit(req.workspaceId, 'identity-rules.delete', req.params.key);
        return reply.status(204).send();
      },
    );
  };
}
