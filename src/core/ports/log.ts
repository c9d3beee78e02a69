/**
 * The Log: durable, ordered per partition. Collection appends batches; stages read from an offset.
 * A resolved append means durable (ARCHITECTURE.md, invariant 1). Consumers keep their own offsets in the
 * Store, committed in the same transaction as their effects.
 */
export interface LogBatch {
  partition: number;
  workspaceId: string;
  sourceId: string;
  receivedAt: number;
  /** Number of entries in the payload. */
  count: number;
  /** A JSON array of LogEntry, serialised once at collection. */
  payload: string;
}

export interface LogRecord extends LogBatch {
  /** Position in the log; strictly increasing within a partition. */
  offset: number;
}

export interface Log {
  readonly partitions: number;
  append(batches: LogBatch[]): Promise<void>;
  read(partition: number, afterOffset: number, limit: number): Promise<LogRecord[]>;
  /** Highest offset written to a partition (0 when empty). */
  head(partition: number): Promise<number>;
  /** Deletes a partition's batches at or below `upToOffset` received before `receivedBefore`; returns how many. */
  trim(partition: number, upToOffset: number, receivedBefore: number): Promise<number>;
  /**
   * Privacy erasure: rewrites the workspace's batches without the messages with these ids (other messages in the
   * same batches stay, in order); returns how many messages were removed. Runs on the log's only writer.
   */
  forget(workspaceId: string, messageIds: string[]): Promise<number>;
  /** Registers a callback run after every durable append (embedded consumers use it to wake up). */
  onAppend(listener: () => void): void;
  /** Runs the onAppend callbacks for an append made by another writer (the front thread's log of the same file). */
  notifyAppended(): void;
  close(): Promise<void>;
}
