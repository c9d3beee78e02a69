/**
 * The core thread of `tandem start`: the whole app (admin API, pipeline stages, delivery, journeys) on its own
 * event loop, serving HTTP on a private loopback port that the front thread forwards to. The front appends
 * collected messages to the log itself and says so here, so no collection request waits behind a pipeline turn
 * (docs/decisions/0011-front-and-core-threads.md).
 */
import { parentPort, workerData } from 'node:worker_threads';
import pino from 'pino';
import { createApp } from '../app.js';
import type { Config } from '../core/config.js';
import { lowerThreadPriority } from '../core/thread-priority.js';

export interface CoreThreadData {
  entry: string;
  config: Config;
  adminToken?: string;
}

export type ToCore =
  | { op: 'appended' }
  | { op: 'listening'; url: string }
  | { op: 'metrics'; id: number }
  | { op: 'close' };

export type FromCore =
  | { op: 'ready'; port: number; firstStart: { adminToken?: string; writeKey?: string } }
  | { op: 'sourcesChanged' }
  | { op: 'plansChanged'; workspaceId: string }
  | { op: 'metrics'; id: number; json: unknown[] }
  | { op: 'closed' };

const data = workerData as CoreThreadData;
const port = parentPort!;
const send = (m: FromCore) => port.postMessage(m);

if (data.config.pipeline.niceness > 0) lowerThreadPriority(data.config.pipeline.niceness);

// The front answers /v1 itself: no collect threads here, and the pipeline has the whole loop (no request to yield to).
const config: Config = { ...data.config, host: '127.0.0.1', port: 0, collect: { ...data.config.collect, threads: 0 } };
const app = await createApp({
  config,
  adminToken: data.adminToken,
  logger: pino({ level: config.logLevel }),
  processMetrics: false,
  front: { sourcesChanged: () => send({ op: 'sourcesChanged' }), plansChanged: (workspaceId) => send({ op: 'plansChanged', workspaceId }) },
});
await app.http.listen({ host: '127.0.0.1', port: 0 });
const address = app.http.server.address();
send({ op: 'ready', port: typeof address === 'object' && address ? address.port : 0, firstStart: app.firstStart });

port.on('message', async (m: ToCore) => {
  switch (m.op) {
    case 'appended':
      app.log.notifyAppended();
      return;
    case 'listening':
      app.reachableAt(m.url);
      return;
    case 'metrics':
      send({ op: 'metrics', id: m.id, json: await app.metrics.registry.getMetricsAsJSON() });
      return;
    case 'close':
      await app.close();
      send({ op: 'closed' });
      return;
  }
});
