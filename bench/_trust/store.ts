// Reads a running (or stopped) server's SQLite files read-only: the stages' positions, to tell which phase the
// pipeline is in, and the stored events, to check that every acknowledged message is there exactly once.
import { join } from 'node:path';
import Database from 'better-sqlite3';

export interface Positions {
  /** Highest log offset written (all partitions summed). */
  logHead: number;
  /** The events stage's offsets (summed): behind logHead while collection outruns it. */
  events: number;
  /** Highest stored event id. */
  maxEvent: number;
  /** Event ids the resolve (identity), apply (audiences, traits) and journeys stages have passed. */
  resolve: number;
  apply: number;
  journeys: number;
}

function open(dataDir: string, file: string): Database.Database {
  const db = new Database(join(dataDir, file), { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  return db;
}

const one = (db: Database.Database, sql: string): number => {
  try {
    return Number(db.prepare(sql).pluck().get() ?? 0);
  } catch {
    return 0; // the table is not there yet (first start)
  }
};

export function positions(dataDir: string): Positions {
  const log = open(dataDir, 'log.db');
  const store = open(dataDir, 'store.db');
  try {
    return {
      logHead: one(log, 'SELECT COALESCE(SUM(m), 0) FROM (SELECT MAX(seq) AS m FROM log GROUP BY partition)'),
      events: one(store, "SELECT COALESCE(SUM(seq), 0) FROM consumer_offsets WHERE consumer = 'events'"),
      maxEvent: one(store, 'SELECT COALESCE(MAX(id), 0) FROM events'),
      resolve: one(store, 'SELECT COALESCE(MIN(event_id), 0) FROM identity_positions'),
      apply: one(store, 'SELECT COALESCE(MIN(event_id), 0) FROM apply_positions'),
      journeys: one(store, 'SELECT COALESCE(MIN(position), 0) FROM journey_positions'),
    };
  } finally {
    log.close();
    store.close();
  }
}

/** Waits until the events stage has processed the whole log (nothing is being sent), up to `timeoutMs`. */
export async function eventsCaughtUp(dataDir: string, timeoutMs = 120_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const p = positions(dataDir);
    if (p.events >= p.logHead) return;
    if (performance.now() > end) throw new Error(`the events stage did not catch up with the log in ${timeoutMs / 1000} s (${p.events} of ${p.logHead})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Stored events per messageId, for messageIds starting with `prefix`. */
export function storedCounts(dataDir: string, prefix: string): Map<string, number> {
  const store = open(dataDir, 'store.db');
  try {
    const rows = store.prepare("SELECT message_id AS id, COUNT(*) AS n FROM events WHERE workspace_id = 'default' AND message_id >= ? AND message_id < ? GROUP BY message_id").all(`${prefix}-`, `${prefix}.`) as { id: string; n: number }[];
    return new Map(rows.map((r) => [r.id, r.n]));
  } finally {
    store.close();
  }
}

/** userId -> profile id of every stored Signed Up (resolved ones only: call once the resolve stage has caught up). */
export function signedUpProfiles(dataDir: string, prefix: string): Map<string, string> {
  const store = open(dataDir, 'store.db');
  try {
    const rows = store
      .prepare("SELECT e.user_id AS u, p.profile_id AS p FROM events e JOIN identity_event_profiles p ON p.event_id = e.id WHERE e.workspace_id = 'default' AND e.event = 'Signed Up' AND e.message_id >= ? AND e.message_id < ?")
      .all(`${prefix}-`, `${prefix}.`) as { u: string; p: string }[];
    return new Map(rows.map((r) => [r.u, r.p]));
  } finally {
    store.close();
  }
}

/** Profile ids that are members of an audience now (the active version). */
export function members(dataDir: string, audience: string): Set<string> {
  const store = open(dataDir, 'store.db');
  try {
    return new Set(store.prepare("SELECT profile_id FROM apply_memberships WHERE workspace_id = 'default' AND audience = ?").pluck().all(audience) as string[]);
  } finally {
    store.close();
  }
}

/** Backfills under way: rows in apply_backfills (a changed definition's new version, not switched yet). */
export function backfillsMidWay(dataDir: string): number {
  const store = open(dataDir, 'store.db');
  try {
    return one(store, 'SELECT COUNT(*) FROM apply_backfills');
  } finally {
    store.close();
  }
}
