import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { CollectPool } from './collect/collect-pool.js';
import { Collector } from './collect/collector.js';
import { Quarantine } from './collect/quarantine/quarantine.js';
import { TrackingPlans } from './collect/tracking-plan/check.js';
import { RateLimiter } from './collect/rate-limit.js';
import { BacklogGuard } from './collect/backlog.js';
import { EVENTS_CONSUMER } from './events/events-stage.js';
import { systemClock, type Clock } from './core/clock.js';
import type { Config } from './core/config.js';
import { parseDuration } from './core/duration.js';
import { newSecret, sha256 } from './core/ids.js';
import type { Log } from './core/ports/log.js';
import type { Store } from './core/ports/store.js';
import type { Warehouse } from './core/ports/warehouse.js';
import { LoadShare } from './core/stage-loop.js';
import { EventsStage } from './events/events-stage.js';
import { WarehouseSink } from './events/warehouse-sink.js';
import { Accounts } from './accounts/accounts.js';
import { IdentityGraphEditor } from './identity/graph-edits.js';
import { ResolveStage } from './identity/resolve-stage.js';
import { ActiveIdentityRules } from './identity/rules.js';
import { Profiles } from './profiles/profiles.js';
import { identityRulesRoutes } from './server/identity-rules-routes.js';
import { identityGraphRoutes } from './server/identity-graph-routes.js';
import { accountsRoutes } from './server/accounts-routes.js';
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
import { openLog } from './storage/open-log.js';
import { ApplyStage, type CommittedOutputs, type FactsProvider } from './apply/apply-stage.js';
import { ProfileFactsCache, ProfileFactsReader } from './apply/profile-facts.js';
import { DefinitionRegistry } from './apply/registry.js';
import { Audiences } from './audiences/audiences.js';
import { WarehouseConditions } from './audiences/warehouse-inputs.js';
import { audiencesRoutes } from './server/audiences-routes.js';
import { traitsRoutes } from './server/traits-routes.js';
import { backfillsRoutes } from './server/backfills-routes.js';
import { streamingTraits } from './apply/traits.js';
import { openSqliteApplyStore } from './storage/sqlite/apply-store.js';
import { ProfileMirror } from './audiences/profile-mirror.js';
import { SqlTraits } from './apply/sql-traits.js';
import { Counter } from 'prom-client';
import { openSqlite } from './storage/sqlite/database.js';
import { openSqliteStore } from './storage/sqlite/store.js';
import { sourceLookup } from './collect/source-lookup.js';
import { BackgroundCheckpoints } from './storage/sqlite/checkpointer.js';
import { Catalogs } from './catalogs/catalogs.js';
import { Delivery } from './delivery/delivery.js';
import { openSqliteCatalogStore } from './storage/sqlite/catalog-store.js';
import { openSqliteDeliveryStore } from './storage/sqlite/delivery-store.js';
import { catalogsRoutes } from './server/catalogs-routes.js';
import { channelsRoutes } from './server/channels-routes.js';
import { deliveriesRoutes } from './server/deliveries-routes.js';
import { templatesRoutes } from './server/templates-routes.js';
import { trackingLinksRoutes } from './server/tracking-links-routes.js';
import { afterCommit, appliedEventsInput, applyAudienceMembers, deliveryOutbox, logTraitWriter, profileReader, sqlitePerformers, storedHistory } from './journeys/adapters.js';
import { createJourneys, type Journeys } from './journeys/journeys.js';
import { journeysRoutes } from './server/journeys-routes.js';
import { Experiments } from './experiments/experiments.js';
import { experimentsRoutes } from './server/experiments-routes.js';
import { createWorkspaceKinds } from './workspace/kinds.js';
import { WorkspaceService } from './workspace/workspace.js';
import { workspaceRoutes } from './server/workspace-routes.js';
import { versionsRoutes } from './server/versions-routes.js';
import { Analytics } from './analytics/analytics.js';
import { analyticsRoutes } from './server/analytics-routes.js';
import { openSqliteSpendStore } from './storage/sqlite/spend-store.js';
import { Operations } from './operations/operations.js';
import { operationsRoutes } from './server/operations-routes.js';
import { openSqliteOperationsStore } from './storage/sqlite/operations-store.js';
import { Models } from './models/models.js';
import { modelsRoutes } from './server/models-routes.js';
import { openSqliteModelStore } from './storage/sqlite/model-store.js';
import { modelSendTimes } from './journeys/best-time.js';
import { Metadata, observeApplyCommits } from './metadata/metadata.js';
import { metadataRoutes } from './server/metadata-routes.js';
import { Personalizer, type PersonalizerDeps } from './personalize/personalizer.js';
import { LeanProfiles, sourceKeysOf } from './profiles/lean-view.js';
import { GeoDatabase } from './personalize/geo.js';
import { personalizeAdminRoutes, personalizeRoutes } from './server/personalize-routes.js';
import { openSqlitePersonalizeStore } from './storage/sqlite/personalize-store.js';
import { openSqliteUsersStore } from './storage/sqlite/users-store.js';
import { Users } from './users/users.js';
import { attributeAuditToCaller } from './users/caller-context.js';
import { usersRoutes } from './server/users-routes.js';
import { secretsRoutes } from './server/secrets-routes.js';
import { loadMasterKey } from './secrets/crypto.js';
import { Secrets } from './secrets/secrets.js';
import { openSqliteSecretsStore } from './storage/sqlite/secrets-store.js';
import { consoleRoutes } from './server/console-routes.js';
import { Transforms } from './transforms/transforms.js';
import { Migrations } from './migrations/migrations.js';
import { migrationsRoutes } from './server/migrations-routes.js';
import { openSqliteMigrationStore } from './storage/sqlite/migration-store.js';
import { DestinationGuard } from './network/destination-guard.js';

export const DEFAULT_WORKSPACE = 'default';

export interface AppOptions {
  config: Config;
  clock?: Clock;
  logger?: Logger;
  /** Admin token to accept (else TANDEM_ADMIN_TOKEN, else one is generated on first start). */
  adminToken?: string;
  /** Node.js process metrics on /metrics (false on the core thread: the front reports them for the process). */
  processMetrics?: boolean;
  /** Told of changes that the front thread's caches hold (src/server/front.ts), when collection is answered there. */
  front?: { sourcesChanged(): void; plansChanged(workspaceId: string): void; personalize?: PersonalizerDeps['relay'] };
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
  /** The apply stage: computed traits, audience memberships and their timers, per profile. */
  apply: ApplyStage;
  /** SQL traits on their schedule (src/apply/sql-traits.ts). */
  sqlTraits: SqlTraits;
  /** The profiles' facts, values and memberships copied to the warehouse for SQL (src/audiences/profile-mirror.ts). */
  mirror: ProfileMirror;
  /** Privacy operations: erasure, export, subscriptions. */
  privacy: Privacy;
  /** Business data tables (CatalogLookup for conditions and templates; row-change listeners). */
  catalogs: Catalogs;
  /** Outbox, dispatcher, channels, templates, tracking links (docs/delivery.md). */
  delivery: Delivery;
  /** Journeys (docs/journeys.md): follow the apply stage, enqueue into the delivery outbox in their own transaction. */
  journeys: Journeys;
  /** What conditions read of recently applied profiles, kept in memory (src/apply/profile-facts.ts). */
  profileFacts: ProfileFactsCache;
  /** Unmerge and blocked identifiers; onProfilesRecomputed() tells listeners which profiles a recompute changed. */
  identityGraph: IdentityGraphEditor;
  /** Workspace as code: plan, apply, export, versions, rollback (docs/workspace.md). */
  workspace: WorkspaceService;
  /** Series, signals, monitors, alert rules, incidents, silences, flags (docs/operations.md). */
  operations: Operations;
  /** Lifetime value, propensity and send-time models trained on the warehouse (docs/models.md). */
  models: Models;
  /** Experiments: assignment, holdouts, decide nodes, results from the warehouse (docs/experiments.md). */
  experiments: Experiments;
  /** Observed schema, data dictionary, lineage and governance hooks (docs/metadata.md). */
  metadata: Metadata;
  /** POST /v1/personalize: exposable profile parts and decisions, with their log and bandit models (docs/personalization.md). */
  personalizer: Personalizer;
  /** Event functions, webhook sources and SQL models (docs/transformations.md). */
  transforms: Transforms;
  /** Data migrations: renames and retypes of the history with their definitions, bulk trait files (docs/migrations.md). */
  migrations: Migrations;
  /** Stored secrets, sealed under the master key (docs/secrets.md). */
  secrets: Secrets;
  /** Secrets created on this start, shown once: a generated admin token, the default source's write key. */
  firstStart: { adminToken?: string; writeKey?: string };
  listen(): Promise<string>;
  /** The address users reach the server at (links in messages and alerts); listen() sets it, the front thread too. */
  reachableAt(url: string): void;
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
  const checkpoints = new BackgroundCheckpoints(join(config.dataDir, 'store.db'), (message) => logger.error(message));
  const store = openSqliteStore(db, clock);
  // Metadata (docs/metadata.md): the observed schema in memory, flushed to store.db every few seconds.
  const metadata = new Metadata({ db, store, clock, onError: (message) => logger.warn(message) });
  const log = await openLog(config);
  const warehouse = await DuckDbWarehouse.open(join(config.dataDir, 'warehouse.duckdb'), join(config.dataDir, 'store.db'));
  const metrics = createMetrics({ processMetrics: options.processMetrics ?? true });
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
  if (options.front) plans.onChange((workspaceId) => options.front?.plansChanged(workspaceId));
  const dedupWindowMs = parseDuration(config.collect.dedupWindow, 'collect.dedupWindow');
  // Collection first: under request load the background stages take at most this share of the thread.
  const load = new LoadShare(config.pipeline.backgroundShare);
  const events = new EventsStage(log, store, clock, metrics, dedupWindowMs, load, parseDuration(config.storage.logRetention, 'storage.logRetention'));
  const sink = new WarehouseSink(warehouse, load);
  // Identity shares store.db so that the resolve stage commits its effects and its position together.
  const identity = openSqliteIdentityStore(db);
  const identityRules = new ActiveIdentityRules(store.definitions, identity);
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

  // Apply (docs/audiences.md): follows the resolve stage in store.db, committing its effects with its position.
  // Every apply commit (its position moved) wakes the journeys stage, which reads only events applied so far.
  let wakeJourneys = () => undefined as void;
  const applyStore = afterCommit(observeApplyCommits(openSqliteApplyStore(db), (commit) => { if (config.metadata.observe) metadata.onApplyCommit(commit); }), () => wakeJourneys());
  const registry = new DefinitionRegistry(store, (message) => logger.warn(message));
  registry.useTraits(streamingTraits);
  // Changed audiences and traits are backfilled beside their active version, which answers until the switch.
  registry.useVersions(applyStore);
  // What conditions read of a profile (traits, ranked identifiers, consent): a lean read, not the full view.
  // Kept in memory per profile until the resolve stage, an API change, an erasure or an identity edit changes them.
  const factsReader = new ProfileFactsReader({ identity, privacy: openSqlitePrivacyStore(db), rules: (ws) => identityRules.for(ws), sourceKeys: sourceKeysOf(store.sources) });
  const factsCache = new ProfileFactsCache(factsReader, (ws) => identityRules.for(ws), config.pipeline.profileStateCache);
  resolve.subscribe((resolved) => factsCache.onResolved(resolved));
  privacy.onSubscriptionChange((workspaceId, profileId) => factsCache.invalidate(workspaceId, [profileId]));
  privacy.hooks.push({ name: 'profile facts cache', erase: async (workspaceId, profileIds) => (factsCache.invalidate(workspaceId, profileIds), 0) });
  const facts: FactsProvider = (workspaceId, id) => factsCache.read(workspaceId, id);
  // The warehouse mirror and the SQL side: backfills are answered by SQL, previews and SQL traits are one query.
  const mirror = new ProfileMirror(warehouse, applyStore, facts, load, (message) => logger.error(message), (workspaceId, id): CommittedOutputs | undefined => apply.committedOutputs(workspaceId, id));
  const conditions = new WarehouseConditions(warehouse, mirror, () => sink.drain());
  const disagreements = new Counter({ name: 'tandem_apply_backfill_disagreements_total', help: 'Profiles whose replayed streaming answer disagreed with the SQL answer of a backfill (a bug).', labelNames: ['definition'] as const, registers: [metrics.registry] });
  const apply = new ApplyStage({
    store: applyStore, log, clock, registry, facts, load, onError: (message) => logger.error(message),
    batch: conditions, onDisagreement: (definition) => disagreements.inc({ definition }), cacheProfiles: config.pipeline.profileStateCache,
    factsChanged: (workspaceId, profileIds) => factsCache.invalidate(workspaceId, profileIds),
  });
  resolve.subscribe(() => apply.wake());
  profiles.extend(async (workspaceId, view) => ({ computed: applyStore.computed(workspaceId, view.id), audiences: [...applyStore.memberships(workspaceId, view.id).keys()].sort() }));
  const audiences = new Audiences({ store, apply, applyStore, conditions, clock });
  const sqlTraits = new SqlTraits({
    store, applyStore, apply, clock, onError: (message) => logger.warn(message),
    warehouse: {
      run: async (workspaceId, q) => {
        await conditions.sync();
        return warehouse.inputsQuery({ workspaceId, sql: q.sql, params: q.params, readOnly: true });
      },
      interrupt: () => warehouse.interrupt(),
    },
  });
  privacy.hooks.push({ name: 'warehouse mirror', erase: async (workspaceId, profileIds) => (await mirror.erase(workspaceId, profileIds), profileIds.length) });
  // Unmerge and blocking recompute profiles inside the same exclusive turn as erasure: docs/decisions/0007.
  const identityGraph = new IdentityGraphEditor({ identity, rules: identityRules, pipeline: { exclusive: (fn) => resolve.exclusive(fn) }, audit: store.audit, clock });
  // A recompute rewrites which events belong to which profile: the apply stage re-derives those profiles' states.
  identityGraph.onProfilesRecomputed((workspaceId, profileIds) => factsCache.invalidate(workspaceId, profileIds));
  identityGraph.onProfilesRecomputed((workspaceId, profileIds) => void apply.recompute(workspaceId, profileIds).catch((error: Error) => logger.error(`recomputing profiles after an identity edit failed: ${error.message}`)));

  // Catalogs and the delivery tables share store.db: a journey step enqueues inside its own transaction.
  const catalogs = new Catalogs(openSqliteCatalogStore(db), store.definitions, clock, (message) => logger.error(message));
  const deliveryStore = openSqliteDeliveryStore(db);
  // Stored secrets (docs/secrets.md): sealed under the master key in store.db, opened in memory.
  const master = loadMasterKey(process.env, config.secrets.keyFile ?? join(config.dataDir, 'master.key'));
  if (master.created) logger.warn(`created a master key for stored secrets at ${master.origin}; back it up apart from the data, or set TANDEM_MASTER_KEY instead (docs/secrets.md)`);
  const secrets = new Secrets(openSqliteSecretsStore(db), master, clock);
  // The SSRF guard (src/network): every user-configured URL the server fetches goes through it.
  const destinations = new DestinationGuard(config.network.allowPrivate);
  const delivery = new Delivery({ destinations, governance: metadata, secrets,
    store: deliveryStore, definitions: store.definitions, profiles, catalogs, log, clock, load, config: config.delivery,
    baseUrl: `http://${config.host}:${config.port}`, dataDir: config.dataDir, onError: (message) => logger.error(message),
  });
  privacy.hooks.push({ name: 'delivery', erase: async (workspaceId, profileIds) => deliveryStore.eraseProfiles(workspaceId, profileIds) });

  // Journeys (docs/journeys.md): their tables share store.db with the delivery outbox, so a step's state and its
  // messages commit together. They see an event only after the apply stage has applied it (computed traits and
  // memberships are current when a branch reads them).
  // Experiments (docs/experiments.md): their exposure and decision tables share store.db with the journey tables, so
  // a split's exposure and a decide node's decision commit with the step; results are read from the warehouse.
  const experiments = new Experiments({
    db, definitions: store.definitions, clock, log, load, profiles, reader: profileReader(profiles), onError: (message) => logger.error(message),
    warehouse: {
      run: async (workspaceId, sql, params) => {
        await conditions.sync();
        return warehouse.inputsQuery({ workspaceId, sql, params, readOnly: true });
      },
    },
  });
  await experiments.prepare(DEFAULT_WORKSPACE);
  privacy.hooks.push({ name: 'experiments', erase: async (workspaceId, profileIds) => experiments.eraseProfiles(workspaceId, profileIds) });
  // Model runs (store.db) are read by send nodes with `at: { bestTimeWithin, model }` (src/journeys/best-time.ts).
  const modelRuns = openSqliteModelStore(db);
  const journeys = createJourneys({
    sendTimes: modelSendTimes(modelRuns),
    experiments: experiments.port,
    db, store, clock, load, profiles: profileReader(profiles), outbox: deliveryOutbox(delivery.outbox), catalogs: (ws) => catalogs.lookup(ws),
    inputs: appliedEventsInput(identity, DEFAULT_WORKSPACE, () => applyStore.position()), history: storedHistory(identity),
    audiences: applyAudienceMembers(applyStore), performers: sqlitePerformers(db), traits: logTraitWriter(log, profiles, clock),
    storeOptions: { countDeliveries: true }, registry: metrics.registry, onError: (message) => logger.error(message),
  });
  await journeys.prepare(DEFAULT_WORKSPACE);
  wakeJourneys = () => journeys.stage.wake();
  apply.subscribe(() => journeys.stage.wake());
  apply.subscribe((changes) => {
    const now = clock.now();
    for (const c of changes) metrics.membershipDelay.observe(Math.max(0, now - c.at) / 1000);
  });
  catalogs.onRowChangedDurably((workspaceId, catalog, key, before, after) => journeys.catalogChanged(workspaceId, catalog, key, before, after));
  privacy.hooks.push({ name: 'journeys', erase: async (workspaceId, profileIds) => journeys.eraseProfiles(workspaceId, profileIds) });

  // Operations (docs/operations.md): series fed by the events stage's listener and a per-minute tick on the Clock.
  let baseUrl = `http://${config.host}:${config.port}`;
  const operations = new Operations({
    destinations, secrets, store: openSqliteOperationsStore(db), definitions: store.definitions, audit: store.audit, clock, registry: metrics.registry,
    retentionMs: parseDuration(config.storage.seriesRetention, 'storage.seriesRetention'), channels: delivery.channels, baseUrl: () => baseUrl,
    onError: (message) => logger.warn(message),
  });
  events.subscribe((stored) => operations.onStored(stored));
  if (config.metadata.observe) events.subscribe((stored) => metadata.onStored(stored));

  // Models (docs/models.md) train in the slow loop on the warehouse, read only, like SQL traits; their per-profile
  // values go through the apply stage as a batch-only computed trait.
  const models = new Models({
    store, runs: modelRuns, apply, clock, onError: (message) => logger.warn(message),
    warehouse: {
      run: async (workspaceId, sql, params) => {
        await conditions.sync();
        return warehouse.inputsQuery({ workspaceId, sql, params, readOnly: true });
      },
    },
  });

  // Personalization (docs/personalization.md): answered from the fast loop's state; rewards from stored events.
  const personalizer = new Personalizer({
    definitions: store.definitions, catalogs: (ws) => catalogs.lookup(ws), store: openSqlitePersonalizeStore(db), clock,
    profiles: new LeanProfiles({ identity, apply: applyStore, privacy: openSqlitePrivacyStore(db), rules: (ws) => identityRules.for(ws), sourceKeys: sourceKeysOf(store.sources) }),
    geo: config.personalize.geoDatabase ? GeoDatabase.fromFile(config.personalize.geoDatabase) : undefined,
    onError: (message) => logger.warn(message),
    // Under `tandem start` the front thread answers /v1/personalize (src/personalize/front.ts).
    relay: options.front?.personalize,
  });
  events.subscribe((stored) => personalizer.onStored(stored));
  privacy.hooks.push({ name: 'personalize', erase: async (workspaceId, profileIds) => personalizer.eraseProfiles(workspaceId, profileIds) });

  // Transformations (docs/transformations.md): event functions run in the events stage before storage; SQL models
  // materialise in the warehouse and may feed a computed trait (through the apply stage) or a catalog.
  const transforms = new Transforms({
    store, clock, events, collector, log, quarantine, catalogs, maxDepth: config.collect.maxDepth, defaultWorkspace: DEFAULT_WORKSPACE, registry: metrics.registry,
    warehouse, sync: () => conditions.sync(), apply, secrets, onError: (message) => logger.warn(message),
  });

  const sources = sourceLookup(store, plans);
  const sourceByWriteKey = sources.byWriteKey;
  const sourcesChanged = () => {
    sources.clear();
    transforms.functions.changed(DEFAULT_WORKSPACE);
    options.front?.sourcesChanged();
  };
  // Workspace as code: every definable kind with the same validation as its routes and its side effects after a commit.
  const workspace = new WorkspaceService({
    store, clock, onError: (message) => logger.error(message),
    advise: (workspaceId, changes, proposed) => metadata.advise(workspaceId, changes, proposed),
    kinds: createWorkspaceKinds({
      plans, identityRules, apply, sqlTraits, delivery, catalogs, journeys, sourcesChanged, now: () => clock.now(), operations, models, experiments, personalize: personalizer, metadata, destinations,
      transforms: transforms.effects,
      aliases: {
        async changed(workspaceId, body) {
          await plans.prepare(workspaceId);
          plans.aliasesChanged(workspaceId, body);
        },
      },
    }),
  });
  // Data migrations (docs/migrations.md): they rewrite store.db's history and the warehouse copy, and update
  // definitions through the workspace service, so each is one workspace version.
  const migrations = new Migrations({
    store, history: openSqliteMigrationStore(db), copy: warehouse, workspace, clock, apply, profiles, onError: (message) => logger.error(message),
    pipeline: { drain: async () => { await events.drain(); await resolve.drain(); }, exclusive: (fn) => resolve.exclusive(fn) },
    collect: async (source, messages, receivedAt) => collector.collect(source, { kind: 'import' }, { batch: messages }, receivedAt),
    async migrationsSource(workspaceId) {
      const existing = await store.sources.get(workspaceId, 'migrations');
      if (existing) return existing;
      const { source } = await createSource(store, workspaceId, { key: 'migrations', name: 'Data migrations' }, { author: 'tandem', message: 'the source of bulk trait updates (docs/migrations.md)' });
      sourcesChanged();
      return source;
    },
  });
  // Console users and sessions (docs/console.md); audit entries written during a request name its caller.
  attributeAuditToCaller(store.audit);
  const sessionTtlMs = 12 * 3_600_000;
  const users = new Users({ store: openSqliteUsersStore(db), clock, sessionTtlMs });
  const http = await buildHttp({
    logger,
    sessions: users,
    store,
    clock,
    metrics,
    stage: events,
    mask: metadata,
    collect: {
      collector,
      pool,
      log,
      limiter: new RateLimiter(clock),
      load,
      clock,
      config: config.collect,
      metrics,
      sourceByWriteKey,
      backlog: new BacklogGuard(log, (p) => store.events.offset(EVENTS_CONSUMER, p), config.collect.maxBacklog, clock),
    },
    ready: async () => (await store.workspaces.get(DEFAULT_WORKSPACE)) !== undefined,
    onSourcesChange: sourcesChanged,
    adminPlugins: [
      // First, and in the admin context: its onSend hook adds deprecation warnings to the other kinds' saves.
      metadataRoutes({ store, clock, metadata }),
      (admin) => trackingPlansRoutes(admin, { store, clock, plans }),
      (admin) => quarantineRoutes(admin, { store, quarantine }),
      (admin) => channelsRoutes(admin, { store, clock, delivery }),
      (admin) => templatesRoutes(admin, { store, clock, delivery, profiles }),
      (admin) => catalogsRoutes(admin, { store, clock, catalogs }),
      (admin) => deliveriesRoutes(admin, { store, delivery }),
      (admin) => journeysRoutes(admin, { journeys, profileExists: async (ws, id) => (await profiles.get(ws, id)) !== undefined }),
      (admin) => experimentsRoutes(admin, { store, clock, experiments }),
      audiencesRoutes({ audiences, clock }),
      traitsRoutes({ store, clock, apply, sqlTraits }),
      backfillsRoutes({ store, applyStore, clock }),
      profilesRoutes({ profiles, identity, sources: store.sources, mask: metadata }),
      privacyRoutes({ privacy, store, clock, mask: metadata }),
      identityRulesRoutes({ store, clock, onChange: (workspaceId) => identityRules.invalidate(workspaceId) }),
      identityGraphRoutes({ store, identity, rules: identityRules, editor: identityGraph }),
      accountsRoutes({ accounts: new Accounts(identity, store.sources) }),
      workspaceRoutes({ workspace }),
      versionsRoutes({ workspace }),
      migrationsRoutes({ migrations }),
      // Reports (docs/analytics.md) read the warehouse after copying what the pipeline has resolved.
      analyticsRoutes({ analytics: new Analytics({ warehouse, sync: () => conditions.sync(), spend: openSqliteSpendStore(db), clock }) }),
      (admin) => operationsRoutes(admin, { store, clock, operations, destinations }),
      (admin) => modelsRoutes(admin, { store, clock, models }),
      transforms.adminRoutes,
      personalizeAdminRoutes({ store, clock, personalizer }),
      usersRoutes({ users, store, clock, sessionTtlMs, signInRate: config.network.signInRateLimit }),
      secretsRoutes({ secrets, store, clock }),
    ],
    publicPlugins: [(app) => trackingLinksRoutes(app, { delivery, privacy }), (app) => consoleRoutes(app), personalizeRoutes({ personalizer, collector, log, clock, load, sourceByWriteKey }), transforms.publicRoutes],
  });

  events.start();
  sink.start();
  resolve.start();
  apply.start();
  mirror.start();
  sqlTraits.start();
  delivery.start();
  journeys.start();
  experiments.start();
  operations.start();
  models.start();
  transforms.start();
  metadata.start();
  personalizer.start();
  void privacy.recover();

  const reachableAt = (url: string) => {
    delivery.listening(url);
    baseUrl = url;
  };
  return {
    config, clock, store, log, warehouse, metrics, http, collector, events, sink, resolve, apply, sqlTraits, mirror, privacy, profileFacts: factsCache, identityGraph, catalogs, delivery, journeys, workspace, operations, models, experiments, personalizer, metadata, transforms, migrations, secrets, firstStart,
    async listen() {
      const url = await http.listen({ host: config.host, port: config.port });
      reachableAt(url);
      return url;
    },
    reachableAt,
    async close() {
      await http.close();
      await migrations.idle();
      await pool?.close();
      await events.stop();
      await resolve.stop();
      await journeys.stop();
      await experiments.stop();
      await delivery.stop();
      await sqlTraits.stop();
      await models.stop();
      await transforms.stop();
      personalizer.stop();
      await apply.stop();
      await mirror.stop();
      await sink.stop();
      await privacy.idle();
      await operations.stop();
      metadata.stop();
      await log.close();
      await store.close();
      await checkpoints.close();
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
    out.writeKey = (await createSource(store, DEFAULT_WORKSPACE, { key: 'default', name: 'Default source' }, { author: 'tandem', message: 'first start: the default source' })).writeKey;
  }
  return out;
}
