import type { Message } from '../collect/message.js';
import type { JsonValue } from '../conditions/model.js';
import type { StreamingState } from '../conditions/node-kind.js';

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
  enter: { audience: string; at: number }[];
  exit: { audience: string; at: number; reason: 'condition' | 'merged' | 'deleted' }[];
  timers: { def: string; dueAt: number | undefined }[];
  /** A profile merged away: every state, value and timer of it is dropped (its memberships are closed by `exit`). */
  drop?: boolean;
}

export interface ApplyCommit {
  /** The new position (highest event id applied), when events were consumed. */
  position?: number;
  profiles: ProfileEffects[];
  /** Backfill cursors to move (`cursor` undefined: the backfill is finished). */
  backfills?: { workspaceId: string; def: string; version: number; cursor: string | undefined }[];
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
  backfills(): { workspaceId: string; def: string; version: number; cursor: string }[];
  startBackfill(workspaceId: string, def: string, version: number): void;
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
}
