import type { Message } from '../collect/message.js';

/** One stored event as a migration reads and rewrites it. */
export interface HistoryRow {
  id: number;
  type: string;
  event: string | null;
  message: Message;
}

export interface HistoryQuery {
  workspaceId: string;
  /** Only track events of this name. */
  event?: string;
  /** Only these message types. */
  types?: string[];
  /** Only messages where this SQLite JSON path is present (`$.properties."total"`). */
  jsonPath?: string;
  /** Only the events of this profile (its timeline, merged profiles included). */
  profileId?: string;
  afterId: number;
  limit: number;
}

export type MigrationStatus = 'running' | 'done' | 'failed';

export interface MigrationProgress {
  phase: string;
  done: number;
  total: number;
}

export interface MigrationRecord {
  workspaceId: string;
  id: string;
  kind: string;
  dryRun: boolean;
  author: string;
  request: Record<string, unknown>;
  status: MigrationStatus;
  progress: MigrationProgress;
  report?: Record<string, unknown>;
  error?: { code: string; message: string; path?: string };
  createdAt: number;
  updatedAt: number;
}

/** The stored history and the records of data migrations (embedded: store.db, src/storage/sqlite/migration-store.ts). */
export interface MigrationStore {
  scan(q: HistoryQuery): HistoryRow[];
  count(q: Omit<HistoryQuery, 'afterId' | 'limit'>): number;
  /** Writes rewritten messages back (the `event` column follows the message), in one transaction. */
  rewrite(workspaceId: string, rows: { id: number; message: Message }[]): void;
  /** Renames held quarantine items, so a replay after the rename arrives under the new name. */
  renameHeld(workspaceId: string, from: string, to: string): number;
  countHeld(workspaceId: string, event: string): number;
  /** The profiles these events resolved to. */
  profilesOf(workspaceId: string, eventIds: number[]): string[];
  /** Removes every sighting of these traits from a profile; returns the rows removed. */
  deleteTraits(workspaceId: string, profileId: string, names: string[]): number;

  create(record: MigrationRecord): void;
  update(workspaceId: string, id: string, patch: Partial<Pick<MigrationRecord, 'status' | 'progress' | 'report' | 'error'>>, at: number): void;
  get(workspaceId: string, id: string): MigrationRecord | undefined;
  list(workspaceId: string, limit: number): MigrationRecord[];
  /** The migration (not a dry run) running in the workspace, if any. */
  running(workspaceId: string): MigrationRecord | undefined;
  /** At start: migrations left running by a stopped process are marked failed. */
  interrupted(message: string, at: number): number;
}

/** The warehouse copy of the history: re-reads these events from the store (events and the mirror's m_events). */
export interface HistoryCopy {
  refreshEvents(ids: number[]): Promise<number>;
}
