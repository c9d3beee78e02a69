import type { ModelRun, ModelRunStore } from '../../models/ports.js';
import { migrate, type Sqlite } from './database.js';

const MIGRATIONS = [
  `CREATE TABLE model_runs (
     workspace_id TEXT NOT NULL, key TEXT NOT NULL, run INTEGER NOT NULL, definition_version INTEGER NOT NULL,
     started_at INTEGER NOT NULL, finished_at INTEGER, status TEXT NOT NULL, progress TEXT, error TEXT, result TEXT, artefact TEXT,
     PRIMARY KEY (workspace_id, key, run))`,
];

interface Row {
  workspace_id: string;
  key: string;
  run: number;
  definition_version: number;
  started_at: number;
  finished_at: number | null;
  status: ModelRun['status'];
  progress: string | null;
  error: string | null;
  result: string | null;
  artefact: string | null;
}

const parse = (r: Row | undefined): ModelRun | undefined =>
  r && {
    workspaceId: r.workspace_id,
    key: r.key,
    run: r.run,
    definitionVersion: r.definition_version,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    status: r.status,
    progress: r.progress === null ? null : JSON.parse(r.progress),
    error: r.error,
    result: r.result === null ? null : JSON.parse(r.result),
    artefact: r.artefact === null ? null : JSON.parse(r.artefact),
  };

/** Model runs in store.db (src/models/ports.ts). */
export function openSqliteModelStore(db: Sqlite): ModelRunStore {
  migrate(db, 'models', MIGRATIONS);
  const s = {
    next: db.prepare('SELECT COALESCE(MAX(run), 0) + 1 FROM model_runs WHERE workspace_id = ? AND key = ?').pluck(),
    insert: db.prepare('INSERT INTO model_runs (workspace_id, key, run, definition_version, started_at, status) VALUES (?, ?, ?, ?, ?, ?)'),
    save: db.prepare('UPDATE model_runs SET finished_at = ?, status = ?, progress = ?, error = ?, result = ?, artefact = ? WHERE workspace_id = ? AND key = ? AND run = ?'),
    latest: db.prepare('SELECT * FROM model_runs WHERE workspace_id = ? AND key = ? ORDER BY run DESC LIMIT 1'),
    latestOk: db.prepare("SELECT * FROM model_runs WHERE workspace_id = ? AND key = ? AND status = 'ok' ORDER BY run DESC LIMIT 1"),
    list: db.prepare('SELECT workspace_id, key, run, definition_version, started_at, finished_at, status, progress, error, result, NULL AS artefact FROM model_runs WHERE workspace_id = ? AND key = ? ORDER BY run DESC LIMIT ?'),
    forget: db.prepare('DELETE FROM model_runs WHERE workspace_id = ? AND key = ?'),
    workspaces: db.prepare("SELECT DISTINCT workspace_id FROM definitions WHERE kind = 'models' ORDER BY 1").pluck(),
    abandon: db.prepare("UPDATE model_runs SET status = 'error', error = 'stopped before it finished', finished_at = ? WHERE status = 'running'"),
  };
  return {
    begin(workspaceId, key, definitionVersion, at) {
      return db.transaction(() => {
        const run = s.next.get(workspaceId, key) as number;
        s.insert.run(workspaceId, key, run, definitionVersion, at, 'running');
        return { workspaceId, key, run, definitionVersion, startedAt: at, finishedAt: null, status: 'running' as const, progress: null, error: null, result: null, artefact: null };
      })();
    },
    save(r) {
      s.save.run(r.finishedAt, r.status, r.progress === null ? null : JSON.stringify(r.progress), r.error, r.result === null ? null : JSON.stringify(r.result), r.artefact === null || r.artefact === undefined ? null : JSON.stringify(r.artefact), r.workspaceId, r.key, r.run);
    },
    latest: (ws, key) => parse(s.latest.get(ws, key) as Row | undefined),
    latestOk: (ws, key) => parse(s.latestOk.get(ws, key) as Row | undefined),
    list: (ws, key, limit) => (s.list.all(ws, key, limit) as Row[]).map((r) => parse(r)!),
    forget: (ws, key) => void s.forget.run(ws, key),
    workspaces: () => s.workspaces.all() as string[],
    abandonRunning: (at) => void s.abandon.run(at),
  };
}
