/**
 * The analytical copy of the full history. Embedded: DuckDB. Scale-out: PostgreSQL. The warehouse follows the
 * event store: each adapter copies stored events in id order from where it stands, by the cheapest path it has
 * (the embedded one reads the SQLite file on its own thread; a PostgreSQL one would INSERT ... SELECT).
 */
export type SqlValue = string | number | boolean | null;

export interface Warehouse {
  /** Copies up to `limit` events stored since the last call; resolves with whether more remain. */
  catchUp(limit: number): Promise<boolean>;
  /** Highest event id held (0 when empty). */
  lastEventId(): Promise<number>;
  query(sql: string, params?: SqlValue[]): Promise<Record<string, unknown>[]>;
  /** Rewrites the storage so that deleted rows leave no bytes behind (privacy erasure); may copy everything. */
  compact(): Promise<void>;
  close(): Promise<void>;
}
