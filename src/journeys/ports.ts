/**
 * What the journey engine needs from the rest of Tandem, as small ports. The engine's own state (instances,
 * timers, trail, sends, budgets) is behind JourneyStore, whose embedded adapter is
 * src/storage/sqlite/journey-store.ts. Everything the engine does in one step happens inside
 * `JourneyStore.transaction`, so every port called there is synchronous (better-sqlite3 style).
 */
import type { CatalogLookup, EventRecord, ProfileView, ReferenceInput } from '../conditions/index.js';
import type { JourneyDefinition, NodeOf } from './definition.js';
import type { Guardrails } from './guardrails.js';

/** An event as the engine sees it. */
export interface JourneyEvent {
  type: string;
  event?: string;
  timestamp: number;
  properties: Record<string, unknown>;
  messageId: string;
}

/** What the engine reacts to, for one profile. */
export type JourneyInput =
  | { kind: 'event'; workspaceId: string; profileId: string; event: JourneyEvent }
  | { kind: 'timer'; workspaceId: string; instanceId: string };

/** The profile as conditions see it, with what the engine reads of traits: time zone and locale. */
export interface JourneyProfile extends ProfileView {
  /** IANA zone (traits.timezone); absent: the guardrails' default zone. */
  timezone?: string;
  locale?: string;
  /** Recent history, for `performed` conditions and `catalog` keys from the last event (optional). */
  events?: EventRecord[];
}

export interface ProfileReader {
  /** A surviving profile by id; undefined when unknown, merged away or erased. */
  get(workspaceId: string, profileId: string): Promise<JourneyProfile | undefined>;
}

/** A message (or webhook / ad-audience action) for the delivery side. */
export interface OutboxEntry {
  workspaceId: string;
  profileId: string;
  channel: string;
  template?: string;
  payload: Record<string, unknown>;
  /** `<instance id>:<node id>:<visit>`: a repeated step cannot queue a second message. */
  idempotencyKey: string;
  priority: number;
  category: string;
  journey: string;
  node: string;
}

/**
 * Enqueues inside the step's transaction (same SQLite handle), synchronously. Production: the delivery outbox
 * (`delivery.outbox.enqueue`); simulation: an in-memory list.
 */
export interface OutboxWriter {
  enqueue(entry: OutboxEntry): void;
}

/** Pending trait updates are written by the step and applied after it commits (at least once; setting a value is idempotent). */
export interface TraitWriter {
  setTraits(workspaceId: string, profileId: string, traits: Record<string, unknown>, messageId: string): Promise<void>;
}

/** Members of an audience now, for schedule / broadcast triggers. */
export interface AudienceMembers {
  members(workspaceId: string, audience: string): Promise<string[]>;
}

/** Profiles that performed an event whose property equals a value at or after an instant (catalog_changed triggers). */
export interface PerformerSource {
  performers(workspaceId: string, event: string, property: string, value: string, since: number): Promise<string[]>;
}

/** A catalog row change queued for catalog_changed triggers. */
export interface CatalogChange {
  id: number;
  workspaceId: string;
  catalog: string;
  key: string;
  before: Record<string, unknown> | undefined;
  after: Record<string, unknown> | undefined;
  at: number;
}

/** Per-workspace business data for `catalog` conditions (synchronous, cached: Catalogs.lookup). */
export type CatalogSource = (workspaceId: string) => CatalogLookup;

/** Guardrails per workspace (stored as definition kind `journey-guardrails`, key `default`). */
export type GuardrailSource = (workspaceId: string) => Guardrails;

/** Counts for frequency caps and global suppression; the SQLite journey store implements it over its send ledger. */
export interface SendHistory {
  /** Messages queued for the profile at or after `since`, on one medium or (undefined) on all, excluding these categories. */
  count(workspaceId: string, profileId: string, medium: string | undefined, since: number, exempt: string[]): number;
  /** Why the profile must not get messages on a medium (hard bounce, complaint, unsubscribe from all), if so. */
  suppression(workspaceId: string, profileId: string, medium: string): { reason: string; at: number } | undefined;
}

/** A source of inputs with a position, committed with the step (exactly-once consumption). */
export interface InputSource {
  /** Inputs after `position`, oldest first; an item without `input` only moves the position (an event nobody owns). */
  read(position: number, limit: number): Promise<{ position: number; input?: Extract<JourneyInput, { kind: 'event' }> }[]>;
}

/** Past events of a workspace, for backtests. */
export interface HistorySource {
  /** Events with timestamp in [from, to), oldest first, with the profile they resolved to. */
  events(workspaceId: string, from: number, to: number): Promise<{ profileId: string; event: JourneyEvent }[]>;
}

/* ---- The engine's own state ---- */

export type InstanceStatus = 'active' | 'exited' | 'completed';

export interface InstanceContext {
  trigger?: JourneyEvent;
  /** Visits per node id: the third part of the idempotency key. */
  visits: Record<string, number>;
  /** wait_for_event: the awaited event arrived while the journey was paused. */
  arrived?: JourneyEvent;
  /** A send deferred (quiet hours, budget, cap): re-checked when the timer fires. */
  deferred?: { node: string; reason: string; since: number };
  /** The last node that queued a message (goal attribution). */
  lastMessageNode?: string;
  /** For unique_on re-entry. */
  entryKey?: string;
}

export interface JourneyInstance {
  id: string;
  workspaceId: string;
  journey: string;
  version: number;
  profileId: string;
  node: string;
  status: InstanceStatus;
  wakeAt: number | null;
  priority: number;
  enteredAt: number;
  updatedAt: number;
  exitReason: string | null;
  context: InstanceContext;
}

export type TrailKind = 'entry' | 'no_entry' | 'node' | 'guardrail' | 'send' | 'wait' | 'exit' | 'goal' | 'effect' | 'migrate';

export interface TrailRow {
  workspaceId: string;
  journey: string;
  profileId: string;
  instanceId: string | null;
  version: number;
  at: number;
  kind: TrailKind;
  node: string | null;
  detail: Record<string, unknown>;
}

export type JourneyStatus = 'active' | 'paused' | 'archived';

export interface SendRecord {
  workspaceId: string;
  idempotencyKey: string;
  profileId: string;
  journey: string;
  node: string;
  instanceId: string;
  channel: string;
  medium: string;
  category: string;
  priority: number;
  at: number;
}

export interface JourneyStats {
  entries: number;
  active: number;
  exits: Record<string, number>;
  conversions: number;
  nodes: Record<string, { visits: number; active: number; sent: number; blocked: Record<string, number>; deferred: Record<string, number>; conversions: number; attributed: number }>;
}

/** Synchronous persistence; `transaction` runs its function atomically (nested calls join the outer one). */
export interface JourneyStore extends SendHistory {
  transaction<T>(fn: () => T): T;

  /** Every saved version of a journey (the engine pins running instances to theirs). */
  saveVersion(workspaceId: string, key: string, version: number, body: JourneyDefinition, at: number): void;
  version(workspaceId: string, key: string, version: number): JourneyDefinition | undefined;
  /** The latest version of each journey with its status. */
  latest(workspaceId: string): { key: string; version: number; body: JourneyDefinition; status: JourneyStatus }[];
  workspaces(): string[];
  setStatus(workspaceId: string, key: string, status: JourneyStatus, at: number): void;
  status(workspaceId: string, key: string): JourneyStatus | undefined;

  insertInstance(instance: JourneyInstance): void;
  updateInstance(instance: JourneyInstance): void;
  instance(id: string): JourneyInstance | undefined;
  activeInstances(workspaceId: string, profileId: string): JourneyInstance[];
  activeOf(workspaceId: string, journey: string): JourneyInstance[];
  /** Active instances with wake_at <= now, earliest first, higher priority first at the same instant. */
  due(now: number, limit: number): JourneyInstance[];
  nextWake(): number | undefined;
  latestInstance(workspaceId: string, journey: string, profileId: string): JourneyInstance | undefined;

  /** Records an entry; false when this (journey, profile, entry key) entered before. */
  recordEntry(workspaceId: string, journey: string, profileId: string, entryKey: string, instanceId: string, at: number): boolean;
  lastEntry(workspaceId: string, journey: string, profileId: string): number | undefined;
  hasEntry(workspaceId: string, journey: string, profileId: string, entryKey: string): boolean;

  trail(row: TrailRow): void;
  trailOf(workspaceId: string, profileId: string, journey: string | undefined, limit: number): (TrailRow & { id: number })[];

  /** Records a goal conversion once per instance; false if the instance had converted already. */
  convert(workspaceId: string, journey: string, version: number, instanceId: string, profileId: string, node: string, lastMessageNode: string | null, at: number): boolean;
  converted(instanceId: string): boolean;

  /** Adds to the send ledger; false when the idempotency key was recorded already. */
  recordSend(send: SendRecord): boolean;
  /** Adds one to a budget counter if below max; returns whether it was taken. */
  takeBudget(workspaceId: string, scope: string, windowStart: number, max: number): boolean;
  budgetUsed(workspaceId: string, scope: string, windowStart: number): number;

  suppress(workspaceId: string, profileId: string, medium: string, reason: string, at: number): void;

  /** Pending trait updates (written by a step, applied after commit). */
  addEffect(workspaceId: string, profileId: string, traits: Record<string, unknown>, messageId: string, at: number): void;
  effects(limit: number): { id: number; workspaceId: string; profileId: string; traits: Record<string, unknown>; messageId: string }[];
  removeEffect(id: number): void;

  position(consumer: string): number;
  setPosition(consumer: string, position: number): void;

  /** Schedule triggers: next fire instant per journey. */
  schedule(workspaceId: string, journey: string): { nextAt: number | null; version: number } | undefined;
  setSchedule(workspaceId: string, journey: string, version: number, nextAt: number | null): void;
  dueSchedules(now: number): { workspaceId: string; journey: string; nextAt: number }[];

  /** catalog_changed triggers: a change is queued (inside the catalog write's transaction) and removed once handled. */
  addCatalogChange(change: Omit<CatalogChange, 'id'>): void;
  catalogChanges(limit: number): CatalogChange[];
  removeCatalogChange(id: number): void;

  /** Privacy erasure: every instance, entry, trail row, conversion, send, suppression and pending effect of these profiles. */
  eraseProfiles(workspaceId: string, profileIds: string[]): number;

  stats(workspaceId: string, journey: string): JourneyStats;
}

/* ---- Experiments (docs/experiments.md; implemented by src/experiments/journey-port.ts) ---- */

/** Where a journey step meets an experiment or a decision. */
export interface ExperimentStep {
  workspaceId: string;
  journey: string;
  node: string;
  instanceId: string;
  visit: number;
  profile: JourneyProfile;
  /** What conditions read (targeting). */
  input: ReferenceInput;
  now: number;
}

export interface DecisionAnswer {
  /** The chosen arm, or `$holdout`. */
  arm: string;
  holdout: boolean;
  next: string | undefined;
  decision: number;
  /** Every arm's posterior at the moment of the decision, the draws and whether the exploration floor chose. */
  detail: Record<string, unknown>;
}

/**
 * Synchronous, inside the step's transaction (exposures and decisions commit with the step): `split` and `holdout`
 * assign by experiment and record the exposure; `decide` chooses an arm by Thompson sampling and logs the decision;
 * `concerns` / `observe` let reward events reach decisions after the instance has moved on.
 */
export interface ExperimentPort {
  split(step: ExperimentStep, experiment: string): { arm: string | null; exposed: boolean; reason: string };
  holdout(step: Omit<ExperimentStep, 'node' | 'instanceId' | 'visit'>): { experiment: string; arm: string } | undefined;
  decide(step: ExperimentStep, node: NodeOf<'decide'>, eligible: string[]): DecisionAnswer;
  concerns(workspaceId: string, profileId: string, event: JourneyEvent): boolean;
  observe(workspaceId: string, profileId: string, event: JourneyEvent, now: number): void;
}
