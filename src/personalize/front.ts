/**
 * POST /v1/personalize on the front thread of `tandem start` (docs/personalization.md#threads): answered beside
 * collection, on the thread with normal priority, without the loopback hop to the core thread and without waiting
 * behind a pipeline turn. It reads store.db on a connection of its own (query_only: WAL readers never block the
 * core's writer nor wait for it), keeps what it read (catalog rows, profiles, identity rules, write keys' sources)
 * only until another connection's next commit, and sends every write to the core, which stays the database's one
 * writer.
 */
import type { Collector } from '../collect/collector.js';
import type { Clock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import type { Log } from '../core/ports/log.js';
import type { Source, Store } from '../core/ports/store.js';
import { LoadShare } from '../core/stage-loop.js';
import { ACTIVE_RULES_KEY, compileIdentityRules, IDENTITY_RULES_KIND, type IdentityRules, type IdentityRulesBody } from '../identity/rules.js';
import { LeanProfiles, sourceKeysOf, type LeanProfile } from '../profiles/lean-view.js';
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
import { SnapshotCache } from './snapshot.js';

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
  // A profile's audience keys from the apply stage's profile index alone (it holds the key: a covering read), not
  // the membership rows behind it, which `apply.memberships` reads for their entry times (profiled: 6% of a call).
  const audienceKeys = db.prepare('SELECT audience FROM apply_memberships INDEXED BY apply_memberships_profile WHERE workspace_id = ? AND profile_id = ?').pluck();

  const store = new RelayedPersonalizeStore(reader, (seq, writes) => deps.send({ op: 'personalizeWrites', seq, writes }));
  // Kept between calls until the core commits anything (src/personalize/snapshot.ts): a row or setting changed on
  // the core is read again by the very next call.
  const snapshot = new SnapshotCache(db);
  const rows = snapshot.map<Record<string, unknown> | undefined>();
  const lean = new LeanProfiles({
    identity, apply, privacy, rules: identityRules(deps.store.definitions, snapshot.map()), sourceKeys: sourceKeysOf(deps.store.sources),
    audiences: (workspaceId, profileId) => audienceKeys.all(workspaceId, profileId) as string[],
  });
  // A visitor's calls close together (a page asking for several slots) read the profile once per snapshot.
  const profiles = snapshot.map<Promise<LeanProfile | undefined>>();
  const personalizer = new Personalizer({
    definitions: deps.store.definitions,
    profiles: {
      lookup: (workspaceId, type, value, parts = {}) => {
        const key = `${workspaceId}\u0000${type}\u0000${value}\u0000${parts.subscriptions !== false}`;
        return profiles.get(key, () => {
          const read = lean.lookup(workspaceId, type, value, parts);
          read.catch(() => profiles.delete(key));
          return read;
        });
      },
    },
    catalogs: (workspaceId) => ({
      get: (catalog, key) => rows.get(`${workspaceId}\u0000${catalog}\u0000${key}`, () => catalogRows.get(workspaceId, catalog, key)),
    }),
    beginRead: () => snapshot.refresh(),
    // One commit on the core per message: fewer, larger ones cost the core and the checkpoint far less (pages
    // shared by the rows of one commit are written once), and keep the snapshot above longer.
    writeDelayMs: 100,
    store,
    clock: deps.clock,
    geo: deps.config.personalize.geoDatabase ? GeoDatabase.fromFile(deps.config.personalize.geoDatabase) : undefined,
    onError: deps.onError,
  });
  personalizer.start();
  // The source of a write key, kept like the rest (a source saved or deleted is a commit): the lookup behind it
  // hashes the key on every call (profiled: 3% of a call).
  const sources = snapshot.map<Promise<Source | undefined>>();
  const sourceByWriteKey = (writeKey: string) => {
    snapshot.refresh();
    return sources.get(writeKey, () => {
      const source = deps.sourceByWriteKey(writeKey);
      source.catch(() => sources.delete(writeKey));
      return source;
    });
  };

  return {
    personalizer,
    store,
    routes: personalizeRoutes({ personalizer, collector: deps.collector, log: deps.log, clock: deps.clock, load: new LoadShare(1), sourceByWriteKey }),
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
 * definition's version changes, read again after any commit (no message from the core on every change).
 */
function identityRules(definitions: Store['definitions'], kept: ReturnType<SnapshotCache['map']>): (workspaceId: string) => Promise<IdentityRules> {
  const compiled = new Map<string, { version: number; rules: IdentityRules }>();
  const read = async (workspaceId: string) => {
    const stored = await definitions.get<IdentityRulesBody>(workspaceId, IDENTITY_RULES_KIND, ACTIVE_RULES_KEY);
    const version = stored?.version ?? 0;
    let c = compiled.get(workspaceId);
    if (!c || c.version !== version) compiled.set(workspaceId, (c = { version, rules: compileIdentityRules(stored?.body ?? { key: ACTIVE_RULES_KEY }) }));
    return c.rules;
  };
  // The read itself is kept until the next commit on the core (a failed one is not).
  return (workspaceId) =>
    kept.get(workspaceId, () => {
      const rules = read(workspaceId);
      rules.catch(() => kept.delete(workspaceId));
      return rules;
    }) as Promise<IdentityRules>;
}
