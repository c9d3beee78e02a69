import type { OutboxEntry, OutboxWriter } from '../../journeys/ports.js';
import { migrate, type Sqlite } from './database.js';

/**
 * A minimal SQLite OutboxWriter (table journey_outbox, unique per workspace and idempotency key), for running the
 * engine without the delivery side (tests, the crash test, tools). Production wiring uses the delivery outbox.
 */
export function openSqliteJourneyOutbox(db: Sqlite): OutboxWriter & { rows(): (OutboxEntry & { seq: number })[] } {
  migrate(db, 'journey-outbox', [
    `CREATE TABLE journey_outbox (
       seq INTEGER PRIMARY KEY AUTOINCREMENT, workspace_id TEXT NOT NULL, idempotency_key TEXT NOT NULL, profile_id TEXT NOT NULL,
       channel TEXT NOT NULL, template TEXT, payload TEXT NOT NULL, priority INTEGER NOT NULL, category TEXT NOT NULL, journey TEXT NOT NULL, node TEXT NOT NULL,
       UNIQUE (workspace_id, idempotency_key)
     )`,
  ]);
  const insert = db.prepare(
    `INSERT INTO journey_outbox (workspace_id, idempotency_key, profile_id, channel, template, payload, priority, category, journey, node)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (workspace_id, idempotency_key) DO NOTHING`,
  );
  return {
    enqueue(e) {
      insert.run(e.workspaceId, e.idempotencyKey, e.profileId, e.channel, e.template ?? null, JSON.stringify(e.payload), e.priority, e.category, e.journey, e.node);
    },
    rows() {
      return (db.prepare('SELECT * FROM journey_outbox ORDER BY seq').all() as Record<string, unknown>[]).map((r) => ({
        seq: r.seq as number, workspaceId: r.workspace_id as string, idempotencyKey: r.idempotency_key as string, profileId: r.profile_id as string,
        channel: r.channel as string, ...(r.template !== null ? { template: r.template as string } : {}), payload: JSON.parse(r.payload as string) as Record<string, unknown>,
        priority: r.priority as number, category: r.category as string, journey: r.journey as string, node: r.node as string,
      }));
    },
  };
}
