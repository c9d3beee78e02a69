import type { Message } from '../collect/message.js';
import type { JsonValue } from '../conditions/model.js';
import type { StreamingState } from '../conditions/node-kind.js';
import type { ApplyDefinition } from './definitions.js';

/** Where a definition's new version keeps its states and timers while it is backfilled beside the active one. */
export const shadowDefId = (def: string): string => `${def}@next`;

/** A resolved event as the apply stage reads it: the stored message and the (surviving) profile it belongs to. */
export interface ApplyEvent {
  id: number;
  workspaceId: string;
  profileId: string | null;
  message: Message;
}

/** A merge recorded by the resolve stage at an event: `loser`'s history now belongs to `winner`. */
export interface ApplyMerge {
  eventId: number;
  workspaceId: string;
  winner: string;
  loser: string;
  /** When the merge was committed (ms). */
  at: number;
}

/** A timer: re-evaluate a definition for a profile at exactly `dueAt`. */
export interface ApplyTimer {
  workspaceId: string;
  profileId: string;
  def: string;
  dueAt: number;
}

/** Everything one profile's evaluation changed; committed with the others and the position in one transaction. */
export interface ProfileEffects {
  workspaceId: string;
  profileId: string;
  /** The profile's evaluation watermark: the latest instant it was evaluated at. */
  asOf: number;
  states: { def: string; version: number; state: StreamingState | undefined }[];
  computed: { key: string; value: JsonValue | undefined; at: number }[];
  /** `seq`: the order the changes were decided in, across enter and exit. */
  enter: { audience: string; at: number; seq?: number }[];
  exit: { audience: string; at: number; reason: 'condition' | 'merged' | 'deleted'; seq?: number }[];
  timers: { def: string; dueAt: number | undefined }[];
  /** A profile merged away: every state, value and timer of it is dropped (its memberships are closed by `exit`). */
  drop?: boolean;
  /** Its events moved (a merge or a recompute): the warehouse mirror reads its event mapping again. */
  remap?: boolean;
  /** Outputs of new versions being backfilled beside the active ones (`def`: `<kind>:<key>@next`; undefined: none). */
  shadow?: { def: string; value: JsonValue | undefined; at: number }[];
}

/** A backfill of a definition version, with its progress. */
export interface BackfillRow {
  workspaceId: string;
  def: string;
  version: number;
  /** The last profile id done ('' before the first chunk). */
  cursor: string;
  /** When it started (undefined: started before progress was recorded). */
  startedAt: number | undefined;
}

/**
 * The switch of a definition to the version backfilled beside it, in the commit's transaction: the shadow states
 * and timers replace the active ones, the shadow outputs go, the active version moves and the backfill ends. The
 * profiles whose answer changed are among the commit's `profiles` (their enter / exit / computed effects).
 */
export interface VersionSwitch {
  workspaceId: string;
  def: string;
  version: number;
}

/** A profile queued for the warehouse mirror (src/audiences/profile-mirror.ts). */
export interface MirrorEntry {
  workspaceId: string;
  profileId: string;
  /** Changes counted so far: the entry is removed only if no change came in while it was copied. */
  n: number;
  remap: boolean;
}

/** The last run of an SQL trait (src/apply/sql-traits.ts). */
export interface SqlTraitRun {
  workspaceId: string;
  key: string;
  version: number;
  startedAt: number;
  finishedAt: number;
  status: 'ok' | 'error';
  error: string | null;
  /** Rows the query returned. */
  rows: number | null;
  /** Profiles whose value changed. */
  changed: number | null;
}

export interface ApplyCommit {
  /** The new position (highest event id applied), when events were consumed. */
  position?: number;
  profiles: ProfileEffects[];
  /** Backfill cursors to move (`cursor` undefined: the backfill is finished). */
  backfills?: { workspaceId: string; def: string; version: number; cursor: string | undefined }[];
  switches?: VersionSwitch[];
}

/** Builds the `Audience Entered` / `Audience Exited` message for a change, given its unique history id. */
export type MembershipMessage = (change: { workspaceId: string; profileId: string; audience: string; at: number; entered: boolean; historyId: number }) => Message | undefined;

export interface MemberRow {
  profileId: string;
  enteredAt: number;
}

export interface MembershipRecord {
  audience: string;
  profileId: string;
  enteredAt: number;
  exitedAt: number | null;
  exitReason: string | null;
}

/** The apply stage's state (embedded: SQLite tables in store.db, src/storage/sqlite/apply-store.ts). */
export interface ApplyStore {
  position(): number;
  /** Events after `after` that the resolve stage has committed (at most `limit`), with the merges recorded up to the last. */
  read(after: number, limit: number): { events: ApplyEvent[]; merges: ApplyMerge[]; upTo: number };
  states(workspaceId: string, profileId: string): Map<string, { version: number; state: StreamingState }>;
  computed(workspaceId: string, profileId: string): Record<string, JsonValue>;
  memberships(workspaceId: string, profileId: string): Map<string, number>;
  watermark(workspaceId: string, profileId: string): number | undefined;
  /** Timers due at or before `now`, earliest first. */
  dueTimers(now: number, limit: number): ApplyTimer[];
  nextDue(): number | undefined;
  timersOf(workspaceId: string, profileId: string): ApplyTimer[];
  /** The profile's stored events with id <= upTo, oldest first (replay). */
  profileEvents(workspaceId: string, profileId: string, upTo: number): ApplyEvent[];
  /** Surviving profile ids of a workspace after `after`, in id order. */
  profiles(workspaceId: string, after: string, limit: number): string[];
  commit(commit: ApplyCommit, message: MembershipMessage): void;
  outbox(limit: number): { id: number; workspaceId: string; message: Message }[];
  outboxDone(ids: number[]): void;
  backfills(): BackfillRow[];
  /** Starts (or restarts from the first profile) a backfill; `active` also records the version as the active one. */
  startBackfill(workspaceId: string, def: string, version: number, at?: number, options?: { active?: boolean }): void;
  /** The version of each definition whose outputs answer reads (set when a definition starts or switches). */
  activeVersions(workspaceId: string): Map<string, number>;
  setActiveVersion(workspaceId: string, def: string, version: number): void;
  /** A stored body of a definition version (from the versioned definitions table). */
  definitionBody(workspaceId: string, kind: string, key: string, version: number): unknown;
  /** A profile's shadow outputs (new versions being backfilled): shadow def -> value. */
  shadowOutputs(workspaceId: string, profileId: string): Map<string, JsonValue>;
  /** Profiles whose shadow output differs from the active one, with the shadow's value (undefined: none). */
  shadowChanges(workspaceId: string, def: string, output: { audience?: string; computedKey?: string }): { profileId: string; value: JsonValue | undefined }[];
  /** Surviving profiles of the workspace: all, and those up to `cursor` (a backfill's progress). */
  profileCount(workspaceId: string, upTo?: string): number;
  /** A deleted definition: its states, timers and backfill go; an audience's members exit (reason `deleted`), a trait's values go. */
  dropDefinition(workspaceId: string, def: string, output: { audience?: string; computedKey?: string }, at: number): void;
  members(workspaceId: string, audience: string, after: string, limit: number): MemberRow[];
  size(workspaceId: string, audience: string): number;
  /** Size after each change within [from, to), and the size just before `from`. */
  sizes(workspaceId: string, audience: string, from: number, to: number): { before: number; points: { at: number; size: number }[] };
  history(workspaceId: string, filter: { audience?: string; profileId?: string; limit: number }): MembershipRecord[];
  /** (profile, audience) pairs that were members at instant T. */
  membershipsAsOf(workspaceId: string, at: number): { profileId: string; audience: string }[];
  /** (event id, profile id) of the workspace's resolved events. */
  eventProfiles(workspaceId: string): [number, string][];
  /** Every computed value of the workspace: profile id -> key -> value. */
  allComputed(workspaceId: string): Map<string, Record<string, JsonValue>>;
  /** Profiles that hold a value for this computed key, in id order. */
  computedHolders(workspaceId: string, key: string): string[];
  /** Profiles queued for the warehouse mirror (every commit queues the profiles it touched). */
  mirrorQueue(limit: number): MirrorEntry[];
  /** Removes copied entries, unless they changed since they were read. */
  mirrorDone(entries: MirrorEntry[]): void;
  /** Queues every surviving profile (the mirror's first build); returns how many. */
  mirrorEnqueueAll(): number;
  /** Workspaces that have computed-trait definitions. */
  traitWorkspaces(): string[];
  sqlTraitRun(workspaceId: string, key: string): SqlTraitRun | undefined;
  sqlTraitRunPut(run: SqlTraitRun): void;
  sqlTraitRunDelete(workspaceId: string, key: string): void;
}

/** The batch side of the definitions (SQL over the warehouse), for backfills. */
export interface BatchAnswers {
  /**
   * The definition's answer as of `asOf` over the events applied up to `upTo` (an event id), from its compiled SQL:
   * an audience's members (each mapped to true), or a trait's value per profile (null: no value).
   */
  answer(workspaceId: string, def: ApplyDefinition, asOf: number, upTo: number): Promise<Map<string, JsonValue>>;
}
