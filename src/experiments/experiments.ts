import type { LogEntry, Message } from '../collect/message.js';
import { partitionOf } from '../collect/partition.js';
import type { Clock } from '../core/clock.js';
import { notFound } from '../core/errors.js';
import type { Log } from '../core/ports/log.js';
import type { Store } from '../core/ports/store.js';
import { LoadShare, StageLoop } from '../core/stage-loop.js';
import { identityOf, type DeliveryProfile } from '../delivery/events.js';
import type { ExperimentPort, ProfileReader } from '../journeys/ports.js';
import { openSqliteExperimentStore, type DecisionRow, type SqliteExperimentStore } from '../storage/sqlite/experiment-store.js';
import type { Sqlite } from '../storage/sqlite/database.js';
import { assign, type Assignment } from './assign.js';
import { HOLDOUT_ARM } from './decide.js';
import { EXPERIMENT_KIND, resolveExperiment, type Experiment, type ExperimentBody } from './definition.js';
import { journeyExperiments } from './journey-port.js';
import { metricSums, type ExperimentWarehouse } from './metrics.js';
import { computeResults, type ExperimentResults } from './results.js';
import { agrestiCaffo, twoProportionTest } from './stats/proportions.js';

/** The source id exposures recorded by journeys are stored under (not a real source). */
export const EXPERIMENTS_SOURCE_ID = 'tandem-experiments';

export interface ExperimentsDeps {
  /** store.db: the exposure and decision tables share the journey step's transaction. */
  db: Sqlite;
  definitions: Store['definitions'];
  warehouse: ExperimentWarehouse;
  clock: Clock;
  /** Follows merges (an old id answers the survivor) and finds profiles by identifier. */
  profiles?: { get(workspaceId: string, id: string): Promise<(DeliveryProfile & { id: string }) | undefined>; lookup(workspaceId: string, type: string, value: string): Promise<{ id: string } | undefined> };
  /** The profile as conditions read it (targeting). */
  reader?: ProfileReader;
  /** Where journey exposures go as track events (absent: they stay in the table). */
  log?: Log;
  load?: LoadShare;
  onError?: (message: string) => void;
}

export interface ArmsAnswer {
  journey: string;
  node: string;
  arms: { arm: string; successes: number; failures: number; pending: number; rate: number | null; alpha: number; beta: number }[];
  /** Rewarded share of closed decisions: every arm chosen against the holdout (incremental lift; Agresti–Caffo interval). */
  lift?: { treated: number; holdout: number; difference: { estimate: number; low: number; high: number }; pValue: number };
}

/**
 * Experiments (docs/experiments.md): definitions cached per workspace for the journey engine (synchronous reads),
 * results from the warehouse, assignment lookups, the decide nodes' decision log, and the pump that appends
 * exposures recorded by journey steps to the Log as track events.
 */
export class Experiments {
  readonly store: SqliteExperimentStore;
  readonly port: ExperimentPort;
  private readonly cache = new Map<string, Map<string, Experiment>>();
  private readonly loop: StageLoop;

  constructor(private readonly deps: ExperimentsDeps) {
    this.store = openSqliteExperimentStore(deps.db);
    this.port = journeyExperiments({ store: this.store, experiments: (ws) => this.running(ws), exposed: () => this.loop.wake() });
    this.loop = new StageLoop('experiment-exposures', () => this.flush(), deps.load ?? new LoadShare(1), 1000);
  }

  /** Loads the workspace's definitions into the cache the engine reads. */
  async prepare(workspaceId: string): Promise<void> {
    const map = new Map<string, Experiment>();
    for (const d of await this.deps.definitions.list<ExperimentBody>(workspaceId, EXPERIMENT_KIND)) map.set(d.key, resolveExperiment(d.body));
    this.cache.set(workspaceId, map);
  }

  /** After a save or delete (routes and workspace apply). */
  async changed(workspaceId: string, key: string): Promise<void> {
    const found = await this.deps.definitions.get<ExperimentBody>(workspaceId, EXPERIMENT_KIND, key).catch((error: Error) => {
      this.deps.onError?.(`reloading experiment ${key} failed; journeys keep the previous definition until the next change: ${error.message}`);
      return null;
    });
    if (found === null) return;
    let map = this.cache.get(workspaceId);
    if (!map) this.cache.set(workspaceId, (map = new Map()));
    if (found) map.set(key, resolveExperiment(found.body));
    else map.delete(key);
  }

  running(workspaceId: string): Map<string, Experiment> {
    return this.cache.get(workspaceId) ?? new Map();
  }

  async experiment(workspaceId: string, key: string): Promise<Experiment> {
    const found = await this.deps.definitions.get<ExperimentBody>(workspaceId, EXPERIMENT_KIND, key);
    if (!found) throw notFound('experiment', key);
    return resolveExperiment(found.body);
  }

  /** Per-arm results of every metric, from the warehouse. */
  async results(workspaceId: string, key: string): Promise<ExperimentResults & { computedAt: string }> {
    const e = await this.experiment(workspaceId, key);
    const sums = [];
    for (const m of e.metrics) sums.push(await metricSums(this.deps.warehouse, workspaceId, e, m));
    return { ...computeResults(e, sums), computedAt: new Date(this.deps.clock.now()).toISOString() };
  }

  /** The arm a profile gets (no exposure recorded): by profile id (merged ids follow to the survivor) or identifier. */
  async assignment(workspaceId: string, key: string, who: { profileId?: string; type?: string; value?: string }): Promise<Assignment & { experiment: string; profileId: string }> {
    const e = await this.experiment(workspaceId, key);
    const { profiles, reader } = this.deps;
    if (!profiles || !reader) throw new Error('assignment lookups need the profile components');
    const found = who.profileId !== undefined ? await profiles.get(workspaceId, who.profileId) : await profiles.lookup(workspaceId, who.type!, who.value!);
    if (!found) throw notFound('profile', who.profileId ?? `${who.type}:${who.value}`);
    const view = await reader.get(workspaceId, found.id);
    if (!view) throw notFound('profile', found.id);
    return { experiment: key, profileId: view.id, ...assign(e, view, { events: view.events, now: this.deps.clock.now() }) };
  }

  decisions(workspaceId: string, filter: { journey?: string; node?: string; profileId?: string; limit: number }): DecisionRow[] {
    return this.store.decisions(workspaceId, filter);
  }

  /** A decide node's arms now (closed windows only) and the lift of choosing over holding out. */
  arms(workspaceId: string, journey: string, node: string, alpha = 0.05): ArmsAnswer {
    const counts = this.store.armCounts(workspaceId, journey, node, this.deps.clock.now());
    const arms = counts.map((c) => ({ ...c, rate: c.successes + c.failures > 0 ? c.successes / (c.successes + c.failures) : null, alpha: 1 + c.successes, beta: 1 + c.failures }));
    const hold = counts.find((c) => c.arm === HOLDOUT_ARM);
    const treated = counts.filter((c) => c.arm !== HOLDOUT_ARM).reduce((s, c) => ({ n: s.n + c.successes + c.failures, successes: s.successes + c.successes }), { n: 0, successes: 0 });
    const holdN = hold ? hold.successes + hold.failures : 0;
    if (!hold || holdN < 2 || treated.n < 2) return { journey, node, arms };
    const control = { n: holdN, successes: hold.successes };
    // Agresti–Caffo: the holdout is small and rewards rare, where the plain Wald interval is too short.
    return { journey, node, arms, lift: { treated: treated.successes / treated.n, holdout: hold.successes / holdN, difference: agrestiCaffo(control, treated, alpha), pValue: twoProportionTest(control, treated, alpha).pValue } };
  }

  eraseProfiles(workspaceId: string, profileIds: string[]): number {
    return this.store.eraseProfiles(workspaceId, profileIds);
  }

  /** Appends pending journey exposures to the Log (deterministic message ids: a repeat is a duplicate the events stage drops). */
  private async flush(): Promise<boolean> {
    const { log, profiles } = this.deps;
    if (!log || !profiles) return false;
    const batch = this.store.pending(200);
    for (const x of batch) {
      try {
        const profile = await profiles.get(x.workspaceId, x.profileId);
        const who = profile && identityOf(profile);
        if (who) {
          const { externalIds, ...ids } = who;
          const at = new Date(x.at).toISOString();
          const message: Message = {
            type: 'track', event: x.event, messageId: `exposure-${x.experiment}-${x.profileId}`, ...ids, properties: x.properties,
            context: { library: { name: EXPERIMENTS_SOURCE_ID }, ...(externalIds ? { externalIds } : {}) }, integrations: {}, timestamp: at, receivedAt: new Date(this.deps.clock.now()).toISOString(),
          };
          const entry: LogEntry = { kind: 'event', message, violations: [] };
          const partition = partitionOf(message.userId ?? message.anonymousId ?? message.messageId, log.partitions);
          await log.append([{ partition, workspaceId: x.workspaceId, sourceId: EXPERIMENTS_SOURCE_ID, receivedAt: this.deps.clock.now(), count: 1, payload: JSON.stringify([entry]) }]);
        }
        this.store.logged(x.id);
      } catch (error) {
        this.deps.onError?.(`appending the exposure of ${x.profileId} to ${x.experiment} failed and will be retried: ${(error as Error).message}`);
        return false;
      }
    }
    return batch.length === 200;
  }

  start(): void {
    this.loop.start();
  }
  stop(): Promise<void> {
    return this.loop.stop();
  }
  drain(): Promise<void> {
    return this.loop.drain();
  }
}
