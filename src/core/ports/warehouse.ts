/** The analytical copy of the full history. Embedded: DuckDB. Scale-out: PostgreSQL. */
export interface WarehouseEvent {
  id: number;
  workspaceId: string;
  sourceId: string;
  messageId: string;
  type: string;
  event: string | null;
  userId: string | null;
  anonymousId: string | null;
  timestamp: number;
  receivedAt: number;
  message: string;
}

export type SqlValue = string | number | boolean | null;

export interface Warehouse {
  /** Appends events; returns the highest event id now held. */
  appendEvents(events: WarehouseEvent[]): Promise<number>;
  /** Highest event id held (0 when empty); the sink resumes after it. */
  lastEventId(): Promise<number>;
  query(sql: string, params?: SqlValue[]): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}
