import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import type { Logger } from 'pino';
import { Type } from '@sinclair/typebox';
import { adminAuth, type SessionResolver } from './admin-auth.js';
import { collectRoutes, type CollectRouteDeps } from './collect-routes.js';
import { errorHandler, frameworkErrors, notFoundHandler } from './errors.js';
import { eventsRoutes } from './events-routes.js';
import type { Metrics } from './metrics.js';
import { opsRoutes } from './ops-routes.js';
import { sourcesRoutes } from './sources-routes.js';
import type { Store } from '../core/ports/store.js';
import type { EventsStage } from '../events/events-stage.js';
import type { Clock } from '../core/clock.js';
import type { PersonalDataMask } from '../metadata/metadata.js';

export interface HttpDeps {
  logger: Logger;
  store: Store;
  clock: Clock;
  metrics: Metrics;
  stage: EventsStage;
  collect: CollectRouteDeps;
  ready: () => Promise<boolean>;
  onSourcesChange: () => void;
  /** Masks personal data in the event debugger for roles without the right (src/metadata). */
  mask?: PersonalDataMask;
  /** Console sessions (src/users/users.ts): session tokens and the session cookie sign admin calls in too. */
  sessions?: SessionResolver;
  /** Further admin route plugins (tracking plans, quarantine, ...), registered under /api/v1 behind admin auth. */
  adminPlugins: ((app: FastifyInstance) => Promise<void>)[];
  /** Route plugins outside /api/v1 with no admin auth (tracking links authorise themselves with signed tokens). */
  publicPlugins?: ((app: FastifyInstance) => Promise<void>)[];
}

/** The HTTP server: /v1 (collect), /api/v1 (admin, OpenAPI at /api/v1/openapi.json) and operations routes. */
export async function buildHttp(deps: HttpDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as unknown as FastifyBaseLogger,
    // Per-request lines would dominate the log at ingest rates; latency goes to the metrics histogram instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    ajv: { customOptions: { allErrors: true, coerceTypes: 'array', removeAdditional: false, useDefaults: true } },
    return503OnClosing: true,
    frameworkErrors,
    // Signed tokens in tracking links (/u, /o, /c) are longer than the default 100 characters per path parameter.
    routerOptions: { maxParamLength: 1024 },
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  app.addHook('onResponse', async (request, reply) => {
    deps.metrics.requestSeconds.observe(
      { route: request.routeOptions.url ?? 'unmatched', method: request.method, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Tandem API', version: '1', description: 'Collection (/v1, write key) and administration (/api/v1, admin token) API of Tandem.' },
      components: {
        securitySchemes: {
          writeKey: { type: 'http', scheme: 'basic', description: 'The source write key as user name, empty password.' },
          adminToken: { type: 'http', scheme: 'bearer' },
        },
      },
    },
    transform: ({ schema, url }) => {
      const security = url.startsWith('/v1/') ? [{ writeKey: [] }] : url.startsWith('/api/v1/') ? [{ adminToken: [] }] : undefined;
      return { schema: { ...(schema ?? {}), ...(security ? { security } : {}) } as typeof schema, url };
    },
  });

  await app.register(opsRoutes, { metrics: deps.metrics, ready: deps.ready });
  await app.register(collectRoutes, deps.collect);
  for (const plugin of deps.publicPlugins ?? []) await app.register(plugin);
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(
    async (admin) => {
      adminAuth(admin, deps.store, deps.sessions);
      await admin.register(sourcesRoutes, { store: deps.store, clock: deps.clock, onChange: deps.onSourcesChange });
      await admin.register(eventsRoutes, { store: deps.store, stage: deps.stage, mask: deps.mask });
      admin.get<{ Querystring: { limit?: number; before?: number } }>(
        '/audit',
        { schema: { summary: 'Audit log, newest first; paged by `before` (the last id of the previous page)', tags: ['audit'], querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })), before: Type.Optional(Type.Integer({ description: 'Paging: only entries with an id below this.' })) }) } },
        async (req) => ({ data: await deps.store.audit.list(req.workspaceId, req.query.limit ?? 100, req.query.before) }),
      );
      for (const plugin of deps.adminPlugins) await admin.register(plugin);
    },
    { prefix: '/api/v1' },
  );
  return app as unknown as FastifyInstance;
}
