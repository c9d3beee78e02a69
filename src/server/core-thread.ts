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
import type { PersonalizeFromCore, PersonalizeToCore } from '../personalize/front.js';
import { RelayedWrites } from '../personalize/relayed-store.js';

export interface CoreThreadData {
  entry: string;
  config: Config;
  adminToken?: string;
}

export type ToCore =
  | { op: 'appended' }
  | { op: 'listening'; url: string }
  | { op: 'metrics'; id: number }
  | { op: 'close' }
  | PersonalizeToCore;

export type FromCore =
  | { op: 'ready'; port: number; firstStart: { adminToken?: string; writeKey?: string } }
  | { op: 'sourcesChanged' }
  | { op: 'plansChanged'; workspaceId: string }
  | { op: 'metrics'; id: number; json: unknown[] }
  | { op: 'closed' }
  | PersonalizeFromCore;

const data = workerData as CoreThreadData;
const port = parentPort!;
const send = (m: FromCore) => port.postMessage(m);

if (data.config.pipeline.niceness > 0) lowerThreadPriority(data.config.pipeline.niceness);

// The front answers /v1 itself: no collect threads here, and the pipeline has the whole loop (no request to yield to).
const config: Config = { ...data.config, host: '127.0.0.1', port: 0, collect: { ...data.config.collect, threads: 0 } };
const logger = pino({ level: config.logLevel });
const app = await createApp({
  config,
  adminToken: data.adminToken,
  logger,
  processMetrics: false,
  front: {
    sourcesChanged: () => send({ op: 'sourcesChanged' }),
    plansChanged: (workspaceId) => send({ op: 'plansChanged', workspaceId }),
    // The front answers /v1/personalize and holds the bandit models (src/personalize/front.ts).
    personalize: {
      rewards: (rewards) => send({ op: 'personalizeRewards', rewards }),
      changed: (workspaceId, kind, key, deleted) => send({ op: 'personalizeChanged', workspaceId, kind, key, deleted }),
    },
  },
});
// The front's decision log, reward and model writes: this thread stays store.db's one writer.
const personalizeWrites = new RelayedWrites((writes) => app.personalizer.applyRelayed(writes), (seq) => send({ op: 'personalizeAck', seq }), (message) => logger.warn(message));
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
    case 'personalizeWrites':
      personalizeWrites.receive(m.seq, m.writes);
      return;
    case 'close':
      personalizeWrites.drain();
      await app.close();
      send({ op: 'closed' });
      return;
  }
});
