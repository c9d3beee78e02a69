import type { LogEntry, Message, Violation } from '../../collect/message.js';
import type { GraphProfile } from '../../identity/graph.js';
import type { Identifier, MergeConflict, Resolution } from '../../identity/model.js';
import type { TraitObservation, TraitSighting } from '../../profiles/survivorship.js';

/** Operational state. Embedded: SQLite. Scale-out: PostgreSQL. Every call is scoped to a workspace. */

export interface Workspace {
  id: string;
  name: string;
  createdAt: number;
}

export interface SourceSettings {
  name?: string;
  /** Key of the tracking plan applied to this source, if any. */
  trackingPlan?: string;
  /** allow: accept everything; flag: accept and record violations; block: quarantine violating messages. */
  mode?: 'allow' | 'flag' | 'block';
  rateLimit?: { eventsPerSecond: number; burst?: number };
}

export interface Source {
  id: string;
  workspaceId: string;
  key: string;
  writeKeyPrefix: string;
  settings: SourceSettings;
  createdAt: number;
}

export interface StoredEvent {
  id: number;
  workspaceId: string;
  sourceId: string;
  message: Message;
  violations: Violation[];
}

export interface QuarantineItem {
  id: number;
  workspaceId: string;
  sourceId: string;
  messageId: string;
  type: string;
  event: string | null;
  reasons: Violation[];
  message: Message;
  receivedAt: number;
  status: 'held' | 'replayed' | 'discarded';
  updatedAt: number;
}

export interface EventFilter {
  sourceId?: string;
  type?: string;
  event?: string;
  messageId?: string;
  /** Only events with an id below this (paging newest first). */
  before?: number;
  limit: number;
}

export interface QuarantineFilter {
  sourceId?: string;
  reason?: string;
  event?: string;
  status?: QuarantineItem['status'];
  from?: number;
  to?: number;
  before?: number;
  limit: number;
}

/** One log record's worth of work for the events stage, applied atomically with the consumer's offset. */
export interface AcceptBatch {
  consumer: string;
  partition: number;
  offset: number;
  workspaceId: string;
  sourceId: string;
  receivedAt: number;
  entries: LogEntry[];
  dedupWindowMs: number;
}

export interface AcceptResult {
  stored: StoredEvent[];
  duplicates: number;
  quarantined: number;
}

export interface AuditEntry {
  workspaceId: string;
  actor: string;
  action: string;
  target: string;
  detail?: unknown;
}

/** Who made a change to the workspace's definitions, and why (recorded with its version). */
export interface VersionMeta {
  author: string;
  message: string;
}

/** One definition (or source) changed by a workspace version: the whole body before and after (null: absent). */
export interface DefinitionChange {
  kind: string;
  key: string;
  op: 'create' | 'update' | 'delete';
  before: unknown;
  after: unknown;
}

/** A recorded version of a workspace's definitions: every change through the API or an apply is one. */
export interface WorkspaceVersion {
  version: number;
  workspaceId: string;
  at: number;
  author: string;
  message: string;
  changes: DefinitionChange[];
}

/** One write of an atomic commit: a body to save as the definition's next version, or null to delete it. */
export interface WorkspaceWrite {
  kind: string;
  key: string;
  body: unknown;
  /** Sources only (kind `sources`), when created: the new write key, hashed, and its shown prefix. */
  writeKey?: { hash: string; prefix: string };
}

export interface Store {
  workspaces: {
    ensure(id: string, name: string): Promise<Workspace>;
    get(id: string): Promise<Workspace | undefined>;
  };
  tokens: {
    add(workspaceId: string, name: string, tokenHash: string): Promise<void>;
    /** Workspace of the admin token with this hash, if any. */
    workspaceOf(tokenHash: string): Promise<string | undefined>;
    count(): Promise<number>;
  };
  sources: {
    /** Source changes are recorded as workspace versions (kind `sources`, body `{ key, ...settings }`). */
    create(workspaceId: string, key: string, writeKeyHash: string, writeKeyPrefix: string, settings: SourceSettings, meta?: VersionMeta): Promise<Source>;
    update(workspaceId: string, key: string, settings: SourceSettings, meta?: VersionMeta): Promise<Source | undefined>;
    remove(workspaceId: string, key: string, meta?: VersionMeta): Promise<boolean>;
    get(workspaceId: string, key: string): Promise<Source | undefined>;
    byId(id: string): Promise<Source | undefined>;
    byWriteKeyHash(hash: string): Promise<Source | undefined>;
    list(workspaceId: string): Promise<Source[]>;
  };
  definitions: {
    /**
     * Saves a new version of a definition; returns its version number. Every put and remove is also recorded as a
     * workspace version (`versions`), attributed to `meta` (default: author `api`), in the same transaction.
     */
    put(workspaceId: string, kind: string, key: string, body: unknown, meta?: VersionMeta): Promise<number>;
    get<T>(workspaceId: string, kind: string, key: string): Promise<{ version: number; body: T } | undefined>;
    list<T>(workspaceId: string, kind: string): Promise<{ key: string; version: number; body: T }[]>;
    remove(workspaceId: string, kind: string, key: string, meta?: VersionMeta): Promise<boolean>;
  };
  /** The workspace's version history (docs/workspace.md): one entry per change through the API, one per apply. */
  versions: {
    /** Newest first; `before` pages. */
    list(workspaceId: string, filter: { before?: number; limit: number }): Promise<WorkspaceVersion[]>;
    get(workspaceId: string, version: number): Promise<WorkspaceVersion | undefined>;
    /** The latest version number (0 when none). */
    latest(workspaceId: string): Promise<number>;
    /**
     * Writes definitions and sources all or nothing, in one transaction, recorded as one version. Returns the
     * workspace version (0 when there was nothing to write) and each definition's new version by `kind/key`.
     */
    commit(workspaceId: string, writes: WorkspaceWrite[], meta: VersionMeta): Promise<{ version: number; definitionVersions: Record<string, number> }>;
  };
  events: {
    /** Applies log records in order, atomically, each with its consumer offset. */
    accept(batches: AcceptBatch[]): Promise<AcceptResult>;
    list(workspaceId: string, filter: EventFilter): Promise<StoredEvent[]>;
    /** Events after an id, oldest first, for sinks that copy the history. */
    after(afterId: number, limit: number): Promise<StoredEvent[]>;
    /** Offset the consumer has committed for a partition (0 when none). */
    offset(consumer: string, partition: number): Promise<number>;
    /** Drops dedup entries older than the window. */
    pruneDedup(olderThan: number): Promise<number>;
    /** How many events the workspace has stored (of one event name, with `event`): a full scan, for impact reports. */
    count(workspaceId: string, filter?: { event?: string }): Promise<number>;
  };
  quarantine: {
    list(workspaceId: string, filter: QuarantineFilter): Promise<QuarantineItem[]>;
    get(workspaceId: string, id: number): Promise<QuarantineItem | undefined>;
    setStatus(workspaceId: string, ids: number[], status: QuarantineItem['status'], at: number): Promise<number>;
    /** Replaces the held message and its reasons after a replay that was blocked again. */
    update(workspaceId: string, id: number, message: Message, reasons: Violation[], at: number): Promise<void>;
  };
  audit: {
    add(entry: AuditEntry, at: number): Promise<void>;
    /** Newest first; `before` pages (only entries with an id below it). */
    list(workspaceId: string, limit: number, before?: number): Promise<(AuditEntry & { id: number; at: number })[]>;
  };
  close(): Promise<void>;
}

/* ---- Identity graph and profiles (the resolve stage writes; the profile API reads) ---- */

/** One event's resolution with what its profile keeps of it, stored by IdentityStore.commit in event order. */
export interface ResolvedEvent {
  workspaceId: string;
  sourceId: string;
  messageId: string;
  /** Event timestamp (ms): identifiers' first / last seen and trait lineage use it. */
  at: number;
  resolution: Resolution;
  traits: TraitSighting[];
  /** A group call: the account it names and the traits it states about the account (docs/decisions/0007). */
  group?: { groupId: string; traits: TraitSighting[] };
  /** The event states subscription changes (src/profiles/privacy.ts subscriptionChangesOf): marked for profile reads. */
  subscriptions?: boolean;
}

export interface IdentifierRecord extends Identifier {
  firstSeen: number;
  lastSeen: number;
  /** The event that first linked this identifier to its profile. */
  eventId: number;
}

/** A surviving profile as stored: survivorship is applied when it is read. */
export interface ProfileRecord {
  id: string;
  createdAt: number;
  /** Profiles merged into this one, oldest merge first. */
  mergedFrom: string[];
  identifiers: IdentifierRecord[];
  traits: TraitObservation[];
}

export interface MergeRecord {
  winner: string;
  loser: string;
  eventId: number;
  messageId: string;
  /** The linking set that joined the two. */
  identifiers: Identifier[];
  at: number;
}

export interface ConflictRecord extends MergeConflict {
  id: number;
  eventId: number;
  messageId: string;
  /** The profile the event went to after identifiers were dropped, if any. */
  profileId: string | null;
  at: number;
}

/** A link between two identifiers of one profile, created by an event's linking set. */
export interface LinkRecord {
  from: Identifier;
  to: Identifier;
  /** The event that created the link (later events repeating it add no evidence row). */
  eventId: number;
  at: number;
}

export interface ProfileGraphRecord {
  links: LinkRecord[];
  /** Merges into this profile or into profiles merged into it, oldest first. */
  merges: MergeRecord[];
}

/** What a console shows of an event cited as evidence. */
export interface EvidenceEvent {
  eventId: number;
  messageId: string;
  type: string;
  /** Event timestamp (ms). */
  timestamp: number;
  sourceId: string;
}

export interface ProfileSearch {
  /** Identifier values starting with this. */
  identifierPrefix: string;
  /** JSON-encoded trait values to match exactly. */
  traitValues: string[];
}

export interface IdentityStore extends AccountReads, IdentityEdits {
  /** Highest event id the consumer has resolved (0 when none). */
  position(consumer: string): Promise<number>;
  /** The profiles owning any of these identifiers, each with all its identifiers. */
  slice(workspaceId: string, identifiers: Identifier[]): Promise<GraphProfile[]>;
  /** Every identifier of the workspace with its profile and that profile's age, in no order (loads the resolve stage's graph). */
  eachIdentifier(workspaceId: string, visit: (profileId: string, age: number, type: string, value: string) => void): Promise<void>;
  /** Stores the resolutions in order and the consumer's new position in one transaction. */
  commit(consumer: string, position: number, events: ResolvedEvent[], at: number): Promise<void>;
  /** Writes identifiers' first / last seen still held apart (an adapter may defer them) into their rows: before an edit or an erasure. */
  settle(): Promise<void>;
  /** The surviving profile for any profile id ever issued, following merges. */
  canonical(workspaceId: string, profileId: string): Promise<string | undefined>;
  /** The profile that holds an identifier (always a surviving one). */
  lookup(workspaceId: string, identifier: Identifier): Promise<string | undefined>;
  /** A surviving profile; undefined for unknown or merged-away ids. */
  profile(workspaceId: string, profileId: string): Promise<ProfileRecord | undefined>;
  /**
   * Many profiles in one read (the console's list and search pages): for each id, the surviving profile it resolves
   * to (following merges, as canonical() then profile()), each once, in the order of the ids' first mention; unknown
   * and erased ids are left out. Each record is what profile() answers for it.
   */
  profiles(workspaceId: string, profileIds: string[]): Promise<ProfileRecord[]>;
  /** The profile's events, newest first. */
  timeline(workspaceId: string, profileId: string, filter: { before?: number; limit: number }): Promise<StoredEvent[]>;
  /** Surviving profiles with an identifier starting with the prefix or a trait with one of the values. */
  search(workspaceId: string, query: ProfileSearch, limit: number): Promise<string[]>;
  /** Keyset paging (no offset, so a deep page costs what the first does): surviving profile ids in id order after `after`. */
  profilePage(workspaceId: string, page: { after?: string; limit: number }): Promise<string[]>;
  /** Keyset paging: identifiers whose value starts with the prefix, in (value, type) order after `after`, with their profile. */
  identifierPage(workspaceId: string, page: { prefix: string; after?: { value: string; type: string }; limit: number }): Promise<{ type: string; value: string; profileId: string }[]>;
  /** Keyset paging: ids of profiles with an observed trait of this JSON-encoded value, in id order after `after`. */
  traitValuePage(workspaceId: string, page: { value: string; after?: string; limit: number }): Promise<string[]>;
  merges(workspaceId: string, profileId: string): Promise<MergeRecord[]>;
  /** Merge conflicts, newest first; with profileId, those that touched or concerned that profile. */
  conflicts(workspaceId: string, filter: { profileId?: string; before?: number; limit: number }): Promise<ConflictRecord[]>;
  /** Read-only: the links among a surviving profile's identifiers and every merge that formed it (nested merges included). */
  graph(workspaceId: string, profileId: string): Promise<ProfileGraphRecord>;
  /** Read-only: summaries of stored events, for showing them as evidence; ids of erased events are left out. */
  evidence(workspaceId: string, eventIds: number[]): Promise<EvidenceEvent[]>;
  /** Read-only: a workspace's stored events after an id, oldest first, optionally within [from, to) by event timestamp. */
  history(workspaceId: string, filter: { afterId: number; from?: number; to?: number; limit: number }): Promise<StoredEvent[]>;
  /** Read-only: the surviving profile each of these events resolved to (events not resolved yet are left out). */
  eventProfiles(workspaceId: string, eventIds: number[]): Promise<Map<number, string>>;
}

/* ---- Accounts (group calls) and graph edits: unmerge, blocked identifiers (docs/decisions/0007) ---- */

/** A profile's link to an account: the first and last group event that tied them, by event timestamp. */
export interface AccountLinkRecord {
  groupId: string;
  firstSeen: number;
  lastSeen: number;
  /** The first group event that linked them. */
  eventId: number;
}

export interface AccountRecord {
  groupId: string;
  createdAt: number;
  traits: TraitObservation[];
  profiles: (Omit<AccountLinkRecord, 'groupId'> & { profileId: string })[];
}

export interface AccountReads {
  account(workspaceId: string, groupId: string): Promise<AccountRecord | undefined>;
  /** The accounts a surviving profile is linked to, by group id. */
  accountLinks(workspaceId: string, profileId: string): Promise<AccountLinkRecord[]>;
  /** Group ids starting with the prefix, or with a trait value among the values. */
  searchAccounts(workspaceId: string, query: ProfileSearch, limit: number): Promise<string[]>;
}

export interface BlockedIdentifierRecord extends Identifier {
  /** block: by the block API; unmerge: an unmerge removed it from a profile. */
  reason: 'block' | 'unmerge';
  profileId: string | null;
  actor: string;
  at: number;
}

/** What the resolver must respect besides the identity rules: blocked identifiers and separated pairs. */
export interface IdentityConstraints {
  blocked: Identifier[];
  separations: [Identifier, Identifier][];
}

export interface UnmergeRecord {
  id: number;
  /** The profile that was recomputed. */
  profileId: string;
  /** identifier: one was removed; link: two identifiers were separated; block: a blocked value was split out. */
  kind: 'identifier' | 'link' | 'block';
  identifiers: Identifier[];
  /** The profiles its events form now, the recomputed id first. */
  profiles: string[];
  /** How many events were re-resolved. */
  events: number;
  actor: string;
  at: number;
}

/** A profile's graph recomputed from its events, replacing its rows in one transaction. */
export interface RecomputePlan {
  workspaceId: string;
  /** The recomputed profile and every profile merged into it, before the change. */
  family: string[];
  /** Identifiers the profile held before: their rows and the links among them are replaced. */
  previousIdentifiers: Identifier[];
  /** The surviving profiles after the recompute; `create` for ids issued by it. */
  profiles: { id: string; age: number; create: boolean }[];
  /** Family ids that stay merged, with the survivor they now resolve to. */
  redirects: { id: string; into: string }[];
  identifiers: (IdentifierRecord & { profileId: string })[];
  links: { from: Identifier; to: Identifier; eventId: number }[];
  /** Every event of the profile with the profile it resolves to now (null: it has no usable identifier left). */
  events: { eventId: number; profileId: string | null }[];
  traits: (TraitObservation & { profileId: string })[];
  accounts: (AccountLinkRecord & { profileId: string })[];
  /** Constraints stored with the recompute. */
  block?: BlockedIdentifierRecord;
  separation?: [Identifier, Identifier];
  unmerge: Omit<UnmergeRecord, 'id'>;
}

export interface IdentityEdits {
  constraints(workspaceId: string): Promise<IdentityConstraints>;
  blocked(workspaceId: string): Promise<BlockedIdentifierRecord[]>;
  /** Adds a blocked identifier; false when it was blocked already. */
  block(workspaceId: string, record: BlockedIdentifierRecord): Promise<boolean>;
  unblock(workspaceId: string, identifier: Identifier): Promise<boolean>;
  /** A surviving profile and every profile merged into it, with their ages, oldest first. */
  family(workspaceId: string, profileId: string): Promise<{ id: string; age: number }[]>;
  /** Applies a recompute (and the constraint that caused it); returns the unmerge record's id. */
  recompute(plan: RecomputePlan): Promise<number>;
  /** Unmerges that concerned the profile or a profile merged into it, oldest first. */
  unmerges(workspaceId: string, profileId: string): Promise<UnmergeRecord[]>;
}
