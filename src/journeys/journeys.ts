import { Counter, type Registry } from 'prom-client';
import type { Clock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import { badRequest, notFound, TandemError } from '../core/errors.js';
import type { Store } from '../core/ports/store.js';
import type { LoadShare } from '../core/stage-loop.js';
import type { Sqlite } from '../storage/sqlite/database.js';
import { openSqliteJourneyStore, type JourneyStoreOptions, type SqliteJourneyStore } from '../storage/sqlite/journey-store.js';
import { JOURNEY_KIND, parseJourney, type JourneyDefinition } from './definition.js';
import type { SendTimeSource } from './best-time.js';
import { JourneyEngine } from './engine.js';
import { checkMigration } from './migration.js';
import { GUARDRAILS_KIND, parseGuardrails, type Guardrails } from './guardrails.js';
import type { AudienceMembers, CatalogSource, ExperimentPort, HistorySource, InputSource, JourneyEvent, JourneyProfile, JourneyStatus, OutboxWriter, PerformerSource, ProfileReader, TraitWriter } from './ports.js';
import { backtest, simulate, type BacktestResult, type SimulationResult } from './sandbox.js';
import { JourneyStage } from './stage.js';

export interface JourneysDeps {
  /** The store.db handle: journey tables live beside the delivery outbox so a step commits both together. */
  db: Sqlite;
  store: Pick<Store, 'definitions' | 'audit'>;
  clock: Clock;
  profiles: ProfileReader;
  outbox: OutboxWriter;
  catalogs?: CatalogSource;
  inputs?: InputSource;
  audiences?: AudienceMembers;
  /** Recipients of catalog_changed triggers that name a `performed` event. */
  performers?: PerformerSource;
  traits?: TraitWriter;
  history?: HistorySource;
  /** Options of the SQLite journey store (production: caps count API sends too). */
  storeOptions?: JourneyStoreOptions;
  load?: LoadShare;
  /** Registers tandem_journey_* metrics (budget exhaustion is the alertable one). */
  registry?: Registry;
  /** Experiments for splits bound to one, holdouts and decide nodes (src/experiments). */
  experiments?: ExperimentPort;
  /** Send-time models for `at: { bestTimeWithin, model }` on send and webhook nodes (src/journeys/best-time.ts). */
  sendTimes?: SendTimeSource;
  onError?: (message: string) => void;
}

export interface SimulateRequest {
  definition?: unknown;
  profile_id?: string;
  profile?: Partial<Omit<JourneyProfile, 'events'>>;
  events?: { event: string; type?: string; properties?: Record<string, unknown>; after?: string; at?: string; messageId?: string }[];
  until?: string;
}

export interface BacktestRequest {
  definition?: unknown;
  from: string;
  to: string;
}

export interface TraceAnswer {
  profileId: string;
  journey: string | null;
  summary: string[];
  instances: { id: string; journey: string; version: number; status: string; node: string; exitReason: string | null; enteredAt: number }[];
  trail: { at: number; journey: string; instanceId: string | null; version: number; kind: string; node: string | null; detail: Record<string, unknown> }[];
}

/**
 * The journeys component, assembled: definitions (saved through Store.definitions, versions mirrored into the
 * journey tables), the engine, the stage, guardrails, simulation, backtests, stats and traces.
 */
export class Journeys {
  readonly store: SqliteJourneyStore;
  readonly engine: JourneyEngine;
  readonly stage: JourneyStage;
  private readonly budgetExhausted?: Counter<'workspace' | 'scope' | 'action'>;
  private readonly sent?: Counter<'workspace' | 'journey' | 'channel'>;
  /** Latest journeys per workspace for catalogChanged (called for every changed row), dropped on any save or status change. */
  private readonly catalogTriggers = new Map<string, ReturnType<SqliteJourneyStore['latest']>>();

  constructor(private readonly deps: JourneysDeps) {
    this.store = openSqliteJourneyStore(deps.db, deps.storeOptions);
    if (deps.registry) {
      this.budgetExhausted = new Counter({ name: 'tandem_journey_budget_exhausted_total', help: 'Journey sends deferred or skipped because a budget was spent.', labelNames: ['workspace', 'scope', 'action'] as const, registers: [deps.registry] });
      this.sent = new Counter({ name: 'tandem_journey_messages_total', help: 'Messages queued by journeys.', labelNames: ['workspace', 'journey', 'channel'] as const, registers: [deps.registry] });
    }
    this.engine = new JourneyEngine({
      store: this.store, outbox: deps.outbox, clock: deps.clock, catalogs: deps.catalogs, guardrails: (ws) => this.guardrails(ws), experiments: deps.experiments, sendTimes: deps.sendTimes,
      onBudgetExhausted: (workspace, scope, action) => this.budgetExhausted?.inc({ workspace, scope, action }),
      onSent: (workspace, journey, _node, channel) => this.sent?.inc({ workspace, journey, channel }),
    });
    this.stage = new JourneyStage({
      engine: this.engine, store: this.store, profiles: deps.profiles, clock: deps.clock, inputs: deps.inputs, audiences: deps.audiences, performers: deps.performers, traits: deps.traits,
      load: deps.load, onError: deps.onError,
    });
  }

  /** Copies definitions saved before this component existed (or by another writer) into the journey tables. */
  async prepare(workspaceId: string): Promise<void> {
    for (const d of await this.deps.store.definitions.list<JourneyDefinition>(workspaceId, JOURNEY_KIND)) {
      if (!this.store.version(workspaceId, d.key, d.version)) this.engine.saved(workspaceId, d.key, d.version, parseJourney(d.body));
    }
    this.catalogTriggers.delete(workspaceId);
    const g = await this.deps.store.definitions.get<Guardrails>(workspaceId, GUARDRAILS_KIND, 'default');
    if (g && !this.store.guardrails(workspaceId)) this.store.setGuardrails(workspaceId, parseGuardrails(g.body), this.deps.clock.now());
  }

  /**
   * A catalog row changed (Catalogs.onRowChangedDurably: called inside the write's transaction, on the same
   * handle): queued for the stage when an active catalog_changed journey on that catalog matches it.
   */
  catalogChanged(workspaceId: string, catalog: string, key: string, before: Record<string, unknown> | undefined, after: Record<string, unknown> | undefined): void {
    const now = this.deps.clock.now();
    let triggers = this.catalogTriggers.get(workspaceId);
    if (!triggers) this.catalogTriggers.set(workspaceId, (triggers = this.store.latest(workspaceId)));
    const wanted = triggers.some((j) => j.status === 'active' && j.body.trigger.type === 'catalog_changed' && j.body.trigger.catalog === catalog
      && JourneyEngine.catalogMatches(j.body.trigger, before, after, now));
    if (!wanted) return;
    this.store.addCatalogChange({ workspaceId, catalog, key, before, after, at: now });
    this.stage.wake();
  }

  /** Privacy erasure hook: a deleted person's instances, entries, trail, conversions, sends, suppressions and pending trait updates. */
  eraseProfiles(workspaceId: string, profileIds: string[]): number {
    return this.store.eraseProfiles(workspaceId, profileIds);
  }

  guardrails(workspaceId: string): Guardrails {
    return this.store.guardrails(workspaceId) ?? {};
  }

  async setGuardrails(workspaceId: string, body: unknown): Promise<Guardrails> {
    const g = parseGuardrails(body);
    await this.deps.store.definitions.put(workspaceId, GUARDRAILS_KIND, 'default', g);
    this.store.setGuardrails(workspaceId, g, this.deps.clock.now());
    await this.audit(workspaceId, 'journey-guardrails.update', 'default');
    return g;
  }

  async list(workspaceId: string): Promise<{ key: string; version: number; body: JourneyDefinition }[]> {
    return this.deps.store.definitions.list<JourneyDefinition>(workspaceId, JOURNEY_KIND);
  }

  async get(workspaceId: string, key: string): Promise<{ version: number; body: JourneyDefinition; status: JourneyStatus }> {
    const found = await this.deps.store.definitions.get<JourneyDefinition>(workspaceId, JOURNEY_KIND, key);
    if (!found) throw notFound('journey', key);
    return { ...found, status: this.store.status(workspaceId, key) ?? 'active' };
  }

  /** Validates and saves a new version; new entries take it, running instances stay on theirs. */
  async save(workspaceId: string, body: unknown, mode: 'create' | 'update', pathKey?: string): Promise<{ version: number; body: JourneyDefinition }> {
    const def = parseJourney(body);
    if (pathKey !== undefined && def.key !== pathKey) throw badRequest('key_mismatch', `key in the body ('${def.key}') must equal the key in the path ('${pathKey}')`, 'key');
    const existing = await this.deps.store.definitions.get(workspaceId, JOURNEY_KIND, def.key);
    if (mode === 'create' && existing) throw new TandemError('conflict', `journey '${def.key}' already exists; use PUT to change it`, 409, 'key');
    if (mode === 'update' && !existing) throw notFound('journey', def.key);
    if (def.migrate) checkMigration(def, (existing?.version ?? 0) + 1, this.store.version(workspaceId, def.key, def.migrate.from));
    const version = await this.deps.store.definitions.put(workspaceId, JOURNEY_KIND, def.key, def);
    this.engine.saved(workspaceId, def.key, version, def);
    this.catalogTriggers.delete(workspaceId);
    await this.audit(workspaceId, `journey.${mode}`, def.key, { version });
    this.stage.wake();
    return { version, body: def };
  }

  /** Deletes the definition and archives the journey (running instances exit with reason `archived`). */
  async remove(workspaceId: string, key: string): Promise<void> {
    if (!(await this.deps.store.definitions.remove(workspaceId, JOURNEY_KIND, key))) throw notFound('journey', key);
    this.engine.setStatus(workspaceId, key, 'archived');
    this.catalogTriggers.delete(workspaceId);
    await this.audit(workspaceId, 'journey.delete', key);
  }

  /** pause: no entries, timers held; resume: held timers fire; archive: no entries, running instances exit. */
  async setStatus(workspaceId: string, key: string, status: JourneyStatus): Promise<JourneyStatus> {
    const current = await this.get(workspaceId, key);
    if (current.status === 'archived' && status !== 'archived') throw new TandemError('archived', `journey '${key}' is archived; save a new version to start it again`, 409);
    this.engine.setStatus(workspaceId, key, status);
    if (status === 'active') this.engine.saved(workspaceId, key, current.version, current.body);
    this.catalogTriggers.delete(workspaceId);
    await this.audit(workspaceId, `journey.${status === 'active' ? 'resume' : status === 'paused' ? 'pause' : 'archive'}`, key);
    this.stage.wake();
    return status;
  }

  stats(workspaceId: string, key: string) {
    return { key, status: this.store.status(workspaceId, key) ?? null, ...this.store.stats(workspaceId, key) };
  }

  /** The decision trail of one profile, optionally in one journey, with a summary in words. */
  trace(workspaceId: string, profileId: string, journey: string | undefined): TraceAnswer {
    const rows = this.store.trailOf(workspaceId, profileId, journey, 10_000);
    const ids = [...new Set(rows.map((r) => r.instanceId).filter((id): id is string => id !== null))];
    const instances = ids.map((id) => this.store.instance(id)!).filter(Boolean).map((i) => ({
      id: i.id, journey: i.journey, version: i.version, status: i.status, node: i.node, exitReason: i.exitReason, enteredAt: i.enteredAt,
    }));
    const iso = (ms: number) => new Date(ms).toISOString();
    const summary: string[] = [];
    for (const r of rows) {
      const d = r.detail;
      if (r.kind === 'entry') summary.push(`${iso(r.at)} entered ${r.journey} v${r.version} (${String(d.trigger)}${d.event ? `: ${String(d.event)}` : ''})`);
      else if (r.kind === 'no_entry') summary.push(`${iso(r.at)} did not enter ${r.journey}: ${String(d.reason)}${d.message ? ` (${String(d.message)})` : ''}`);
      else if (r.kind === 'guardrail') summary.push(`${iso(r.at)} ${r.node}: ${d.action === 'defer' ? 'deferred' : 'blocked'} by ${String(d.guardrail)}${d.message ? ` (${String(d.message)})` : ''}`);
      else if (r.kind === 'send') summary.push(`${iso(r.at)} ${r.node}: queued ${String(d.channel)}${d.template ? ` '${String(d.template)}'` : ''}`);
      else if (r.kind === 'node' && d.type === 'branch') summary.push(`${iso(r.at)} ${r.node}: condition ${d.result ? 'true' : 'false'}, went to ${String(d.next)}`);
      else if (r.kind === 'wait' && d.best_time !== undefined) summary.push(`${iso(r.at)} ${r.node}: best time ${d.skipped ? 'is now' : `at ${iso(Number(d.until))}`} (${String(d.reason)})`);
      else if (r.kind === 'goal') summary.push(`${iso(r.at)} converted (${String(d.event)}) at ${r.node}`);
      else if (r.kind === 'exit') summary.push(`${iso(r.at)} left ${r.journey} at ${r.node}: ${String(d.reason)}`);
    }
    if (rows.length === 0) summary.push(journey ? `no event of this profile has matched the trigger of ${journey}` : 'this profile has not matched any journey trigger');
    return {
      profileId, journey: journey ?? null, summary, instances,
      trail: rows.map((r) => ({ at: r.at, journey: r.journey, instanceId: r.instanceId, version: r.version, kind: r.kind, node: r.node, detail: r.detail })),
    };
  }

  /** Runs the stored journey (or a draft in the body) for a given or synthetic profile on a simulated clock. */
  async simulate(workspaceId: string, key: string, req: SimulateRequest): Promise<SimulationResult & { version: number | null }> {
    const { def, version } = await this.definitionFor(workspaceId, key, req.definition);
    const start = this.deps.clock.now();
    let profile: JourneyProfile | undefined;
    if (req.profile_id !== undefined) {
      profile = await this.deps.profiles.get(workspaceId, req.profile_id);
      if (!profile) throw new TandemError('not_found', `profile '${req.profile_id}' does not exist`, 404, 'profile_id');
    }
    const given = req.profile ?? {};
    profile = {
      id: given.id ?? profile?.id ?? 'simulated-profile', traits: { ...(profile?.traits ?? {}), ...(given.traits ?? {}) }, computed: { ...(profile?.computed ?? {}), ...(given.computed ?? {}) },
      identifiers: given.identifiers ?? profile?.identifiers ?? [], audiences: given.audiences ?? profile?.audiences ?? [],
      subscriptions: { ...(profile?.subscriptions ?? {}), ...(given.subscriptions ?? {}) }, events: profile?.events,
    };
    const events: JourneyEvent[] = (req.events ?? []).map((e, i) => {
      const path = `events[${i}]`;
      if (e.after !== undefined && e.at !== undefined) throw badRequest('invalid_value', `${path}.at: use either at or after`, `${path}.at`);
      const timestamp = e.at !== undefined ? Date.parse(e.at) : start + (e.after !== undefined ? parseDuration(e.after, `${path}.after`) : 0);
      if (!Number.isFinite(timestamp)) throw badRequest('invalid_value', `${path}.at: must be an ISO instant`, `${path}.at`);
      return { type: e.type ?? 'track', event: e.event, timestamp, properties: e.properties ?? {}, messageId: e.messageId ?? `simulated-${i}` };
    });
    const horizon = parseDuration(req.until ?? '30d', 'until');
    const result = simulate({ definition: def, profile, events, start, horizon, guardrails: this.guardrails(workspaceId), catalogs: this.deps.catalogs?.(workspaceId) ?? { get: () => undefined }, sendTimes: this.sendTimesOf(workspaceId) });
    return { version, ...result };
  }

  /** Replays the stored journey (or a draft) over [from, to) of real history; needs deps.history. */
  async backtest(workspaceId: string, key: string, req: BacktestRequest): Promise<BacktestResult & { version: number | null }> {
    if (!this.deps.history) throw new TandemError('unavailable', 'backtests need an event history source; none is configured', 503);
    const { def, version } = await this.definitionFor(workspaceId, key, req.definition);
    const from = Date.parse(req.from);
    const to = Date.parse(req.to);
    if (!Number.isFinite(from)) throw badRequest('invalid_value', 'from: must be an ISO instant', 'from');
    if (!Number.isFinite(to) || to <= from) throw badRequest('invalid_value', 'to: must be an ISO instant after from', 'to');
    const history = await this.deps.history.events(workspaceId, from, to);
    const profiles = new Map<string, JourneyProfile>();
    let members: string[] | undefined;
    if (def.trigger.type === 'schedule' && this.deps.audiences) members = await this.deps.audiences.members(workspaceId, def.trigger.audience);
    for (const id of new Set([...history.map((h) => h.profileId), ...(members ?? [])])) {
      const p = await this.deps.profiles.get(workspaceId, id);
      if (p) profiles.set(id, { ...p, events: [] });
    }
    const result = backtest({ definition: def, history, profiles, from, to, guardrails: this.guardrails(workspaceId), catalogs: this.deps.catalogs?.(workspaceId) ?? { get: () => undefined }, members, sendTimes: this.sendTimesOf(workspaceId) });
    return { version, ...result };
  }

  /** The workspace's send-time models for a sandbox (which runs under its own workspace id). */
  private sendTimesOf(workspaceId: string): SendTimeSource | undefined {
    const source = this.deps.sendTimes;
    return source && ((_sandbox, model) => source(workspaceId, model));
  }

  private async definitionFor(workspaceId: string, key: string, draft: unknown): Promise<{ def: JourneyDefinition; version: number | null }> {
    if (draft !== undefined) {
      const def = parseJourney(draft);
      if (def.key !== key) throw badRequest('key_mismatch', `definition.key ('${def.key}') must equal the key in the path ('${key}')`, 'definition.key');
      return { def, version: null };
    }
    const found = await this.get(workspaceId, key);
    return { def: found.body, version: found.version };
  }

  private audit(workspaceId: string, action: string, target: string, detail?: unknown): Promise<void> {
    return this.deps.store.audit.add({ workspaceId, actor: 'admin', action, target, detail }, this.deps.clock.now());
  }

  start(): void {
    this.stage.start();
  }
  stop(): Promise<void> {
    return this.stage.stop();
  }
  drain(): Promise<void> {
    return this.stage.drain();
  }
}

export function createJourneys(deps: JourneysDeps): Journeys {
  return new Journeys(deps);
}
