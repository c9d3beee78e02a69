import type { JsonValue } from '../conditions/model.js';
import { Schedule } from '../core/schedule.js';
import type { Clock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import { notFound, TandemError } from '../core/errors.js';
import type { Store } from '../core/ports/store.js';
import { explainClv, trainClv, type ClvArtefact } from './clv-model.js';
import { checkModel, MODEL_KIND, outputOf, type ModelDefinition } from './definition.js';
import type { ModelRun, ModelRunStore, ModelWarehouse } from './ports.js';
import { explainPropensity, trainPropensity, type PropensityArtefact } from './propensity-model.js';
import { explainSendTime, trainSendTime, type SendTimeArtefact } from './send-time-model.js';
import type { Trained, TrainingContext } from './training.js';

export interface ModelsDeps {
  store: Store;
  runs: ModelRunStore;
  warehouse: ModelWarehouse;
  /** The apply stage's batch-trait writer (src/apply/apply-stage.ts setComputed). */
  apply: { setComputed(workspaceId: string, key: string, values: Map<string, JsonValue>, at: number): Promise<number> };
  clock: Clock;
  onError?: (message: string) => void;
}

/** The training state GET /api/v1/models/<key> shows beside the definition. */
export interface ModelStatus {
  state: 'never' | 'running' | 'ok' | 'error';
  /** The latest run (the model version being trained or last trained). */
  run?: Omit<ModelRun, 'artefact' | 'result' | 'workspaceId' | 'key'>;
  /** The newest successful run's results (parameters, standard errors, log-likelihood, metrics, explanation). */
  trained?: { run: number; definitionVersion: number; finishedAt: number | null; result: Record<string, unknown> | null };
  nextRunAt?: number;
}

/**
 * Models (docs/models.md) in the slow loop: each training reads the warehouse (read only), fits, and writes the
 * per-profile values as the model's computed trait through the apply stage, so audiences and journeys reading it
 * are re-evaluated like after any batch trait. Every training is a run, numbered per model (its versions), with
 * progress while it runs; one training at a time.
 */
export class Models {
  private pending = new Map<string, { begun: Promise<ModelRun>; done: Promise<ModelRun> }>();

  private readonly schedule: Schedule;

  constructor(private readonly deps: ModelsDeps) {
    this.schedule = new Schedule(deps.clock, () => this.tick(), (error) => deps.onError?.(`models: ${error.message}`));
    deps.runs.abandonRunning(deps.clock.now());
  }

  start(): void {
    this.schedule.start();
  }

  stop(): Promise<void> {
    return this.schedule.stop();
  }

  wake(): void {
    this.schedule.wake();
  }

  private async definition(workspaceId: string, key: string): Promise<{ version: number; body: ModelDefinition }> {
    const found = await this.deps.store.definitions.get<ModelDefinition>(workspaceId, MODEL_KIND, key);
    if (!found) throw notFound('model', key);
    return { version: found.version, body: checkModel(found.body) };
  }

  /**
   * POST /api/v1/models/<key>/train: queues a training (after any in progress) and answers with its run once it has
   * started; `done` settles when it finishes. A training of the same model already queued is joined, not repeated.
   */
  async train(workspaceId: string, key: string): Promise<{ run: ModelRun; done: Promise<ModelRun> }> {
    const def = await this.definition(workspaceId, key);
    const id = `${workspaceId}\u0000${key}`;
    let entry = this.pending.get(id);
    if (!entry) {
      let started!: (run: ModelRun) => void;
      const begun = new Promise<ModelRun>((resolve) => (started = resolve));
      const done = this.exclusive(async () => {
        try {
          return await this.runOne(workspaceId, key, def.version, def.body, started);
        } finally {
          this.pending.delete(id);
        }
      });
      entry = { begun, done };
      this.pending.set(id, entry);
    }
    return { run: await Promise.race([entry.begun, entry.done]), done: entry.done };
  }

  status(workspaceId: string, key: string, version: number, body: ModelDefinition): ModelStatus {
    const latest = this.deps.runs.latest(workspaceId, key);
    const ok = latest?.status === 'ok' ? latest : this.deps.runs.latestOk(workspaceId, key);
    const nextRunAt = this.dueAt(workspaceId, key, version, body);
    if (!latest) return { state: 'never', ...(nextRunAt !== undefined ? { nextRunAt } : {}) };
    const { artefact: _a, result: _r, workspaceId: _w, key: _k, ...run } = latest;
    return {
      state: latest.status,
      run,
      ...(ok ? { trained: { run: ok.run, definitionVersion: ok.definitionVersion, finishedAt: ok.finishedAt, result: ok.result } } : {}),
      ...(nextRunAt !== undefined ? { nextRunAt } : {}),
    };
  }

  runs(workspaceId: string, key: string, limit: number): ModelRun[] {
    return this.deps.runs.list(workspaceId, key, limit);
  }

  /** One profile's values from the newest successful run, with the features or history behind them. */
  async explain(workspaceId: string, key: string, profileId: string): Promise<Record<string, unknown>> {
    const def = await this.definition(workspaceId, key);
    const run = this.deps.runs.latestOk(workspaceId, key);
    if (!run) throw new TandemError('not_trained', `model '${key}' has not been trained yet; POST /api/v1/models/${key}/train`, 409, 'key');
    const ctx = this.context(workspaceId);
    const d = def.body;
    let out: Record<string, unknown> | undefined;
    if (d.type === 'clv') out = await explainClv(d.clv!, run.artefact as ClvArtefact, ctx, profileId);
    else if (d.type === 'propensity') out = await explainPropensity(run.artefact as PropensityArtefact, ctx, profileId);
    else out = await explainSendTime(d.sendTime!, run.artefact as SendTimeArtefact, ctx, profileId);
    if (!out) throw new TandemError('not_found', `profile '${profileId}' has no history this model scores`, 404, 'profileId');
    return { model: key, run: run.run, profileId, ...out };
  }

  /** After a save or delete of the definition: a deleted model's runs and values go. */
  async changed(workspaceId: string, key: string, deleted: boolean): Promise<void> {
    if (deleted) {
      const last = this.deps.runs.latestOk(workspaceId, key);
      const output = (last?.result?.output as string | undefined) ?? key;
      this.deps.runs.forget(workspaceId, key);
      await this.deps.apply.setComputed(workspaceId, output, new Map(), this.deps.clock.now());
    }
    this.wake();
  }

  /** Runs every model whose schedule is due; returns the next instant one is due. */
  async tick(): Promise<number | undefined> {
    let next: number | undefined;
    for (const ws of this.deps.runs.workspaces()) {
      for (const d of await this.deps.store.definitions.list<ModelDefinition>(ws, MODEL_KIND)) {
        if (this.schedule.stopped) return next;
        let body: ModelDefinition;
        try {
          body = checkModel(d.body);
        } catch {
          continue;
        }
        let due = this.dueAt(ws, d.key, d.version, body);
        if (due === undefined) continue;
        if (due <= this.deps.clock.now()) {
          const { done } = await this.train(ws, d.key);
          await done;
          due = this.dueAt(ws, d.key, d.version, body);
        }
        if (due !== undefined) next = Math.min(next ?? Infinity, due);
      }
    }
    return next;
  }

  private dueAt(workspaceId: string, key: string, version: number, body: ModelDefinition): number | undefined {
    if (body.schedule === undefined) return undefined;
    const last = this.deps.runs.latest(workspaceId, key);
    if (!last || last.definitionVersion !== version) return this.deps.clock.now();
    return last.startedAt + parseDuration(body.schedule, 'schedule');
  }

  private context(workspaceId: string, progress: TrainingContext['progress'] = () => undefined): TrainingContext {
    return { workspaceId, now: this.deps.clock.now(), sql: (sql, params) => this.deps.warehouse.run(workspaceId, sql, params), progress };
  }

  private async runOne(workspaceId: string, key: string, version: number, def: ModelDefinition, started: (run: ModelRun) => void): Promise<ModelRun> {
    const { runs, clock } = this.deps;
    const run = runs.begin(workspaceId, key, version, clock.now());
    let lastSave = 0;
    const progress = (stage: string, fraction: number) => {
      run.progress = { stage, fraction: Math.round(fraction * 1000) / 1000 };
      // Progress is saved at most every 200 ms (GET reads it from the store).
      if (clock.now() - lastSave >= 200 || fraction === 0) {
        lastSave = clock.now();
        runs.save(run);
      }
    };
    progress('starting', 0);
    started(run);
    try {
      const ctx = this.context(workspaceId, progress);
      let trained: Trained;
      if (def.type === 'clv') trained = await trainClv(def.clv!, ctx);
      else if (def.type === 'propensity') trained = await trainPropensity(def.propensity!, ctx);
      else trained = await trainSendTime(def.sendTime!, ctx);
      const output = outputOf(def);
      progress('writing computed traits', 0.9);
      // A model whose output trait was renamed: the old trait's values go.
      const before = runs.latestOk(workspaceId, key)?.result?.output as string | undefined;
      if (before !== undefined && before !== output) await this.deps.apply.setComputed(workspaceId, before, new Map(), clock.now());
      const changed = await this.deps.apply.setComputed(workspaceId, output, trained.values, clock.now());
      run.result = { ...trained.result, output, profiles: trained.values.size, changed };
      run.artefact = trained.artefact;
      run.status = 'ok';
      run.progress = { stage: 'done', fraction: 1 };
    } catch (error) {
      run.status = 'error';
      run.error = (error as Error).message;
      this.deps.onError?.(`model '${key}' failed to train: ${run.error}`);
    }
    run.finishedAt = clock.now();
    runs.save(run);
    return run;
  }


  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.schedule.exclusive(fn);
  }
}
