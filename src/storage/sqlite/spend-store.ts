import type { SpendStore } from '../../analytics/spend.js';
import { migrate, type Sqlite } from './database.js';

/** Forward-only migrations of the campaign spend table in store.db (component `analytics`). Append; never edit. */
const SPEND_MIGRATIONS: readonly string[] = [
  `CREATE TABLE analytics_spend (
     workspace_id TEXT NOT NULL, day TEXT NOT NULL, campaign TEXT NOT NULL, channel TEXT NOT NULL, spend REAL NOT NULL, updated_at INTEGER NOT NULL,
     PRIMARY KEY (workspace_id, day, campaign, channel)
   ) WITHOUT ROWID;`,
];

/** Campaign spend per day in store.db: business data the warehouse cannot rebuild, so it lives beside the definitions. */
export function openSqliteSpendStore(db: Sqlite): SpendStore {
  migrate(db, 'analytics', SPEND_MIGRATIONS);
  const put = db.prepare(
    `INSERT INTO analytics_spend (workspace_id, day, campaign, channel, spend, updated_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (workspace_id, day, campaign, channel) DO UPDATE SET spend = excluded.spend, updated_at = excluded.updated_at`,
  );
  const list = db.prepare('SELECT day, campaign, channel, spend FROM analytics_spend WHERE workspace_id = ? AND day >= ? AND day <= ? ORDER BY day, campaign, channel');
  return {
    upsert: (ws, rows, at) => db.transaction(() => {
      for (const r of rows) put.run(ws, r.date, r.campaign, r.channel ?? '', r.spend, at);
      return rows.length;
    })(),
    list: (ws, fromDay, toDay) => (list.all(ws, fromDay, toDay) as { day: string; campaign: string; channel: string; spend: number }[]).map((r) => ({ date: r.day, campaign: r.campaign, channel: r.channel, spend: r.spend })),
  };
}
