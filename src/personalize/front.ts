/**
 * POST /v1/personalize on the front thread of `tandem start` (docs/personalization.md#threads): answered beside
 * collection, on the thread with normal priority, without the loopback hop to the core thread and without waiting
 * behind a pipeline turn. It reads store.db on a connection of its own (query_only: WAL readers never block the
 * core's writer nor wait for it) and sends every write to the core, which stays the database's one writer.
 */
import type { Collector } from '../collect/collector.js';
import type { Clock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import type { Log } from '../core/ports/log.js';
import type { Source, Store } from '../core/ports/store.js';
import { LoadShare } from '../core/stage-loop.js';
import { ACTIVE_RULES_KEY, compileIdentityRules, IDENTITY_RULES_KIND, type IdentityRules, type IdentityRulesBody } from '../identity/rules.js';
import { LeanProfiles, sourceKeysOf } from '../profiles/lean-view.js';
import { personalizeRoutes } from '../server/personalize-routes.js';
import { openSqliteApplyStore } from '../storage/sqlite/apply-store.js';
import { openSqliteCatalogStore } from '../storage/sqlite/catalog-store.js';
import { openSqlite } from '../storage/sqlite/database.js';
import { openSqliteIdentityStore } from '../storage/sqlite/identity-store.js';
import { openSqlitePersonalizeStore } from '../storage/sqlite/personalize-store.js';
import { openSqlitePrivacyStore } from '../storage/sqlite/privacy-store.js';
import { GeoDatabase } from './geo.js';
import { Personalizer } from './personalizer.js';
import { RelayedPersonalizeStore, type PersonalizeWrite, type RelayedReward } from './relayed-store.js';

/** Front to core: writes to apply in order (acknowledged with their seq). */
export type PersonalizeToCore = { op: 'personalizeWrites'; seq: number; writes: PersonalizeWrite[] };
/** Core to front: what the front's personalizer must hear. */
export type PersonalizeFromCore =
  | { op: 'personalizeAck'; seq: number }
  | { op: 'personalizeRewards'; rewards: RelayedReward[] }
  | { op: 'personalizeChanged'; workspaceId: string; kind?: string; key?: string; deleted?: boolean };

export interface FrontPersonalizeDeps {
  config: Config;
  /** store.db. */
  file: string;
  /** The front's store (definitions, sources). */
  store: Pick<Store, 'definitions' | 'sources'>;
  collector: Collector;
  log: Pick<Log, 'append'>;
  clock: Clock;
  sourceByWriteKey(writeKey: string): Promise<Source | undefined>;
  send(m: PersonalizeToCore): void;
  onError(message: string): void;
}

export interface FrontPersonalize {
  personalizer: Personalizer;
  store: RelayedPersonalizeStore;
  /** The Fastify plugin with POST /v1/personalize. */
  routes: ReturnType<typeof personalizeRoutes>;
  /** Handles a message from the core; false when it is not one of personalize's. */
  receive(m: { op: string }): boolean;
  /** Sends what is still queued to the core (before the core closes) and closes the connection. */
  close(): void;
}

export function frontPersonalize(deps: FrontPersonalizeDeps): FrontPersonalize {
  const db = openSqlite(deps.file, 'normal');
  // The core thread created and migrated every table before the front starts: opening the stores only reads.
  const identity = openSqliteIdentityStore(db);
  const apply = openSqliteApplyStore(db);
  const privacy = openSqlitePrivacyStore(db);
  const catalogRows = openSqliteCatalogStore(db);
  const reader = openSqlitePersonalizeStore(db);
  db.pragma('query_only = ON');

  const store = new RelayedPersonalizeStore(reader, (seq, writes) => deps.send({ op: 'personalizeWrites', seq, writes }));
  const personalizer = new Personalizer({
    definitions: deps.store.definitions,
    profiles: new LeanProfiles({ identity, apply, privacy, rules: identityRules(deps.store.definitions), sourceKeys: sourceKeysOf(deps.store.sources) }),
    // Rows read per request (a point lookup each, remembered for the request): a row changed on the core is seen
    // by the next call, with no cache to invalidate across threads.
    catalogs: (workspaceId) => {
      const seen = new Map<string, Record<string, unknown> | undefined>();
      return {
        get(catalog, key) {
          const id = `${catalog}\u0000${key}`;
          if (!seen.has(id)) seen.set(id, catalogRows.get(workspaceId, catalog, key));
          return seen.get(id);
        },
      };
    },
    store,
    clock: deps.clock,
    geo: deps.config.personalize.geoDatabase ? GeoDatabase.fromFile(deps.config.personalize.geoDatabase) : undefined,
    onError: deps.onError,
  });
  personalizer.start();

  return {
    personalizer,
    store,
    routes: personalizeRoutes({ personalizer, collector: deps.collector, log: deps.log, clock: deps.clock, load: new LoadShare(1), sourceByWriteKey: deps.sourceByWriteKey }),
    receive(m) {
      const message = m as PersonalizeFromCore;
      switch (message.op) {
        case 'personalizeAck':
          store.acknowledged(message.seq);
          return true;
        case 'personalizeRewards':
          personalizer.reward(message.rewards);
          return true;
        case 'personalizeChanged':
          personalizer.changed(message.workspaceId, message.kind, message.key, message.deleted);
          return true;
        default:
          return false;
      }
    },
    close() {
      personalizer.stop();
      db.close();
    },
  };
}

/**
 * The workspace's identity rules (identifier normalisation, trait survivorship), compiled again only when their
 * definition's version changes: one indexed read per call instead of a message from the core on every change.
 */
function identityRules(definitions: Store['definitions']): (workspaceId: string) => Promise<IdentityRules> {
  const compiled = new Map<string, { version: number; rules: IdentityRules }>();
  return async (workspaceId) => {
    const stored = await definitions.get<IdentityRulesBody>(workspaceId, IDENTITY_RULES_KIND, ACTIVE_RULES_KEY);
    const version = stored?.version ?? 0;
    let c = compiled.get(workspaceId);
    if (!c || c.version !== version) compiled.set(workspaceId, (c = { version, rules: compileIdentityRules(stored?.body ?? { key: ACTIVE_RULES_KEY }) }));
    return c.rules;
  };
}
