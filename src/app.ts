import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { CollectPool } from './collect/collect-pool.js';
import { Collector } from './collect/collector.js';
import { Quarantine } from './collect/quarantine/quarantine.js';
import { TrackingPlans } from './collect/tracking-plan/check.js';
import { RateLimiter } from './collect/rate-limit.js';
import { systemClock, type Clock } from './core/clock.js';
import type { Config } from './core/config.js';
import { parseDuration } from './core/duration.js';
import { newSecret, sha256 } from './core/ids.js';
import type { Log } from './core/ports/log.js';
import type { Source, Store } from './core/ports/store.js';
import type { Warehouse } from './core/ports/warehouse.js';
import { LoadShare } from './core/stage-loop.js';
import { EventsStage } from './events/events-stage.js';
import { WarehouseSink } from './events/warehouse-sink.js';
import { ResolveStage } from './identity/resolve-stage.js';
import { ActiveIdentityRules } from './identity/rules.js';
import { Profiles } from './profiles/profiles.js';
import { identityRulesRoutes } from './server/identity-rules-routes.js';
import { identityGraphRoutes } from './server/identity-graph-routes.js';
import { profilesRoutes } from './server/profiles-routes.js';
import { Privacy } from './profiles/privacy.js';
import { privacyRoutes } from './server/privacy-routes.js';
import { openSqlitePrivacyStore } from './storage/sqlite/privacy-store.js';
import { openSqliteIdentityStore } from './storage/sqlite/identity-store.js';
import { buildHttp } from './server/http.js';
import { createMetrics, type Metrics } from './server/metrics.js';
import { createSource } from './server/sources-routes.js';
import { quarantineRoutes } from './server/quarantine-routes.js';
import { trackingPlansRoutes } from './server/tracking-plans-routes.js';
import { DuckDbWarehouse } from './storage/duckdb/warehouse.js';
import { SqliteLog } from './storage/sqlite/log.js';
import { openSqlite } from './storage/sqlite/database.js';
import { openSqliteStore } from './storage/sqlite/store.js';

export const DEFAULT_WORKSPACE = 'default';

export interface AppOptions {
  config: Config;
  clock?: Clock;
  logger?: Logger;
  /** Admin token to accept (else TANDEM_ADMIN_TOKEN, else one is generated on first start). */
  adminToken?: string;
}

export interface App {
  config: Config;
  clock: Clock;
  store: Store;
  log: Log;
  warehouse: Warehouse;
  metrics: Metrics;
  http: FastifyInstance;
  collector: Collector;
  events: EventsStage;
  sink: WarehouseSink;
  /** The resolve stage: stored events to profiles (identity graph, traits). */
  resolve: ResolveStage;
  /** Privacy operations: erasure, export, subscriptions. */
  privacy: Privacy;
  /** Secrets created on this start, shown once: a generated admin token, the default source's write key. */
  firstStart: { adminToken?: string; writeKey?: string };
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** The composition root: picks the adapters from configuration and wires the stages. */
export async function createApp(options: AppOptions): Promise<App> {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? pino({ level: config.logLevel });
  mkdirSync(config.dataDir, { recursive: true });

  // store.db holds state derived from the log (recomputed from it after a power cut), so it does not fsync every
  // commit; the log is the durable record and follows storage.sync. See docs/decisions/0003.
  const db = openSqlite(join(config.dataDir, 'store.db'), 'normal');
  const store = openSqliteStore(db, clock);
  const log = new SqliteLog(join(config.dataDir, 'log.db'), config.collect.partitions, config.storage.sync);
  const warehouse = await DuckDbWarehouse.open(join(config.dataDir, 'warehouse.duckdb'), join(config.dataDir, 'store.db'));
  const metrics = createMetrics();
  const firstStart = await bootstrap(store, options.adminToken ?? process.env.TANDEM_ADMIN_TOKEN);

  // Compiled tracking plans, cached per workspace; loaded before a workspace's first message is checked.
  const plans = new TrackingPlans(store, (message) => logger.warn(message));
  await plans.prepare(DEFAULT_WORKSPACE);
  const quarantine = new Quarantine({ store, log, plans, clock, limits: config.collect });
  const collector = new Collector(log, plans, config.collect);
  // Collect threads prepare batches beside the event loop (config collect.threads; 0 keeps it all on the loop).
  const pool = config.collect.threads > 0
    ? await CollectPool.start(config.collect.threads, { storeFile: join(config.dataDir, 'store.db'), limits: config.collect, partitions: log.partitions })
    : undefined;
  if (pool) plans.onChange((workspaceId) => pool.plansChanged(workspaceId));
  const dedupWindowMs = parseDuration(config.collect.dedupWindow, 'collect.dedupWindow');
  // Collection first: under request load the background stages take at most this share of the thread.
  const load = new LoadShare(config.pipeline.backgroundShare);
  const events = new EventsStage(log, store, clock, metrics, dedupWindowMs, load, parseDuration(config.storage.logRetention, 'storage.logRetention'));
  const sink = new WarehouseSink(warehouse, load);
  // Identity shares store.db so that the resolve stage commits its effects and its position together.
  const identity = openSqliteIdentityStore(db);
  const identityRules = new ActiveIdentityRules(store.definitions);
  const resolve = new ResolveStage(store.events, identity, identityRules, clock, load);
  const profiles = new Profiles(identity, identityRules, store.sources);
  events.subscribe(() => resolve.wake());
  // Erasure runs between resolve batches (the graph's one writer) after draining the backlog: docs/decisions/0005.
  const privacy = new Privacy({
    store, privacy: openSqlitePrivacyStore(db), identity, profiles, rules: identityRules, warehouse, log, clock,
    pipeline: { drain: async () => { await events.drain(); await resolve.drain(); }, exclusive: (fn) => resolve.exclusive(fn) },
    onError: (message) => logger.error(message),
  });
  resolve.filterWith(privacy);
  resolve.subscribe((resolved) => privacy.onResolved(resolved));
  profiles.extend(async (workspaceId, view) => ({ subscriptions: await privacy.subscriptions(workspaceId, view) }));

  const sources = new Map<string, Source>();
  const http = await buildHttp({
    logger,
    store,
    clock,
    metrics,
    stage: events,
    collect: {
      collector,
      pool,
      log,
      limiter: new RateLimiter(clock),
      load,
      clock,
      config: config.collect,
      metrics,
      async sourceByWriteKey(writeKey) {
        const hash = sha256(writeKey);
        let source = sources.get(hash);
        if (!source) {
          source = await store.sources.byWriteKeyHash(hash);
          if (source) {
            await plans.prepare(source.workspaceId);
            sources.set(hash, source);
          }
        }
        return source;
      },
    },
    ready: async () => (await store.workspaces.get(DEFAULT_WORKSPACE)) !== undefined,
    onSourcesChange: () => sources.clear(),
    adminPlugins: [
      (admin) => trackingPlansRoutes(admin, { store, clock, plans }),
      (admin) => quarantineRoutes(admin, { store, quarantine }),
      profilesRoutes({ profiles, identity, sources: store.sources }),
      privacyRoutes({ privacy, store, clock }),
      identityRulesRoutes({ store, clock, onChange: (workspaceId) => identityRules.invalidate(workspaceId) }),
      identityGraphRoutes({ store, identity, rules: identityRules }),
    ],
  });

  events.start();
  sink.start();
  resolve.start();
  void privacy.recover();

  return {
    config, clock, store, log, warehouse, metrics, http, collector, events, sink, resolve, privacy, firstStart,
    async listen() {
      return http.listen({ host: config.host, port: config.port });
    },
    async close() {
      await http.close();
      await pool?.close();
      await events.stop();
      await resolve.stop();
      await sink.stop();
      await privacy.idle();
      await log.close();
      await store.close();
      await warehouse.close();
    },
  };
}

/** First start: the default workspace, an admin token and a default source. Secrets are returned once. */
async function bootstrap(store: Store, adminToken: string | undefined): Promise<App['firstStart']> {
  const out: App['firstStart'] = {};
  await store.workspaces.ensure(DEFAULT_WORKSPACE, 'Default workspace');
  if (adminToken) {
    if (!(await store.tokens.workspaceOf(sha256(adminToken)))) await store.tokens.add(DEFAULT_WORKSPACE, 'configured', sha256(adminToken));
  } else if ((await store.tokens.count()) === 0) {
    out.adminToken = newSecret('tdm_');
    await store.tokens.add(DEFAULT_WORKSPACE, 'generated', sha256(out.adminToken));
  }
  if ((await store.sources.list(DEFAULT_WORKSPACE)).length === 0) {
    out.writeKey = (await createSource(store, DEFAULT_WORKSPACE, { key: 'default', name: 'Default source' })).writeKey;
  }
  return out;
}
