import { migrate, type Sqlite } from './database.js';

/** One exposure: the first time a profile met an experiment (unique per experiment and profile). */
export interface ExposureRow {
  id: number;
  workspaceId: string;
  experiment: string;
  profileId: string;
  arm: string;
  event: string;
  properties: Record<string, unknown>;
  at: number;
}

/** One decide-node decision: the arm chosen (or the holdout) and every arm's posterior at that moment. */
export interface DecisionRow {
  id: number;
  workspaceId: string;
  journey: string;
  node: string;
  instanceId: string;
  visit: number;
  profileId: string;
  arm: string;
  holdout: boolean;
  rewardEvent: string;
  deadline: number;
  /** 1 rewarded, 0 the window passed without the reward, null pending. */
  outcome: number | null;
  at: number;
  detail: Record<string, unknown>;
}

export interface ArmCounts {
  arm: string;
  successes: number;
  failures: number;
  pending: number;
}

/**
 * Experiment state on store.db, beside the journey tables so that a journey step's exposure and decision commit in
 * the step's transaction. Exposures wait here until they are appended to the Log (then flagged `logged`).
 */
export function openSqliteExperimentStore(db: Sqlite): SqliteExperimentStore {
  migrate(db, 'experiments', [
      `CREATE TABLE experiment_exposures (
         id INTEGER PRIMARY KEY AUTOINCREMENT, workspace_id TEXT NOT NULL, experiment TEXT NOT NULL, profile_id TEXT NOT NULL, arm TEXT NOT NULL,
         event TEXT NOT NULL, properties TEXT NOT NULL, at INTEGER NOT NULL, logged INTEGER NOT NULL DEFAULT 0,
         UNIQUE (workspace_id, experiment, profile_id)
       )`,
      'CREATE INDEX experiment_exposures_pending ON experiment_exposures (logged, id)',
      `CREATE TABLE journey_decisions (
         id INTEGER PRIMARY KEY AUTOINCREMENT, workspace_id TEXT NOT NULL, journey TEXT NOT NULL, node TEXT NOT NULL, instance_id TEXT NOT NULL,
         visit INTEGER NOT NULL, profile_id TEXT NOT NULL, arm TEXT NOT NULL, holdout INTEGER NOT NULL, reward_event TEXT NOT NULL,
         deadline INTEGER NOT NULL, outcome INTEGER, rewarded_at INTEGER, at INTEGER NOT NULL, detail TEXT NOT NULL,
         UNIQUE (instance_id, node, visit)
       )`,
      'CREATE INDEX journey_decisions_open ON journey_decisions (workspace_id, journey, node, outcome, deadline)',
      'CREATE INDEX journey_decisions_profile ON journey_decisions (workspace_id, profile_id, outcome)',
      `CREATE TABLE journey_arm_counts (
         workspace_id TEXT NOT NULL, journey TEXT NOT NULL, node TEXT NOT NULL, arm TEXT NOT NULL,
         successes INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0, pending INTEGER NOT NULL DEFAULT 0,
         PRIMARY KEY (workspace_id, journey, node, arm)
       )`,
  ]);
  return new SqliteExperimentStore(db);
}

function statements(db: Sqlite) {
  return {
    insertExposure: db.prepare(
      `INSERT INTO experiment_exposures (workspace_id, experiment, profile_id, arm, event, properties, at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (workspace_id, experiment, profile_id) DO NOTHING`,
    ),
    pendingExposures: db.prepare('SELECT * FROM experiment_exposures WHERE logged = 0 ORDER BY id LIMIT ?'),
    markLogged: db.prepare('UPDATE experiment_exposures SET logged = 1 WHERE id = ?'),
    findDecision: db.prepare('SELECT * FROM journey_decisions WHERE instance_id = ? AND node = ? AND visit = ?'),
    insertDecision: db.prepare(
      `INSERT INTO journey_decisions (workspace_id, journey, node, instance_id, visit, profile_id, arm, holdout, reward_event, deadline, at, detail)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    bump: db.prepare(
      `INSERT INTO journey_arm_counts (workspace_id, journey, node, arm, successes, failures, pending) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (workspace_id, journey, node, arm) DO UPDATE SET successes = successes + excluded.successes, failures = failures + excluded.failures, pending = pending + excluded.pending`,
    ),
    expire: db.prepare(
      'UPDATE journey_decisions SET outcome = 0 WHERE workspace_id = ? AND journey = ? AND node = ? AND outcome IS NULL AND deadline < ? RETURNING arm',
    ),
    counts: db.prepare('SELECT arm, successes, failures, pending FROM journey_arm_counts WHERE workspace_id = ? AND journey = ? AND node = ?'),
    openOfProfile: db.prepare(
      'SELECT id, journey, node, arm, at, deadline FROM journey_decisions WHERE workspace_id = ? AND profile_id = ? AND outcome IS NULL AND reward_event = ?',
    ),
    anyOpen: db.prepare('SELECT 1 FROM journey_decisions WHERE workspace_id = ? AND profile_id = ? AND outcome IS NULL AND reward_event = ? LIMIT 1'),
    reward: db.prepare('UPDATE journey_decisions SET outcome = 1, rewarded_at = ? WHERE id = ? AND outcome IS NULL'),
  };
}

export class SqliteExperimentStore {
  /** Use openSqliteExperimentStore (it creates the tables first). */
  constructor(private readonly db: Sqlite) {
    this.s = statements(db);
  }

  private readonly s: ReturnType<typeof statements>;

  /** Records the first exposure of a profile to an experiment; later ones are ignored. True when it was the first. */
  expose(e: Omit<ExposureRow, 'id'>): boolean {
    return this.s.insertExposure.run(e.workspaceId, e.experiment, e.profileId, e.arm, e.event, JSON.stringify(e.properties), e.at).changes > 0;
  }

  pending(limit: number): ExposureRow[] {
    return (this.s.pendingExposures.all(limit) as Record<string, unknown>[]).map((r) => ({
      id: r.id as number, workspaceId: r.workspace_id as string, experiment: r.experiment as string, profileId: r.profile_id as string, arm: r.arm as string,
      event: r.event as string, properties: JSON.parse(r.properties as string) as Record<string, unknown>, at: r.at as number,
    }));
  }

  logged(id: number): void {
    this.s.markLogged.run(id);
  }

  decision(instanceId: string, node: string, visit: number): DecisionRow | undefined {
    const r = this.s.findDecision.get(instanceId, node, visit) as Record<string, unknown> | undefined;
    return r && toDecision(r);
  }

  /** Closes the node's decisions whose reward window has passed (failures), then answers the counts per arm. */
  armCounts(workspaceId: string, journey: string, node: string, now: number): ArmCounts[] {
    const expired = this.s.expire.all(workspaceId, journey, node, now) as { arm: string }[];
    const byArm = new Map<string, number>();
    for (const e of expired) byArm.set(e.arm, (byArm.get(e.arm) ?? 0) + 1);
    for (const [arm, n] of byArm) this.s.bump.run(workspaceId, journey, node, arm, 0, n, -n);
    return this.s.counts.all(workspaceId, journey, node) as ArmCounts[];
  }

  addDecision(d: Omit<DecisionRow, 'id' | 'outcome'>): number {
    const id = Number(
      this.s.insertDecision.run(d.workspaceId, d.journey, d.node, d.instanceId, d.visit, d.profileId, d.arm, d.holdout ? 1 : 0, d.rewardEvent, d.deadline, d.at, JSON.stringify(d.detail)).lastInsertRowid,
    );
    this.s.bump.run(d.workspaceId, d.journey, d.node, d.arm, 0, 0, 1);
    return id;
  }

  hasOpenDecision(workspaceId: string, profileId: string, rewardEvent: string): boolean {
    return this.s.anyOpen.get(workspaceId, profileId, rewardEvent) !== undefined;
  }

  /** Rewards the profile's open decisions for this event whose window holds `at`; answers how many. */
  rewardDecisions(workspaceId: string, profileId: string, rewardEvent: string, at: number): number {
    let n = 0;
    for (const d of this.s.openOfProfile.all(workspaceId, profileId, rewardEvent) as { id: number; journey: string; node: string; arm: string; at: number; deadline: number }[]) {
      if (at < d.at || at > d.deadline) continue;
      if (this.s.reward.run(at, d.id).changes > 0) {
        this.s.bump.run(workspaceId, d.journey, d.node, d.arm, 1, 0, -1);
        n++;
      }
    }
    return n;
  }

  decisions(workspaceId: string, filter: { journey?: string; node?: string; profileId?: string; limit: number }): DecisionRow[] {
    const where = ['workspace_id = ?'];
    const params: unknown[] = [workspaceId];
    if (filter.journey !== undefined) (where.push('journey = ?'), params.push(filter.journey));
    if (filter.node !== undefined) (where.push('node = ?'), params.push(filter.node));
    if (filter.profileId !== undefined) (where.push('profile_id = ?'), params.push(filter.profileId));
    params.push(filter.limit);
    return (this.db.prepare(`SELECT * FROM journey_decisions WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`).all(...params) as Record<string, unknown>[]).map(toDecision);
  }

  /** Privacy erasure. */
  eraseProfiles(workspaceId: string, profileIds: string[]): number {
    let n = 0;
    const e = this.db.prepare('DELETE FROM experiment_exposures WHERE workspace_id = ? AND profile_id = ?');
    const d = this.db.prepare('DELETE FROM journey_decisions WHERE workspace_id = ? AND profile_id = ?');
    this.db.transaction(() => {
      for (const id of profileIds) n += e.run(workspaceId, id).changes + d.run(workspaceId, id).changes;
    })();
    return n;
  }
}

function toDecision(r: Record<string, unknown>): DecisionRow {
  return {
    id: r.id as number, workspaceId: r.workspace_id as string, journey: r.journey as string, node: r.node as string, instanceId: r.instance_id as string,
    visit: r.visit as number, profileId: r.profile_id as string, arm: r.arm as string, holdout: r.holdout === 1, rewardEvent: r.reward_event as string,
    deadline: r.deadline as number, outcome: (r.outcome as number | null) ?? null, at: r.at as number, detail: JSON.parse(r.detail as string) as Record<string, unknown>,
  };
}
