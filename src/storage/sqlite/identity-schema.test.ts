import { describe, expect, it } from 'vitest';
import { migrate, openSqlite } from './database.js';
import { IDENTITY_MIGRATIONS } from './identity-schema.js';
import { openSqliteStore } from './store.js';
import { systemClock } from '../../core/clock.js';

describe('identity schema migration 4 (events that state subscriptions are marked)', () => {
  it('marks the stored events of an older data directory that state subscriptions, and no others', () => {
    const db = openSqlite(':memory:', 'normal');
    openSqliteStore(db, systemClock);
    migrate(db, 'identity', IDENTITY_MIGRATIONS.slice(0, 3));
    const insert = db.prepare("INSERT INTO events (workspace_id, source_id, message_id, type, event, timestamp, received_at, message) VALUES ('w', 's', ?, ?, ?, 0, 0, ?)");
    const messages = [
      ['track', 'Subscribed', { type: 'track', event: 'Subscribed', properties: { group: 'news' } }],
      ['identify', null, { type: 'identify', traits: { subscriptions: { news: 'unsubscribed' } } }],
      ['track', 'Product Viewed', { type: 'track', event: 'Product Viewed', properties: { sku: 'a' } }],
    ] as const;
    messages.forEach(([type, event, message], i) => {
      const id = Number(insert.run(`m${i}`, type, event, JSON.stringify(message)).lastInsertRowid);
      db.prepare("INSERT INTO identity_event_profiles (event_id, workspace_id, profile_id) VALUES (?, 'w', 'p1')").run(id);
    });
    migrate(db, 'identity', IDENTITY_MIGRATIONS);
    const marked = db.prepare("SELECT e.message_id AS m FROM identity_event_profiles p JOIN events e ON e.id = p.event_id WHERE p.profile_id = 'p1' AND p.subs = 1 ORDER BY e.id").all();
    expect(marked).toEqual([{ m: 'm0' }, { m: 'm1' }]);
  });
});
