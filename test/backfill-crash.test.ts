// A changed audience's backfill killed with SIGKILL part-way: the old membership still answers after the kill, and
// a restart resumes the backfill and switches every profile at once, with each membership event exactly once.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTandem } from './harness.js';

const PROFILES = 24;

interface Child { proc: ChildProcess; url: string; exited: Promise<NodeJS.Signals | number | null> }

async function run(dataDir: string, chunk: number, delayMs: number): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'test/backfill-crash.child.ts', dataDir, String(chunk), String(delayMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<NodeJS.Signals | number | null>((r) => proc.on('exit', (code, signal) => r(signal ?? code)));
  let out = '';
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /started (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    void exited.then((how) => reject(new Error(`child exited (${String(how)}) before starting:\n${out}`)));
  });
  return { proc, url, exited };
}

const admin = async (url: string, path: string, init: { method?: string; json?: unknown } = {}) => {
  const res = await fetch(`${url}/api/v1${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${text}`);
  return JSON.parse(text);
};

const until = async <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> => {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe('backfill of a changed audience: kill -9 mid-way', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tandem-backfill-crash-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('the old version answers after the kill; the restart resumes and switches all or nothing, events exactly once', async () => {
    // Even users viewed a product (v1 members); users divisible by 3 ordered (v2 members).
    const setup = await startTandem({ dataDir, config: { collect: { threads: 0 } } });
    await setup.admin('/audiences', { method: 'POST', json: { key: 'viewers', condition: { performed: 'Product Viewed' } } });
    for (let i = 0; i < PROFILES; i++) {
      if (i % 2 === 0) await setup.collect('/v1/track', { userId: `u${i}`, event: 'Product Viewed' });
      if (i % 3 === 0) await setup.collect('/v1/track', { userId: `u${i}`, event: 'Order Completed' });
      if (i % 2 !== 0 && i % 3 !== 0) await setup.collect('/v1/identify', { userId: `u${i}` });
    }
    await setup.settle();
    const idOf = new Map<string, string>();
    for (let i = 0; i < PROFILES; i++) idOf.set((await (await setup.admin(`/profiles/lookup?type=user_id&value=u${i}`)).json()).id, `u${i}`);
    await setup.stop();
    const v1 = [...Array(PROFILES).keys()].filter((i) => i % 2 === 0).map((i) => `u${i}`).sort();
    const v2 = [...Array(PROFILES).keys()].filter((i) => i % 3 === 0).map((i) => `u${i}`).sort();
    const membersOf = async (url: string) => ((await admin(url, '/audiences/viewers/members?limit=1000')).data as { profileId: string }[]).map((m) => idOf.get(m.profileId)!).sort();

    // First run: 2 profiles per chunk, 150 ms apart; killed once about a third is done.
    let child = await run(dataDir, 2, 150);
    await admin(child.url, '/audiences/viewers', { method: 'PUT', json: { key: 'viewers', condition: { performed: 'Order Completed' } } });
    const mid = await until('a third of the backfill', async () => {
      const p = await admin(child.url, '/audiences/viewers/backfill');
      return p.state === 'backfilling' && p.profilesDone >= PROFILES / 3 ? p : undefined;
    });
    expect(mid).toMatchObject({ mode: 'shadow', version: 2, activeVersion: 1, profilesTotal: PROFILES });
    expect(await membersOf(child.url)).toEqual(v1);
    child.proc.kill('SIGKILL');
    expect(await child.exited).toBe('SIGKILL');

    // On disk after the kill: the backfill is mid-way and the active memberships are still all v1's.
    const db = new Database(join(dataDir, 'store.db'), { readonly: true });
    const row = db.prepare("SELECT version, cursor FROM apply_backfills WHERE def = 'audiences:viewers'").get() as { version: number; cursor: string };
    const active = (db.prepare("SELECT profile_id FROM apply_memberships WHERE audience = 'viewers'").pluck().all() as string[]).map((p) => idOf.get(p)!).sort();
    const versionAfterKill = db.prepare("SELECT version FROM apply_active_versions WHERE def = 'audiences:viewers'").pluck().get();
    db.close();
    expect(row.version).toBe(2);
    expect(row.cursor).not.toBe('');
    expect(active).toEqual(v1);
    expect(versionAfterKill).toBe(1);

    // Restart: the backfill resumes from its cursor and switches.
    child = await run(dataDir, 2, 0);
    await until('the switch', async () => ((await admin(child.url, '/audiences/viewers/backfill')).state === 'active' ? true : undefined));
    expect(await admin(child.url, '/audiences/viewers/backfill')).toEqual({ kind: 'audiences', key: 'viewers', state: 'active', version: 2 });
    expect(await membersOf(child.url)).toEqual(v2);
    // Exactly once: one Audience Exited per profile that left, one more Audience Entered per profile that joined.
    const left = v1.filter((u) => !v2.includes(u)).sort();
    const joined = v2.filter((u) => !v1.includes(u)).sort();
    const events = async (name: string) => ((await admin(child.url, `/events?type=track&event=${encodeURIComponent(name)}&limit=1000`)).data as { message: { userId: string } }[]).map((e) => e.message.userId).sort();
    await until('the membership events', async () => ((await events('Audience Exited')).length >= left.length && (await events('Audience Entered')).length >= v1.length + joined.length ? true : undefined));
    await new Promise((r) => setTimeout(r, 300));
    expect(await events('Audience Exited')).toEqual(left);
    expect(await events('Audience Entered')).toEqual([...v1, ...joined].sort());
    child.proc.kill('SIGTERM');
    await child.exited;
  }, 120_000);
});
