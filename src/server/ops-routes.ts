import type { FastifyInstance } from 'fastify';
import type { Metrics } from './metrics.js';

/** /metrics (Prometheus), /healthz (the process answers) and /readyz (storage answers). */
export async function opsRoutes(app: FastifyInstance, deps: { metrics: Metrics; ready: () => Promise<boolean>; exposition?: () => Promise<string> }): Promise<void> {
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    void reply.header('content-type', deps.metrics.registry.contentType);
    return deps.exposition ? deps.exposition() : deps.metrics.registry.metrics();
  });
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    const ready = await deps.ready().catch(() => false);
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready' });
  });
}
