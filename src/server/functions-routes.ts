import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Clock } from '../core/clock.js';
import { badRequest, notFound } from '../core/errors.js';
import type { Store } from '../core/ports/store.js';
import { FUNCTION_KIND, FunctionBody, checkFunction, checkWebhookUnique, type FunctionDefinition } from '../transforms/function-definition.js';
import { runFunctionOnce } from '../transforms/try-function.js';
import { definitionRoutes } from './channels-routes.js';

export interface FunctionsRouteDeps {
  store: Store;
  clock: Clock;
  catalogs: (workspaceId: string) => { get(catalog: string, key: string): Record<string, unknown> | undefined };
  changed(workspaceId: string, key: string): void;
}

/** /api/v1/functions: sandboxed event and webhook functions (docs/transformations.md), and a dry run on a sample. */
export async function functionsRoutes(app: FastifyInstance, deps: FunctionsRouteDeps): Promise<void> {
  const { store, clock } = deps;
  definitionRoutes<FunctionDefinition>(app, store, clock, {
    kind: FUNCTION_KIND,
    noun: 'function',
    schema: FunctionBody,
    prepare: async (ws, body) => {
      const sources = new Set((await store.sources.list(ws)).map((s) => s.key));
      const def = await checkFunction(body, sources);
      checkWebhookUnique(def, (await store.definitions.list<FunctionDefinition>(ws, FUNCTION_KIND)).map((d) => [d.key, d.body]));
      return def;
    },
    changed: (ws, key) => deps.changed(ws, key),
  });

  app.post<{ Params: { key: string }; Body: { event: unknown } }>(
    '/functions/:key/test',
    {
      schema: {
        summary: 'Run a saved function on a sample event or payload; nothing is stored',
        tags: [FUNCTION_KIND],
        params: Type.Object({ key: Type.String() }),
        body: Type.Object({ event: Type.Unknown({ description: 'The event (event functions) or webhook payload (webhook functions).' }) }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            ok: Type.Boolean(),
            result: Type.Optional(Type.Unknown({ description: 'What the function returned: an event, an array of events, or null.' })),
            messages: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }), { description: 'Event functions: the messages that would be stored.' })),
            error: Type.Optional(Type.Object({ reason: Type.String(), message: Type.String() })),
            ms: Type.Number(),
          }),
        },
      },
    },
    async (req) => {
      const found = await store.definitions.get<FunctionDefinition>(req.workspaceId, FUNCTION_KIND, req.params.key);
      if (!found) throw notFound('function', req.params.key);
      if (req.body?.event === undefined) throw badRequest('required', 'event is required', 'event');
      return runFunctionOnce(found.body, req.body.event, deps.catalogs(req.workspaceId), clock.now());
    },
  );
}
