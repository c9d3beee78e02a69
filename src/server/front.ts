/**
 * `tandem start`'s main thread: answers collection (/v1), /healthz, /readyz and /metrics itself and forwards every
 * other request to the core thread (src/server/core-thread.ts), which runs the admin API and the pipeline. A
 * collection request is decoded and checked on a collect thread and appended to the log here, so its latency does
 * not depend on what the pipeline is doing (docs/decisions/0011-front-and-core-threads.md).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import type { Logger } from 'pino';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { BacklogGuard } from '../collect/backlog.js';
import { EVENTS_CONSUMER } from '../events/events-stage.js';
import { CollectPool } from '../collect/collect-pool.js';
import { Collector } from '../collect/collector.js';
import { RateLimiter } from '../collect/rate-limit.js';
import { TrackingPlans } from '../collect/tracking-plan/check.js';
import { systemClock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import { LoadShare } from '../core/stage-loop.js';
import { openSqlite } from '../storage/sqlite/database.js';
import { openLog } from '../storage/open-log.js';
import { openSqliteStore } from '../storage/sqlite/store.js';
import { sourceLookup } from '../collect/source-lookup.js';
import { collectRoutes } from './collect-routes.js';
import type { CoreThreadData, FromCore, ToCore } from './core-thread.js';
import { errorHandler, notFoundHandler, frameworkErrors } from './errors.js';
import { forwarder } from './forward.js';
import { createMetrics } from './metrics.js';
import { opsRoutes } from './ops-routes.js';

/** The paths the front answers itself (personalize too: src/personalize/front.ts); everything else goes to the core thread. */
const FRONT_PATHS = /^\/(?:v1\/(?:identify|track|page|screen|group|alias|batch|import|personalize)|healthz|readyz|metrics)(?:\?|$)/;

export interface Front {
  url: string;
  firstStart: { adminToken?: string; writeKey?: string };
  close(): Promise<void>;
}

/** Starts the core thread, then the front on the configured address. */
export async function startFront(config: Config, logger: Logger, adminToken = process.env.TANDEM_ADMIN_TOKEN): Promise<Front> {
  // Personalization's modules load on this thread while the core thread starts (two loads at once, not one after the other).
  const personalizeModule = import('../personalize/front.js');
  const core = await startCore({ entry: new URL('./core-thread.ts', import.meta.url).href, config, adminToken }, logger);
  const clock = systemClock;
  const store = openSqliteStore(openSqlite(join(config.dataDir, 'store.db'), 'normal'), clock);
  const log = await openLog(config);
  log.onAppend(() => core.send({ op: 'appended' }));
  const plans = new TrackingPlans(store, (message) => logger.warn(message));
  const pool = config.collect.threads > 0
    ? await CollectPool.start(config.collect.threads, { storeFile: join(config.dataDir, 'store.db'), limits: config.collect, partitions: log.partitions })
    : undefined;
  const sources = sourceLookup(store, plans);
  const collector = new Collector(log, plans, config.collect);
  const personalize = (await personalizeModule).frontPersonalize({
    config, file: join(config.dataDir, 'store.db'), store, collector, log, clock, sourceByWriteKey: sources.byWriteKey,
    send: (m) => core.send(m), onError: (message) => logger.warn(message),
  });
  core.on((m) => {
    if (personalize.receive(m)) return;
    if (m.op === 'sourcesChanged') sources.clear();
    if (m.op === 'plansChanged') {
      plans.forget(m.workspaceId);
      pool?.plansChanged(m.workspaceId);
    }
  });
  const metrics = createMetrics();

  const forward = forwarder({ host: '127.0.0.1', port: core.port }, (error) => logger.warn(`forwarding to the core thread failed: ${error.message}`));
  const http = Fastify({
    loggerInstance: logger as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    frameworkErrors,
    serverFactory: (handler) => createServer((req: IncomingMessage, res: ServerResponse) => (FRONT_PATHS.test(req.url ?? '') ? handler(req, res) : forward(req, res))),
  });
  http.setErrorHandler(errorHandler);
  http.setNotFoundHandler(notFoundHandler);
  http.addHook('onResponse', async (request, reply) => {
    metrics.requestSeconds.observe({ route: request.routeOptions.url ?? 'unmatched', method: request.method, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  await http.register(opsRoutes, {
    metrics,
    ready: async () => (await store.workspaces.get('default')) !== undefined,
    // One exposition for the process: the front's counters (collection, process) and the core's (pipeline, admin).
    exposition: async () => AggregatorRegistry.aggregate([await metrics.registry.getMetricsAsJSON(), await core.metrics()] as MetricObjectWithValues<MetricValue<string>>[][]).metrics(),
  });
  await http.register(personalize.routes);
  await http.register(collectRoutes, {
    collector,
    pool,
    log,
    limiter: new RateLimiter(clock),
    load: new LoadShare(1),
    clock,
    config: config.collect,
    metrics,
    sourceByWriteKey: sources.byWriteKey,
    backlog: new BacklogGuard(log, (p) => store.events.offset(EVENTS_CONSUMER, p), config.collect.maxBacklog, clock),
  });
  const url = await http.listen({ host: config.host, port: config.port });
  core.send({ op: 'listening', url });

  return {
    url,
    firstStart: core.firstStart,
    async close() {
      await http.close();
      await pool?.close();
      await log.close();
      // Its last decisions and models go to the core before the core closes.
      personalize.close();
      await core.close();
      await store.close();
    },
  };
}

interface Core {
  port: number;
  firstStart: { adminToken?: string; writeKey?: string };
  send(m: ToCore): void;
  on(listener: (m: FromCore) => void): void;
  metrics(): Promise<unknown[]>;
  close(): Promise<void>;
}

async function startCore(data: CoreThreadData, logger: Logger): Promise<Core> {
  const worker = new Worker(new URL('../core/worker-boot.mjs', import.meta.url), { workerData: data });
  const listeners: ((m: FromCore) => void)[] = [];
  worker.on('message', (m: FromCore) => {
    for (const listener of listeners) listener(m);
  });
  const ready = await new Promise<Extract<FromCore, { op: 'ready' }>>((resolve, reject) => {
    listeners.push((m) => m.op === 'ready' && resolve(m));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the core thread stopped while starting (exit code ${code})`)));
  });
  let closing = false;
  // The core holds the pipeline: without it nothing acknowledged would be processed, so the process stops loudly
  // (a supervisor restarts it; the log keeps everything acknowledged).
  worker.on('error', (error) => {
    logger.fatal({ err: error }, 'the core thread failed; stopping');
    process.exit(1);
  });
  worker.on('exit', (code) => {
    if (closing) return;
    logger.fatal(`the core thread stopped (exit code ${code}); stopping`);
    process.exit(1);
  });
  let nextId = 1;
  const waiting = new Map<number, (json: unknown[]) => void>();
  listeners.push((m) => {
    if (m.op !== 'metrics') return;
    waiting.get(m.id)?.(m.json);
    waiting.delete(m.id);
  });
  return {
    port: ready.port,
    firstStart: ready.firstStart,
    send: (m) => worker.postMessage(m),
    on: (listener) => listeners.push(listener),
    metrics: () =>
      new Promise((resolve) => {
        const id = nextId++;
        waiting.set(id, resolve);
        worker.postMessage({ op: 'metrics', id } satisfies ToCore);
      }),
    async close() {
      closing = true;
      // The app closes its stores and stages on the core thread; then the thread is stopped (a timer left behind
      // by a stage must not keep the process up).
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      await new Promise<void>((resolve) => {
        listeners.push((m) => m.op === 'closed' && resolve());
        worker.once('exit', () => resolve());
        worker.postMessage({ op: 'close' } satisfies ToCore);
      });
      await worker.terminate();
      await exited;
    },
  };
}
