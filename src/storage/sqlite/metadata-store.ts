import { migrate, prepared, type Sqlite } from './database.js';

/**
 * The observed schema's tables in store.db (component `metadata`): one row per entity field (the entity itself is
 * the row with path ''), its sketches serialised, and its volume per day. Forward-only migrations; append.
 */
const METADATA_MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS md_fields (
     workspace_id TEXT NOT NULL, source_id TEXT NOT NULL, type TEXT NOT NULL, event TEXT NOT NULL, path TEXT NOT NULL,
     segments TEXT NOT NULL, types TEXT NOT NULL, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,
     hll BLOB, samples TEXT NOT NULL, sampled INTEGER NOT NULL, untracked INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (workspace_id, source_id, type, event, path)
   ) WITHOUT ROWID;
   CREATE TABLE IF NOT EXISTS md_days (
     workspace_id TEXT NOT NULL, source_id TEXT NOT NULL, type TEXT NOT NULL, event TEXT NOT NULL, path TEXT NOT NULL,
     day INTEGER NOT NULL, count INTEGER NOT NULL,
     PRIMARY KEY (workspace_id, source_id, type, event, path, day)
   ) WITHOUT ROWID;`,
];

export interface FieldRow {
  workspaceId: string;
  sourceId: string;
  type: string;
  event: string;
  /** Segments from the entity root ([] for the entity itself). */
  segments: string[];
  path: string;
  /** Counts in VALUE_TYPES order (src/metadata/observed.ts). */
  types: number[];
  firstSeen: number;
  lastSeen: number;
  hll: Uint8Array | undefined;
  samples: string[];
  sampled: number;
  untracked: number;
  /** Day (days since the epoch, UTC) -> count: only the days that changed when saving; all of them when loading. */
  days: [number, number][];
}

export interface MetadataStore {
  load(): FieldRow[];
  /** Writes fields (whole rows) and their changed day counts in one transaction. */
  save(rows: FieldRow[]): void;
  /** Forgets a workspace's observed schema. */
  clear(workspaceId: string): void;
}

type Row = { workspace_id: string; source_id: string; type: string; event: string; path: string; segments: string; types: string; first_seen: number; last_seen: number; hll: Buffer | null; samples: string; sampled: number; untracked: number };

export function openSqliteMetadataStore(db: Sqlite): MetadataStore {
  migrate(db, 'metadata', METADATA_MIGRATIONS);
  const save = db.transaction((rows: FieldRow[]) => {
    const field = prepared(
      db,
      `INSERT INTO md_fields (workspace_id, source_id, type, event, path, segments, types, first_seen, last_seen, hll, samples, sampled, untracked)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (workspace_id, source_id, type, event, path) DO UPDATE SET types = excluded.types, first_seen = excluded.first_seen,
         last_seen = excluded.last_seen, hll = excluded.hll, samples = excluded.samples, sampled = excluded.sampled, untracked = excluded.untracked`,
    );
    const day = prepared(
      db,
      `INSERT INTO md_days (workspace_id, source_id, type, event, path, day, count) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (workspace_id, source_id, type, event, path, day) DO UPDATE SET count = excluded.count`,
    );
    for (const r of rows) {
      field.run(r.workspaceId, r.sourceId, r.type, r.event, r.path, JSON.stringify(r.segments), JSON.stringify(r.types), r.firstSeen, r.lastSeen, r.hll ? Buffer.from(r.hll) : null, JSON.stringify(r.samples), r.sampled, r.untracked);
      for (const [d, n] of r.days) day.run(r.workspaceId, r.sourceId, r.type, r.event, r.path, d, n);
    }
  });
  return {
    load() {
      const days = new Map<string, [number, number][]>();
      const key = (r: { workspace_id: string; source_id: string; type: string; event: string; path: string }) => `${r.workspace_id}\u0000${r.source_id}\u0000${r.type}\u0000${r.event}\u0000${r.path}`;
      for (const d of db.prepare('SELECT workspace_id, source_id, type, event, path, day, count FROM md_days').all() as (Row & { day: number; count: number })[]) {
        const k = key(d);
        const list = days.get(k);
        if (list) list.push([d.day, d.count]);
        else days.set(k, [[d.day, d.count]]);
      }
      // Parents before children: a shorter segment list sorts first within an entity.
      const rows = db.prepare('SELECT * FROM md_fields ORDER BY workspace_id, source_id, type, event, length(segments)').all() as Row[];
      return rows.map((r) => ({
        workspaceId: r.workspace_id, sourceId: r.source_id, type: r.type, event: r.event, path: r.path, segments: JSON.parse(r.segments) as string[],
        types: JSON.parse(r.types) as number[], firstSeen: r.first_seen, lastSeen: r.last_seen, hll: r.hll ? new Uint8Array(r.hll) : undefined,
        samples: JSON.parse(r.samples) as string[], sampled: r.sampled, untracked: r.untracked, days: days.get(key(r)) ?? [],
      }));
    },
    save: (rows) => save(rows),
    clear(workspaceId) {
      db.prepare('DELETE FROM md_fields WHERE workspace_id = ?').run(workspaceId);
      db.prepare('DELETE FROM md_days WHERE workspace_id = ?').run(workspaceId);
    },
  };
}
