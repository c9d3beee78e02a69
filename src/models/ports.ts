import type { SqlValue } from '../core/ports/warehouse.js';

export type RunStatus = 'running' | 'ok' | 'error';

export interface RunProgress {
  /** What the run is doing: reading, fitting, scoring, writing. */
  stage: string;
  /** Share done, 0..1. */
  fraction: number;
}

/** One training of a model: the model's versions are its runs, numbered per key. */
export interface ModelRun {
  workspaceId: string;
  key: string;
  /** 1, 2, ... per model key: the version of the trained model. */
  run: number;
  /** The definition version it was trained from. */
  definitionVersion: number;
  startedAt: number;
  finishedAt: number | null;
  status: RunStatus;
  progress: RunProgress | null;
  error: string | null;
  /** Parameters, standard errors, log-likelihood, metrics, diagnostics: what GET /api/v1/models/<key> shows. */
  result: Record<string, unknown> | null;
  /** The fitted artefact scoring and explanations need (coefficients, trees, priors); not shown whole. */
  artefact: unknown;
}

/** Where runs are kept (store.db). */
export interface ModelRunStore {
  /** Records a new run (its number is the next for the key) and returns it. */
  begin(workspaceId: string, key: string, definitionVersion: number, at: number): ModelRun;
  save(run: ModelRun): void;
  latest(workspaceId: string, key: string): ModelRun | undefined;
  /** The newest run that finished ok (the one that scores and explains). */
  latestOk(workspaceId: string, key: string): ModelRun | undefined;
  list(workspaceId: string, key: string, limit: number): ModelRun[];
  /** A deleted model: its runs go. */
  forget(workspaceId: string, key: string): void;
  /** Workspaces with model definitions (for the scheduler). */
  workspaces(): string[];
  /** Runs left 'running' by a stop are marked failed on start. */
  abandonRunning(at: number): void;
}

/** Read-only SQL over one workspace's c_* views (c_events, c_profiles, ...), after the mirror has caught up. */
export interface ModelWarehouse {
  run(workspaceId: string, sql: string, params: SqlValue[]): Promise<Record<string, unknown>[]>;
}
