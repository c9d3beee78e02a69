import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openSqlite } from '../storage/sqlite/database.js';

const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const PROFILES = 150;

/** Messages in the journey outbox so far (0 before the worker has created its tables). */
function outboxRows(file: string): number {
  const peek = openSqlite(file);
  try {
    const has = peek.prepare("SELECT 1 FROM sqlite_master WHERE name = 'journey_outbox'").get();
    return has ? (peek.prepare('SELECT COUNT(*) AS n FROM journey_outbox').get() as { n: number }).n : 0;
  } finally {
    peek.close();
  }
}

/**
 * Runs the worker; kills it with SIGKILL once it has written `killAfterRows` more outbox rows (so the kill lands
 * mid-run however fast or slow the machine is), or lets it finish. Resolves with whether it finished.
 */
function run(file: string, killAfterRows?: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    const before = killAfterRows === undefined ? 0 : outboxRows(file);
    const timer = killAfterRows === undefined ? undefined : setInterval(() => {
      if (outboxRows(file) - before >= killAfterRows) child.kill('SIGKILL');
    }, 5);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timer) clearInterval(timer);
      if (signal === 'SIGKILL') return resolve(false);
      if (code !== 0 || !out.includes('done')) return reject(new Error(`worker failed (${code}): ${err}`));
      resolve(true);
    });
  });
}

describe('crash safety', () => {
  it('SIGKILL during waits and during steps loses no step and repeats no message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-journey-crash-'));
    const file = join(dir, 'store.db');
    try {
      const db = openSqlite(file);
      db.exec('CREATE TABLE crash_inputs (position INTEGER PRIMARY KEY, profile_id TEXT NOT NULL, ts INTEGER NOT NULL)');
      const insert = db.prepare('INSERT INTO crash_inputs (position, profile_id, ts) VALUES (?, ?, ?)');
      for (let i = 1; i <= PROFILES; i++) insert.run(i, `p${i}`, Date.UTC(2026, 0, 1));
      db.close();

      // Kill points by progress: during the burst of entries and first sends, during the 1 h waits (1 s each, the
      // kill comes with the first later send) and during the later sends.
      const kills = [1, 20, 60, 100, 150, 160, 250, 330];
      let finished = false;
      const progress: number[] = [];
      for (const rows of kills) {
        if (!finished && (await run(file, rows))) finished = true;
        progress.push(outboxRows(file));
      }
      // Some kills landed mid-run (after the first messages, before the last), not only before start or after the end.
      expect(progress.filter((n) => n > 0 && n < PROFILES * 3).length).toBeGreaterThanOrEqual(2);
      if (!finished) finished = await run(file);
      expect(finished).toBe(true);

      const check = openSqlite(file);
      const outbox = check.prepare('SELECT profile_id, idempotency_key, node FROM journey_outbox').all() as { profile_id: string; idempotency_key: string; node: string }[];
      const instances = check.prepare('SELECT id, profile_id, status FROM journey_instances').all() as { id: string; profile_id: string; status: string }[];
      const trailSends = check.prepare("SELECT instance_id, node, COUNT(*) AS n FROM journey_trail WHERE kind = 'send' GROUP BY instance_id, node").all() as { instance_id: string; node: string; n: number }[];
      const entries = check.prepare("SELECT instance_id, COUNT(*) AS n FROM journey_trail WHERE kind = 'entry' GROUP BY instance_id").all() as { n: number }[];
      check.close();

      // One instance per profile, each completed.
      expect(instances).toHaveLength(PROFILES);
      expect(new Set(instances.map((i) => i.profile_id)).size).toBe(PROFILES);
      expect(instances.every((i) => i.status === 'completed')).toBe(true);
      expect(entries.every((e) => e.n === 1)).toBe(true);
      // Exactly one outbox row per (instance, send node): none lost, none repeated.
      expect(outbox).toHaveLength(PROFILES * 3);
      const byInstance = new Map<string, string[]>();
      for (const r of outbox) {
        const [instance, node, visit] = r.idempotency_key.split(':');
        expect(node).toBe(r.node);
        expect(visit).toBe('1');
        byInstance.set(instance, [...(byInstance.get(instance) ?? []), node]);
      }
      for (const i of instances) expect(byInstance.get(i.id)?.sort()).toEqual(['s1', 's2', 's3']);
      // The trail is not unique-constrained: a step replayed after a crash would show twice here.
      expect(trailSends).toHaveLength(PROFILES * 3);
      expect(trailSends.every((t) => t.n === 1)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
