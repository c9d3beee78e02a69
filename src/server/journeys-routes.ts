import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { notFound } from '../core/errors.js';
import type { Journeys, BacktestRequest, SimulateRequest } from '../journeys/journeys.js';
import type { JourneyStatus } from '../journeys/ports.js';

const Key = Type.Object({ key: Type.String() });
const Definition = Type.Unknown({ description: 'A journey definition (docs/journeys.md): validated with errors naming the path, e.g. nodes.check_stock.condition.where[0].gt.' });

export interface JourneysRouteDeps {
  journeys: Journeys;
  /** Whether a profile exists in the workspace: a trace of another workspace's profile id is a 404. */
  profileExists?(workspaceId: string, id: string): Promise<boolean>;
}

/**
 * /api/v1/journeys: the body is exactly the journey definition; each save is a new version (`Tandem-Version`).
 * Actions: pause, resume, archive, simulate, backtest; GET stats. Also /api/v1/journey-guardrails and
 * /api/v1/profiles/:id/trace?journey=<key> ("why did (or didn't) this person get this message?").
 */
export async function journeysRoutes(app: FastifyInstance, deps: JourneysRouteDeps): Promise<void> {
  const { journeys } = deps;
  const tags = ['journeys'];

  app.get('/journeys', { schema: { summary: 'List journeys', tags } }, async (req) => ({
    data: (await journeys.list(req.workspaceId)).map((d) => d.body),
  }));

  app.post<{ Body: unknown }>('/journeys', { schema: { summary: 'Create a journey', tags, body: Definition } }, async (req, reply) => {
    const saved = await journeys.save(req.workspaceId, req.body, 'create');
    return reply.status(201).header('tandem-version', saved.version).send(saved.body);
  });

  app.get<{ Params: { key: string } }>('/journeys/:key', { schema: { summary: 'Get a journey', tags, params: Key } }, async (req, reply) => {
    const found = await journeys.get(req.workspaceId, req.params.key);
    return reply.header('tandem-version', found.version).header('tandem-status', found.status).send(found.body);
  });

  app.put<{ Params: { key: string }; Body: unknown }>(
    '/journeys/:key',
    { schema: { summary: 'Replace a journey (a new version: new entries take it, running instances keep theirs)', tags, params: Key, body: Definition } },
    async (req, reply) => {
      const saved = await journeys.save(req.workspaceId, req.body, 'update', req.params.key);
      return reply.header('tandem-version', saved.version).send(saved.body);
    },
  );

  app.delete<{ Params: { key: string } }>('/journeys/:key', { schema: { summary: 'Delete a journey (running instances exit)', tags, params: Key } }, async (req, reply) => {
    await journeys.remove(req.workspaceId, req.params.key);
    return reply.status(204).send();
  });

  const statusAction = (action: string, status: JourneyStatus, summary: string) =>
    app.post<{ Params: { key: string } }>(`/journeys/:key/${action}`, { schema: { summary, tags, params: Key } }, async (req) => ({
      key: req.params.key,
      status: await journeys.setStatus(req.workspaceId, req.params.key, status),
    }));
  statusAction('pause', 'paused', 'Pause a journey: no new entries, timers held');
  statusAction('resume', 'active', 'Resume a paused journey');
  statusAction('archive', 'archived', 'Archive a journey: no new entries, running instances exit');

  app.post<{ Params: { key: string }; Body: SimulateRequest }>(
    '/journeys/:key/simulate',
    {
      schema: {
        summary: 'Run a journey for a given or synthetic profile on a simulated clock, sending nothing',
        tags, params: Key,
        body: Type.Object({
          definition: Type.Optional(Definition),
          profile_id: Type.Optional(Type.String()),
          profile: Type.Optional(Type.Object({
            id: Type.Optional(Type.String()), traits: Type.Optional(Type.Record(Type.String(), Type.Unknown())), computed: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
            audiences: Type.Optional(Type.Array(Type.String())), subscriptions: Type.Optional(Type.Record(Type.String(), Type.Union([Type.Literal('subscribed'), Type.Literal('unsubscribed')]))),
            identifiers: Type.Optional(Type.Array(Type.Object({ type: Type.String(), value: Type.String() }))),
          }, { additionalProperties: false })),
          events: Type.Optional(Type.Array(Type.Object({
            event: Type.String({ minLength: 1 }), type: Type.Optional(Type.String()), properties: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
            after: Type.Optional(Type.String()), at: Type.Optional(Type.String()), messageId: Type.Optional(Type.String()),
          }, { additionalProperties: false }))),
          until: Type.Optional(Type.String()),
        }, { additionalProperties: false }),
      },
    },
    async (req) => journeys.simulate(req.workspaceId, req.params.key, req.body ?? {}),
  );

  app.post<{ Params: { key: string }; Body: BacktestRequest }>(
    '/journeys/:key/backtest',
    {
      schema: {
        summary: 'Replay a (draft) journey over a past period of real history',
        tags, params: Key,
        body: Type.Object({ definition: Type.Optional(Definition), from: Type.String(), to: Type.String() }, { additionalProperties: false }),
      },
    },
    async (req) => journeys.backtest(req.workspaceId, req.params.key, req.body),
  );

  app.get<{ Params: { key: string } }>('/journeys/:key/stats', { schema: { summary: 'Entries, exits, conversions and sends per node', tags, params: Key } }, async (req) => {
    await journeys.get(req.workspaceId, req.params.key);
    return journeys.stats(req.workspaceId, req.params.key);
  });

  app.get('/journey-guardrails', { schema: { summary: 'Guardrails of every journey send (caps, quiet hours, consent, holdout, budgets)', tags } }, async (req) => journeys.guardrails(req.workspaceId));
  app.put<{ Body: unknown }>('/journey-guardrails', { schema: { summary: 'Replace the guardrails', tags, body: Type.Unknown() } }, async (req) => journeys.setGuardrails(req.workspaceId, req.body));

  app.get<{ Params: { id: string }; Querystring: { journey?: string; limit?: number } }>(
    '/profiles/:id/trace',
    {
      schema: {
        summary: "Why did (or didn't) this person get this message: the decision trail",
        tags: ['journeys', 'profiles'],
        params: Type.Object({ id: Type.String() }),
        querystring: Type.Object({ journey: Type.Optional(Type.String()) }),
      },
    },
    async (req) => {
      const answer = journeys.trace(req.workspaceId, req.params.id, req.query.journey);
      if (answer.trail.length === 0 && deps.profileExists && !(await deps.profileExists(req.workspaceId, req.params.id))) throw notFound('profile', req.params.id);
      return answer;
    },
  );
}
