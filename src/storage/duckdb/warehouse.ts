import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import type { SqlValue, Warehouse, WarehouseEvent } from '../../core/ports/warehouse.js';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS events (
    id BIGINT PRIMARY KEY,
    workspace_id VARCHAR NOT NULL,
    source_id VARCHAR NOT NULL,
    message_id VARCHAR NOT NULL,
    type VARCHAR NOT NULL,
    event VARCHAR,
    user_id VARCHAR,
    anonymous_id VARCHAR,
    timestamp_ms BIGINT NOT NULL,
    received_at_ms BIGINT NOT NULL,
    message JSON NOT NULL
  );`;

/** The embedded Warehouse: a DuckDB file beside the SQLite files. Appends go through DuckDB's appender. */
export class DuckDbWarehouse implements Warehouse {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
  ) {}

  static async open(file: string): Promise<DuckDbWarehouse> {
    const instance = await DuckDBInstance.create(file);
    const conn = await instance.connect();
    await conn.run(SCHEMA);
    return new DuckDbWarehouse(instance, conn);
  }

  async appendEvents(events: WarehouseEvent[]): Promise<number> {
    if (events.length === 0) return this.lastEventId();
    const appender = await this.conn.createAppender('events');
    const text = (v: string | null) => (v === null ? appender.appendNull() : appender.appendVarchar(v));
    for (const e of events) {
      appender.appendBigInt(BigInt(e.id));
      appender.appendVarchar(e.workspaceId);
      appender.appendVarchar(e.sourceId);
      appender.appendVarchar(e.messageId);
      appender.appendVarchar(e.type);
      text(e.event);
      text(e.userId);
      text(e.anonymousId);
      appender.appendBigInt(BigInt(e.timestamp));
      appender.appendBigInt(BigInt(e.receivedAt));
      appender.appendVarchar(e.message);
      appender.endRow();
    }
    appender.closeSync();
    return events[events.length - 1].id;
  }

  async lastEventId(): Promise<number> {
    const rows = await this.query('SELECT COALESCE(MAX(id), 0) AS id FROM events');
    return Number(rows[0].id);
  }

  async query(sql: string, params: SqlValue[] = []): Promise<Record<string, unknown>[]> {
    const reader = await this.conn.runAndReadAll(sql, params as DuckDBValue[]);
    return reader.getRowObjectsJS() as Record<string, unknown>[];
  }

  async close(): Promise<void> {
    this.conn.closeSync();
    this.instance.closeSync();
  }
}
