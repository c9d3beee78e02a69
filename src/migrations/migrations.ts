import type { Clock } from '../core/clock.js';
import { TandemError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Source, Store } from '../core/ports/store.js';
import type { ProfileView } from '../profiles/profiles.js';
import type { WorkspaceService } from '../workspace/workspace.js';
import type { HistoryCopy, MigrationProgress, MigrationRecord, MigrationStore } from './ports.js';
import { renameEvent, renameProperty, retypeProperty } from './rename.js';
import { parseTraitRows } from './rows.js';
import { checkRequest, type MigrationRequest } from './schema.js';
import { deleteTraits, updateTraits } from './traits.js';

export interface MigrationsDeps {
  store: Store;
  history: MigrationStore;
  copy: HistoryCopy;
  workspace: WorkspaceService;
  clock: Clock;
  /** The events and resolve stages: wait until what the log holds is stored and resolved; the resolve stage's turn. */
  pipeline: { drain(): Promise<void>; exclusive<T>(fn: () => Promise<T>): Promise<T> };
  apply: { definitionChanged(workspaceId: string, kind: string, key: string): Promise<void>; recompute(workspaceId: string, profileIds: string[]): Promise<void> };
  profiles: { lookup(workspaceId: string, type: string, value: string): Promise<ProfileView | undefined> };
  /** Appends messages to the log as collected from `source` (the collect stage's checks and aliases apply). */
  collect(source: Source, messages: Record<string, unknown>[], receivedAt: number): Promise<{ accepted: number; errors: unknown[] }>;
  /** The workspace's `migrations` source (created on first use): bulk trait updates are its messages. */
  migrationsSource(workspaceId: string): Promise<Source>;
  onError?: (message: string) => void;
}

/** What a running migration's steps get: who asked, and where to report progress. */
export interface RunContext {
  deps: MigrationsDeps;
  workspaceId: string;
  id: string;
  dryRun: boolean;
  author: string;
  message: string;
  progress(phase: string, done: number, total: number): void;
}

/** A migration as the API shows it. */
export interface MigrationView {
  id: string;
  kind: string;
  dryRun: boolean;
  status: MigrationRecord['status'];
  author: string;
  request: Record<string, unknown>;
  progress: MigrationProgress;
  report?: Record<string, unknown>;
  error?: MigrationRecord['error'];
  createdAt: string;
  updatedAt: string;
}

const PROGRESS_EVERY_MS = 250;

function describe(r: MigrationRequest): string {
  const scope = r.event !== undefined ? ` of '${r.event}'` : '';
  switch (r.kind) {
    case 'rename-event': return `rename event '${r.from}' to '${r.to}'`;
    case 'rename-property': return `rename property '${r.from}'${scope} to '${r.to}'`;
    case 'retype-property': return `retype property '${r.property}'${scope} to ${r.type}`;
    case 'traits-update': return `update traits from ${r.format} (by ${r.identifier ?? 'user_id'})`;
    case 'traits-delete': return `delete traits ${r.traits!.map((t) => `'${t}'`).join(', ')} from ${r.format} (by ${r.identifier ?? 'user_id'})`;
  }
}

/**
 * Data migrations (docs/migrations.md): renames and retypes of the stored history with the definitions and
 * aliases that go with them, bulk trait updates and deletions. Each runs in the background, one at a time per
 * workspace (dry runs beside it), with its progress and report in its record; an executed one writes an audit entry.
 */
export class Migrations {
  private readonly running = new Set<Promise<unknown>>();

  constructor(private readonly deps: MigrationsDeps) {
    const stopped = deps.history.interrupted('the server stopped while the migration ran; check its report and run it again (every step can run twice)', deps.clock.now());
    if (stopped) deps.onError?.(`${stopped} data migration(s) were interrupted by a stop and are marked failed`);
  }

  /** Checks a request and starts it; answers at once with its record (status running). */
  start(workspaceId: string, body: MigrationRequest): MigrationView {
    const request = checkRequest(body);
    // A file that does not parse is bad input (a 400 naming the line), not a failed migration.
    if (request.format !== undefined && request.data !== undefined) parseTraitRows(request.format, request.data, request.column ?? request.identifier ?? 'user_id');
    const dryRun = request.dryRun === true;
    if (!dryRun) {
      const busy = this.deps.history.running(workspaceId);
      if (busy) throw new TandemError('migration_running', `migration ${busy.id} (${busy.kind}) is running; wait for it to finish`, 409);
    }
    const at = this.deps.clock.now();
    const { message: _m, author: _a, data, ...shown } = request;
    const record: MigrationRecord = {
      workspaceId, id: newId(), kind: request.kind, dryRun, author: request.author ?? 'admin',
      // The data of bulk trait files is not kept, only its size.
      request: { ...shown, ...(data !== undefined ? { dataBytes: Buffer.byteLength(data) } : {}) },
      status: 'running', progress: { phase: 'starting', done: 0, total: 0 }, createdAt: at, updatedAt: at,
    };
    this.deps.history.create(record);
    const run = this.run(record, request).finally(() => this.running.delete(run));
    this.running.add(run);
    return view(record);
  }

  get(workspaceId: string, id: string): MigrationView {
    const r = this.deps.history.get(workspaceId, id);
    if (!r) throw new TandemError('not_found', `migration '${id}' does not exist`, 404);
    return view(r);
  }

  list(workspaceId: string, limit: number): MigrationView[] {
    return this.deps.history.list(workspaceId, limit).map(view);
  }

  /** Resolves when no migration is running (close, tests). */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running]);
  }

  private async run(record: MigrationRecord, request: MigrationRequest): Promise<void> {
    const { deps } = this;
    const ws = record.workspaceId;
    let last = 0;
    const what = describe(request);
    const ctx: RunContext = {
      deps, workspaceId: ws, id: record.id, dryRun: record.dryRun, author: record.author,
      message: request.message ?? `data migration ${record.id}: ${what}`,
      progress(phase, done, total) {
        const now = deps.clock.now();
        if (now - last < PROGRESS_EVERY_MS && done < total && phase === record.progress.phase) return;
        last = now;
        record.progress = { phase, done, total };
        deps.history.update(ws, record.id, { progress: record.progress }, now);
      },
    };
    try {
      await Promise.resolve();
      const report = await this.steps(ctx, request);
      const at = deps.clock.now();
      deps.history.update(ws, record.id, { status: 'done', report, progress: { ...record.progress, phase: 'done' } }, at);
      if (!record.dryRun) {
        await deps.store.audit.add({ workspaceId: ws, actor: record.author, action: `migration.${record.kind}`, target: what, detail: { migration: record.id, request: record.request, report } }, at);
      }
    } catch (error) {
      const e = error instanceof TandemError ? { code: error.code, message: error.message, ...(error.path !== undefined ? { path: error.path } : {}) } : { code: 'internal', message: (error as Error).message };
      deps.history.update(ws, record.id, { status: 'failed', error: e }, deps.clock.now());
      if (!(error instanceof TandemError)) deps.onError?.(`data migration ${record.id} (${what}) failed: ${(error as Error).stack ?? (error as Error).message}`);
      if (!record.dryRun) {
        await deps.store.audit.add({ workspaceId: ws, actor: record.author, action: `migration.${record.kind}.failed`, target: what, detail: { migration: record.id, request: record.request, error: e } }, deps.clock.now());
      }
    }
  }

  private steps(ctx: RunContext, r: MigrationRequest): Promise<Record<string, unknown>> {
    switch (r.kind) {
      case 'rename-event': return renameEvent(ctx, r.from!, r.to!);
      case 'rename-property': return renameProperty(ctx, r.event, r.from!, r.to!);
      case 'retype-property': return retypeProperty(ctx, r.event, r.property!, r.type!);
      case 'traits-update': return updateTraits(ctx, { format: r.format!, data: r.data!, identifier: r.identifier, column: r.column });
      case 'traits-delete': return deleteTraits(ctx, { format: r.format!, data: r.data!, identifier: r.identifier, column: r.column, traits: r.traits! });
    }
  }
}

function view(r: MigrationRecord): MigrationView {
  return {
    id: r.id, kind: r.kind, dryRun: r.dryRun, status: r.status, author: r.author, request: r.request, progress: r.progress,
    ...(r.report ? { report: r.report } : {}), ...(r.error ? { error: r.error } : {}),
    createdAt: new Date(r.createdAt).toISOString(), updatedAt: new Date(r.updatedAt).toISOString(),
  };
}
