// `npx tsx scripts/make-upgrade-fixture.ts [commit] [out]`: builds test/fixtures/datadir-v1, a data directory written
// by the code of an earlier commit (default c715140, the last before workspace versions: store schema v1), so that
// test/upgrade.test.ts proves today's code migrates it forward and reads everything back.
//
// It extracts that commit's src/ with `git archive` into a temporary directory (the working tree is not touched),
// runs it there on this checkout's node_modules, sends definitions and events through its real HTTP API, stops it
// cleanly (no WAL files left) and copies store.db and log.db (the warehouse is rebuilt from store.db on start).
import { execSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';

const commit = process.argv[2] ?? 'c715140';
const out = resolve(process.argv[3] ?? 'test/fixtures/datadir-v1');
const root = resolve('.');
const work = mkdtempSync(join(tmpdir(), 'tandem-old-'));
const dataDir = join(work, 'data');

execSync(`git archive ${commit} src package.json | tar -x -C ${work}`, { stdio: 'inherit' });
symlinkSync(join(root, 'node_modules'), join(work, 'node_modules'));

// The driver runs inside the old tree and only uses what that commit's app exposes.
writeFileSync(join(work, 'driver.ts'), `
import pino from 'pino';
import { createApp } from './src/app.js';
import { ManualClock } from './src/core/clock.js';
import { parseConfig } from './src/core/config.js';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const clock = new ManualClock(T0);
const app = await createApp({ config: parseConfig({ dataDir: ${JSON.stringify(dataDir)}, port: 0, logLevel: 'silent', storage: { sync: 'full' } }), clock, adminToken: 'fixture-admin-token', logger: pino({ level: 'silent' }) });
const url = await app.listen();
const admin = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(url + '/api/v1' + path, { method, headers: { authorization: 'Bearer fixture-admin-token', ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  if (!res.ok) throw new Error(method + ' ' + path + ': ' + res.status + ' ' + text);
  return text ? JSON.parse(text) : undefined;
};
const definitions = {
  'tracking-plans': { key: 'web', events: { 'Order Completed': { type: 'object', properties: { total: { type: 'number' } } }, 'Cart Updated': { type: 'object' } } },
  traits: { key: 'revenue', event: 'Order Completed', compute: { sum: 'total' } },
  audiences: { key: 'buyers', name: 'Buyers', condition: { performed: 'Order Completed', within: '30d' } },
  templates: { key: 'thanks', channel: 'sms', body: 'Thanks {{ profile.traits.name }}' },
};
for (const [kind, body] of Object.entries(definitions)) await admin('POST', '/' + kind, body);
const source = await admin('POST', '/sources', { key: 'web', name: 'Website', trackingPlan: 'web', mode: 'flag' });
const batch = [];
for (let u = 1; u <= 5; u++) {
  batch.push({ type: 'identify', userId: 'u' + u, traits: { name: 'User ' + u, email: 'u' + u + '@example.com' }, messageId: 'id-' + u, timestamp: new Date(T0 - 3600_000).toISOString() });
  for (let i = 0; i < u; i++) batch.push({ type: 'track', userId: 'u' + u, event: i % 2 ? 'Cart Updated' : 'Order Completed', properties: { total: 10 * (i + 1) }, messageId: 'ev-' + u + '-' + i, timestamp: new Date(T0 - 60_000 * (i + 1)).toISOString() });
}
const res = await fetch(url + '/v1/batch', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Basic ' + Buffer.from(source.writeKey + ':').toString('base64') }, body: JSON.stringify({ batch }) });
if (!res.ok) throw new Error('batch: ' + res.status + ' ' + await res.text());
for (let round = 0; round < 5; round++) { await app.events.drain(); await app.resolve.drain(); await app.apply.drain(); }
const expected = {
  commit: ${JSON.stringify(commit)},
  at: T0,
  adminToken: 'fixture-admin-token',
  writeKey: source.writeKey,
  definitions,
  events: (await admin('GET', '/events?limit=1000')).data.length,
  profiles: Object.fromEntries(await Promise.all([1, 2, 3, 4, 5].map(async (u) => {
    const p = await admin('GET', '/profiles/lookup?type=user_id&value=u' + u);
    return ['u' + u, { id: p.id, traits: p.traits, computed: p.computed, audiences: p.audiences }];
  }))),
};
await app.close();
console.log(JSON.stringify(expected));
`);
const output = execSync('npx tsx driver.ts', { cwd: work, encoding: 'utf8' });
const expected = JSON.parse(output.trim().split('\n').pop()!);
// Other readers of store.db (collect threads, the warehouse) may leave its WAL behind: fold it into the file.
for (const f of ['store.db', 'log.db']) {
  const db = new Database(join(dataDir, f));
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.pragma('journal_mode = DELETE');
  db.close();
  if (existsSync(join(dataDir, `${f}-wal`))) throw new Error(`${f}-wal left behind`);
}
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
for (const f of ['store.db', 'log.db']) copyFileSync(join(dataDir, f), join(out, f));
writeFileSync(join(out, 'expected.json'), `${JSON.stringify(expected, null, 2)}\n`);
rmSync(work, { recursive: true, force: true });
process.stdout.write(`wrote ${out} (data written by commit ${commit}: ${expected.events} events, ${Object.keys(expected.profiles).length} profiles)\n`);
