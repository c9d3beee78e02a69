/**
 * The crash test's worker (crash.test.ts): runs the journey stage over a SQLite file until every input is consumed
 * and every instance has finished, on a clock 3600x faster than real time (1 h of journey time per second), and
 * may be SIGKILLed at any moment. Not part of the product.
 */
import { systemClock, type Clock } from '../core/clock.js';
import { openSqlite } from '../storage/sqlite/database.js';
import { openSqliteJourneyOutbox } from '../storage/sqlite/journey-outbox.js';
import { parseJourney } from './definition.js';
import { createJourneys } from './journeys.js';
import { memoryDefinitions, profile } from './test-support.js';

export const CRASH_T0 = Date.UTC(2026, 0, 1);
export const CRASH_JOURNEY = {
  key: 'drip', trigger: { type: 'event', event: 'Go' }, start: 's1',
  nodes: {
    s1: { type: 'send', channel: 'email', template: 'one', next: 'w1' },
    w1: { type: 'wait', duration: '1h', next: 's2' },
    s2: { type: 'send', channel: 'email', template: 'two', next: 'w2' },
    w2: { type: 'wait_for_event', event: 'Never', timeout: '1h', timeout_next: 's3' },
    s3: { type: 'send', channel: 'sms', template: 'three' },
  },
};

async function main(file: string): Promise<void> {
  const db = openSqlite(file);
  db.exec('CREATE TABLE IF NOT EXISTS crash_meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
  db.prepare('INSERT OR IGNORE INTO crash_meta (k, v) VALUES (?, ?)').run('base', systemClock.now());
  const base = (db.prepare('SELECT v FROM crash_meta WHERE k = ?').get('base') as { v: number }).v;
  const speed = 3600;
  const clock: Clock = { now: () => CRASH_T0 + (systemClock.now() - base) * speed, sleep: (ms) => systemClock.sleep(ms / speed) };
  const outbox = openSqliteJourneyOutbox(db);
  const journeys = createJourneys({
    db, store: memoryDefinitions(), clock, outbox,
    profiles: { get: async (_w, id) => profile(id) },
    inputs: {
      read: async (position, limit) =>
        (db.prepare('SELECT position, profile_id, ts FROM crash_inputs WHERE position > ? ORDER BY position LIMIT ?').all(position, limit) as { position: number; profile_id: string; ts: number }[]).map((r) => ({
          position: r.position,
          input: { kind: 'event' as const, workspaceId: 'w', profileId: r.profile_id, event: { type: 'track', event: 'Go', timestamp: r.ts, properties: {}, messageId: `go-${r.position}` } },
        })),
    },
  });
  if (!journeys.store.version('w', 'drip', 1)) journeys.engine.saved('w', 'drip', 1, parseJourney(CRASH_JOURNEY));
  const total = (db.prepare('SELECT COUNT(*) AS n FROM crash_inputs').get() as { n: number }).n;
  for (;;) {
    await journeys.stage.step(performance.now() + 50);
    const consumed = journeys.store.position('journeys') >= total;
    const active = (db.prepare("SELECT COUNT(*) AS n FROM journey_instances WHERE status = 'active'").get() as { n: number }).n;
    if (consumed && active === 0) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  process.stdout.write('done\n');
  db.close();
}

if (process.argv[2]) void main(process.argv[2]);
