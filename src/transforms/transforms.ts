import type { SecretSource } from '../secrets/reference.js';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Collector } from '../collect/collector.js';
import type { Quarantine } from '../collect/quarantine/quarantine.js';
import type { CatalogLookup } from '../conditions/model.js';
import type { Clock } from '../core/clock.js';
import type { Log } from '../core/ports/log.js';
import type { Store } from '../core/ports/store.js';
import type { EventsStage } from '../events/events-stage.js';
import { functionsRoutes } from '../server/functions-routes.js';
import { modelsSqlRoutes } from '../server/models-sql-routes.js';
import { webhooksRoutes } from '../server/webhooks-routes.js';
import { EventFunctions } from './event-functions.js';
import { SandboxPool } from './sandbox-pool.js';
import type { TransformsEffects } from './kinds.js';
import { SqlModels, type SqlModelsDeps } from './sql-models.js';
import { WebhookSources } from './webhooks.js';

export interface TransformsDeps {
  store: Store;
  clock: Clock;
  events: Pick<EventsStage, 'transformWith'>;
  collector: Pick<Collector, 'prepare'>;
  /** Webhook payloads a function fails on are logged as quarantine entries. */
  log: Pick<Log, 'partitions' | 'append'>;
  /** Replays of held webhook payloads run the webhook function again. */
  quarantine: Pick<Quarantine, 'rerunWebhooksWith'>;
  catalogs: SqlModelsDeps['catalogs'] & {
    lookup(workspaceId: string): CatalogLookup;
    /** Row changes: the sandboxes keep rows between calls and read a changed one again. */
    onRowChanged?(listener: (workspaceId: string, catalog: string, key: string) => void): void;
  };
  warehouse: SqlModelsDeps['warehouse'];
  sync: SqlModelsDeps['sync'];
  apply: SqlModelsDeps['apply'];
  maxDepth: number;
  defaultWorkspace: string;
  registry?: Registry;
  onError?: (message: string) => void;
  /** Where webhook signature secrets (`{ env }`, `{ secret }`) are read (default: the environment only). */
  secrets?: SecretSource;
}

/** Transformations (docs/transformations.md): event functions, webhook sources and SQL models, wired in one place. */
export class Transforms {
  readonly functions: EventFunctions;
  readonly webhooks: WebhookSources;
  readonly sqlModels: SqlModels;
  readonly effects: TransformsEffects;

  constructor(private readonly deps: TransformsDeps) {
    const catalogs = (ws: string) => deps.catalogs.lookup(ws);
    this.functions = new EventFunctions({ store: deps.store, catalogs, maxDepth: deps.maxDepth, registry: deps.registry, onError: deps.onError });
    deps.events.transformWith((batches) => this.functions.transform(batches));
    this.webhooks = new WebhookSources({ store: deps.store, collector: deps.collector, log: deps.log, catalogs, clock: deps.clock, defaultWorkspace: deps.defaultWorkspace, secrets: deps.secrets });
    deps.quarantine.rerunWebhooksWith((source, held) => this.webhooks.rerun(source, held));
    deps.catalogs.onRowChanged?.((_ws, catalog, key) => SandboxPool.shared().rowsChanged(catalog, key));
    this.sqlModels = new SqlModels({ store: deps.store, warehouse: deps.warehouse, sync: deps.sync, apply: deps.apply, catalogs: deps.catalogs, clock: deps.clock, onError: deps.onError });
    this.effects = {
      functionsChanged: (ws, key) => this.functionChanged(ws, key),
      sqlModels: this.sqlModels,
    };
  }

  /** A function was saved or deleted (also a source: the functions attached to it are looked up again). */
  functionChanged(workspaceId: string, key: string): void {
    this.functions.changed(workspaceId);
    this.webhooks.changed(workspaceId, key);
  }

  adminRoutes = async (admin: FastifyInstance): Promise<void> => {
    await functionsRoutes(admin, { store: this.deps.store, clock: this.deps.clock, catalogs: (ws) => this.deps.catalogs.lookup(ws), changed: (ws, key) => this.functionChanged(ws, key) });
    await modelsSqlRoutes(admin, { store: this.deps.store, clock: this.deps.clock, sqlModels: this.sqlModels });
  };

  publicRoutes = (app: FastifyInstance): Promise<void> => webhooksRoutes(app, { webhooks: this.webhooks });

  start(): void {
    this.sqlModels.start(() => [this.deps.defaultWorkspace]);
  }

  async stop(): Promise<void> {
    await this.sqlModels.stop();
    this.functions.close();
  }
}
