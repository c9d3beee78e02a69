import { migrate, type Sqlite } from './database.js';

/** One decision `POST /v1/personalize` made: what was served, to whom, and the features and scores that chose it. */
export interface DecisionRecord {
  /** Random and unguessable: a reward event names it (property decision_id). */
  id: string;
  workspaceId: string;
  decision: string;
  version: number;
  /** The id the caller sent: userId, else anonymousId (caps and the holdout are per visitor). */
  visitor: string;
  profileId: string | null;
  group: 'policy' | 'holdout';
  offer: string | null;
  policy: string;
  features: Record<string, number> | null;
  /** Per eligible offer: its score (and its parts, for a bandit). */
  scores: Record<string, Record<string, number>>;
  /** Offers not eligible, each with why (condition, cap). */
  ineligible: Record<string, string>;
  at: number;
  reward: number | null;
  rewardedAt: number | null;
  rewardEvent: string | null;
}

export interface GroupTotals {
  group: 'policy' | 'holdout';
  offer: string | null;
  n: number;
  rewarded: number;
  rewardSum: number;
}

export interface StoredModel {
  offer: string;
  signature: string;
  model: unknown;
}

export interface PersonalizeStore {
  /** Inserts decisions (with their reward, when it came before they were written). */
  record(rows: DecisionRecord[]): void;
  /** Impressions of each offer of a decision to a visitor since an instant (caps). */
  impressions(workspaceId: string, decision: string, visitor: string, since: number): Map<string, number>;
  get(workspaceId: string, id: string): DecisionRecord | undefined;
  /** Records a decision's reward unless it has one; true when recorded. */
  reward(workspaceId: string, id: string, value: number, event: string, at: number): boolean;
  /** Impressions and rewards per group and offer, for decisions at or after `since`. */
  totals(workspaceId: string, decision: string, since: number): GroupTotals[];
  /** Newest first. */
  list(workspaceId: string, decision: string, limit: number): DecisionRecord[];
  models(workspaceId: string, decision: string): StoredModel[];
  saveModels(workspaceId: string, decision: string, models: StoredModel[], at: number): void;
  forget(workspaceId: string, decision: string): void;
  eraseProfiles(workspaceId: string, profileIds: string[]): number;
}

const MIGRATIONS = [
  // A rowid table: the random id is a small unique index, not the key of a B-tree holding whole rows (half the insert cost).
  `CREATE TABLE personalize_decisions (
     rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, workspace_id TEXT NOT NULL, decision TEXT NOT NULL, version INTEGER NOT NULL, visitor TEXT NOT NULL, profile_id TEXT,
     grp TEXT NOT NULL, offer TEXT, policy TEXT NOT NULL, features TEXT, scores TEXT NOT NULL, ineligible TEXT NOT NULL, at INTEGER NOT NULL,
     reward REAL, rewarded_at INTEGER, reward_event TEXT
   )`,
  'CREATE INDEX personalize_decisions_caps ON personalize_decisions (workspace_id, decision, visitor, at, offer)',
  'CREATE INDEX personalize_decisions_at ON personalize_decisions (workspace_id, decision, at)',
  'CREATE INDEX personalize_decisions_profile ON personalize_decisions (workspace_id, profile_id)',
  `CREATE TABLE personalize_models (
     workspace_id TEXT NOT NULL, decision TEXT NOT NULL, offer TEXT NOT NULL, signature TEXT NOT NULL, model TEXT NOT NULL, updated_at INTEGER NOT NULL,
     PRIMARY KEY (workspace_id, decision, offer)
   )`,
];

interface Row {
  id: string;
  workspace_id: string;
  decision: string;
  version: number;
  visitor: string;
  profile_id: string | null;
  grp: 'policy' | 'holdout';
  offer: string | null;
  policy: string;
  features: string | null;
  scores: string;
  ineligible: string;
  at: number;
  reward: number | null;
  rewarded_at: number | null;
  reward_event: string | null;
}

const parse = (r: Row): DecisionRecord => ({
  id: r.id,
  workspaceId: r.workspace_id,
  decision: r.decision,
  version: r.version,
  visitor: r.visitor,
  profileId: r.profile_id,
  group: r.grp,
  offer: r.offer,
  policy: r.policy,
  features: r.features === null ? null : JSON.parse(r.features),
  scores: JSON.parse(r.scores),
  ineligible: JSON.parse(r.ineligible),
  at: r.at,
  reward: r.reward,
  rewardedAt: r.rewarded_at,
  rewardEvent: r.reward_event,
});

/** The decision log and the bandit models of POST /v1/personalize, in store.db. */
export function openSqlitePersonalizeStore(db: Sqlite): PersonalizeStore {
  migrate(db, 'personalize', MIGRATIONS);
  const s = {
    insert: db.prepare(
      `INSERT INTO personalize_decisions (id, workspace_id, decision, version, visitor, profile_id, grp, offer, policy, features, scores, ineligible, at, reward, rewarded_at, reward_event)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    impressions: db.prepare('SELECT offer, COUNT(*) AS n FROM personalize_decisions WHERE workspace_id = ? AND decision = ? AND visitor = ? AND at >= ? AND offer IS NOT NULL GROUP BY offer'),
    get: db.prepare('SELECT * FROM personalize_decisions WHERE id = ? AND workspace_id = ?'),
    reward: db.prepare('UPDATE personalize_decisions SET reward = ?, reward_event = ?, rewarded_at = ? WHERE id = ? AND workspace_id = ? AND reward IS NULL'),
    totals: db.prepare(
      `SELECT grp AS "group", offer, COUNT(*) AS n, COUNT(reward) AS rewarded, COALESCE(SUM(reward), 0) AS rewardSum
       FROM personalize_decisions WHERE workspace_id = ? AND decision = ? AND at >= ? GROUP BY grp, offer ORDER BY grp, offer`,
    ),
    list: db.prepare('SELECT * FROM personalize_decisions WHERE workspace_id = ? AND decision = ? ORDER BY at DESC, rid DESC LIMIT ?'),
    models: db.prepare('SELECT offer, signature, model FROM personalize_models WHERE workspace_id = ? AND decision = ?'),
    saveModel: db.prepare(
      `INSERT INTO personalize_models (workspace_id, decision, offer, signature, model, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (workspace_id, decision, offer) DO UPDATE SET signature = excluded.signature, model = excluded.model, updated_at = excluded.updated_at`,
    ),
    forgetModels: db.prepare('DELETE FROM personalize_models WHERE workspace_id = ? AND decision = ?'),
    forgetDecisions: db.prepare('DELETE FROM personalize_decisions WHERE workspace_id = ? AND decision = ?'),
    erase: db.prepare('DELETE FROM personalize_decisions WHERE workspace_id = ? AND profile_id = ?'),
  };
  const record = db.transaction((rows: DecisionRecord[]) => {
    for (const r of rows) {
      s.insert.run(r.id, r.workspaceId, r.decision, r.version, r.visitor, r.profileId, r.group, r.offer, r.policy, r.features === null ? null : JSON.stringify(r.features), JSON.stringify(r.scores), JSON.stringify(r.ineligible), r.at, r.reward, r.rewardedAt, r.rewardEvent);
    }
  });
  const saveModels = db.transaction((workspaceId: string, decision: string, models: StoredModel[], at: number) => {
    for (const m of models) s.saveModel.run(workspaceId, decision, m.offer, m.signature, JSON.stringify(m.model), at);
  });
  return {
    record: (rows) => record(rows),
    impressions: (workspaceId, decision, visitor, since) => new Map((s.impressions.all(workspaceId, decision, visitor, since) as { offer: string; n: number }[]).map((r) => [r.offer, r.n])),
    get(workspaceId, id) {
      const row = s.get.get(id, workspaceId) as Row | undefined;
      return row && parse(row);
    },
    reward: (workspaceId, id, value, event, at) => s.reward.run(value, event, at, id, workspaceId).changes > 0,
    totals: (workspaceId, decision, since) => s.totals.all(workspaceId, decision, since) as GroupTotals[],
    list: (workspaceId, decision, limit) => (s.list.all(workspaceId, decision, limit) as Row[]).map(parse),
    models: (workspaceId, decision) => (s.models.all(workspaceId, decision) as { offer: string; signature: string; model: string }[]).map((m) => ({ offer: m.offer, signature: m.signature, model: JSON.parse(m.model) })),
    saveModels: (workspaceId, decision, models, at) => saveModels(workspaceId, decision, models, at),
    forget(workspaceId, decision) {
      db.transaction(() => {
        s.forgetModels.run(workspaceId, decision);
        s.forgetDecisions.run(workspaceId, decision);
      })();
    },
    eraseProfiles(workspaceId, profileIds) {
      let n = 0;
      db.transaction(() => {
        for (const id of profileIds) n += s.erase.run(workspaceId, id).changes;
      })();
      return n;
    },
  };
}
