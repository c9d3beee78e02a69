import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Message } from '../collect/message.js';
import { ManualClock } from '../core/clock.js';
import type { StoredEvent } from '../core/ports/store.js';
import { openSqliteIdentityStore } from '../storage/sqlite/identity-store.js';
import { ResolveStage } from './resolve-stage.js';
import { ActiveIdentityRules, compileIdentityRules, type IdentityRulesBody } from './rules.js';

/* ---------- the reference: union-find with limits, applied in event order, written plainly ---------- */

const TYPES = ['user_id', 'anonymous_id', 'email', 'device_id'] as const;
const BLOCKED = new Set(['', 'null', 'undefined', 'anonymous', '-1']);
const blocked = (v: string) => BLOCKED.has(v.trim().toLowerCase()) || /^[0-]*$/.test(v.trim()) || v.trim().length > 1024;

interface RefRules {
  priority: string[];
  limits: Record<string, number>;
}

/** Identifiers as `type:value` strings, in the order the message gives them. */
function refIdentifiers(m: Message): string[] {
  const out: string[] = [];
  const add = (type: string, v: unknown) => {
    if (typeof v !== 'string' || blocked(v)) return;
    const value = type === 'email' ? v.trim().toLowerCase() : v.trim();
    if (!out.includes(`${type}:${value}`)) out.push(`${type}:${value}`);
  };
  add('user_id', m.userId);
  add('anonymous_id', m.anonymousId);
  if (m.type === 'identify') add('email', m.traits?.email);
  add('device_id', (m.context.device as { id?: string } | undefined)?.id);
  return out;
}

function reference(messages: Message[], rules: RefRules) {
  const parent = new Map<string, string>();
  const members = new Map<string, string[]>();
  const age = new Map<string, number>();
  const eventRoot = new Map<number, string>();
  const conflicts: number[] = [];
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r)!;
    return r;
  };
  const typeOf = (id: string) => id.slice(0, id.indexOf(':'));
  const rank = (id: string) => {
    const i = rules.priority.indexOf(typeOf(id));
    return i < 0 ? rules.priority.length : i;
  };
  const limit = (type: string) => rules.limits[type] ?? 5;

  messages.forEach((m, n) => {
    let ids = refIdentifiers(m);
    if (m.type === 'alias' && m.previousId !== undefined && !blocked(m.previousId)) {
      const p = m.previousId.trim();
      const prev = parent.has(`anonymous_id:${p}`) ? `anonymous_id:${p}` : parent.has(`user_id:${p}`) ? `user_id:${p}` : `anonymous_id:${p}`;
      if (!ids.includes(prev)) ids.push(prev);
    }
    ids = ids.map((id, i) => [id, i] as const).sort((a, b) => rank(a[0]) - rank(b[0]) || a[1] - b[1]).map((x) => x[0]);
    if (ids.length === 0) return;
    const rootsOf = (set: string[]) => [...new Set(set.filter((i) => parent.has(i)).map(find))];
    const fits = (set: string[]) => {
      const all = new Set([...rootsOf(set).flatMap((r) => members.get(r)!), ...set]);
      return TYPES.every((t) => [...all].filter((i) => typeOf(i) === t).length <= limit(t));
    };
    let dropped = false;
    while (!fits(ids)) {
      dropped = true;
      const lowest = typeOf(ids[ids.length - 1]);
      ids = typeOf(ids[0]) === lowest ? ids.slice(0, 1) : ids.filter((i) => typeOf(i) !== lowest);
    }
    if (dropped) conflicts.push(n + 1);
    const roots = rootsOf(ids).sort((a, b) => age.get(a)! - age.get(b)!);
    let winner = roots[0];
    if (winner === undefined) {
      winner = ids[0];
      parent.set(winner, winner);
      members.set(winner, [winner]);
      age.set(winner, n + 1);
    }
    for (const loser of roots.slice(1)) {
      parent.set(loser, winner);
      members.get(winner)!.push(...members.get(loser)!);
      members.delete(loser);
    }
    for (const id of ids) {
      if (parent.has(id)) continue;
      parent.set(id, winner);
      members.get(winner)!.push(id);
    }
    eventRoot.set(n + 1, winner);
  });

  // Each profile is named by its age (the event that created it): the survivor of a merge is the oldest.
  const identifiers = [...members].map(([root, ids]) => [`age:${age.get(root)}`, ...ids]);
  const events = new Map<string, number[]>();
  for (const [event, root] of eventRoot) {
    const r = find(root);
    events.set(r, [...(events.get(r) ?? []), event]);
  }
  return { identifiers: canonical(identifiers), events: canonical([...events.values()].map((e) => e.map(String))), conflicts };
}

const canonical = (groups: string[][]) => groups.map((g) => [...g].sort()).sort((a, b) => (a.join('|') < b.join('|') ? -1 : 1));

/* ---------- random event streams ---------- */

const users = ['u1', 'u2', 'u3', 'u4', ' u1 '];
const anonymous = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'];
const emails = ['ada@example.com', ' ADA@example.com', 'bob@example.com', 'cy@example.com'];
const devices = ['d1', 'd2', 'd3'];
const junk = ['', 'null', 'NULL', 'undefined', 'anonymous', '-1', '0', '000-000', 'x'.repeat(1025)];
const maybe = (values: string[]) => fc.option(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...values) }, { weight: 1, arbitrary: fc.constantFrom(...junk) }), { nil: undefined, freq: 2 });

const messageArb: fc.Arbitrary<Message> = fc
  .record({
    type: fc.constantFrom('track', 'identify', 'alias', 'page'),
    userId: maybe(users),
    anonymousId: maybe(anonymous),
    email: maybe(emails),
    device: maybe(devices),
    previousId: fc.oneof(fc.constantFrom(...anonymous, ...users), fc.constantFrom(...junk)),
  })
  .map((r) => {
    const m: Message = { type: r.type as Message['type'], messageId: '', context: {}, integrations: {}, timestamp: '2026-01-01T00:00:00.000Z', receivedAt: '2026-01-01T00:00:00.000Z' };
    if (r.userId !== undefined) m.userId = r.userId;
    if (r.anonymousId !== undefined) m.anonymousId = r.anonymousId;
    if (r.device !== undefined) m.context.device = { id: r.device };
    if (r.type === 'identify') m.traits = r.email !== undefined ? { email: r.email } : {};
    if (r.type === 'track') m.event = 'Viewed';
    if (r.type === 'alias') m.previousId = r.previousId;
    return m;
  });

const rulesArb: fc.Arbitrary<RefRules> = fc.oneof(
  fc.constant<RefRules>({ priority: ['user_id', 'email', 'phone', 'anonymous_id', 'device_id'], limits: { user_id: 1 } }),
  fc.record({
    priority: fc.shuffledSubarray([...TYPES], { minLength: 1 }),
    limits: fc.record({ user_id: fc.integer({ min: 1, max: 2 }), anonymous_id: fc.integer({ min: 1, max: 3 }), email: fc.integer({ min: 1, max: 2 }), device_id: fc.integer({ min: 1, max: 2 }) }),
  }),
);

/* ---------- the real resolver: the stage over the SQLite identity store ---------- */

async function real(messages: Message[], rules: RefRules, chunks: number[], restartEvery: number) {
  const db = new Database(':memory:');
  const identity = openSqliteIdentityStore(db);
  const stored: StoredEvent[] = messages.map((m, i) => ({ id: i + 1, workspaceId: 'w', sourceId: 's', message: { ...m, messageId: `m${i + 1}` }, violations: [] }));
  const body: IdentityRulesBody = { ...compileIdentityRules({ key: 'default' }).body, priority: rules.priority, limits: rules.limits };
  const active = new ActiveIdentityRules({ get: async <T,>() => ({ version: 1, body: body as T }) });
  let n = 0;
  const newStage = () => new ResolveStage({ after: async (afterId, limit) => stored.filter((e) => e.id > afterId).slice(0, limit) }, identity, active, new ManualClock(), undefined, () => `p${++n}`);
  let stage = newStage();
  // Uneven batches: the graph the stage keeps in memory must follow what it committed. Every `restartEvery`
  // batches a new stage takes over (a restart), which loads the graph from storage.
  for (let i = 0; await stage.process(chunks[i % chunks.length]); i++) {
    if (restartEvery > 0 && (i + 1) % restartEvery === 0) stage = newStage();
  }
  const rows = db.prepare('SELECT i.profile_id, p.age, i.type, i.value FROM identity_identifiers i JOIN identity_profiles p ON p.id = i.profile_id').all() as { profile_id: string; age: number; type: string; value: string }[];
  const byProfile = new Map<string, string[]>();
  for (const r of rows) byProfile.set(r.profile_id, [...(byProfile.get(r.profile_id) ?? [`age:${r.age}`]), `${r.type}:${r.value}`]);
  const events = new Map<string, string[]>();
  for (const r of db.prepare('SELECT event_id, profile_id FROM identity_event_profiles').all() as { event_id: number; profile_id: string }[]) {
    events.set(r.profile_id, [...(events.get(r.profile_id) ?? []), String(r.event_id)]);
  }
  const conflicts = (db.prepare('SELECT event_id FROM identity_conflicts ORDER BY event_id').all() as { event_id: number }[]).map((r) => r.event_id);
  const live = (db.prepare('SELECT COUNT(*) AS n FROM identity_profiles WHERE merged_into IS NULL').get() as { n: number }).n;
  db.close();
  return { identifiers: canonical([...byProfile.values()]), events: canonical([...events.values()]), conflicts, live };
}

describe('resolver against the union-find reference', () => {
  it('partitions identifiers and events into the same profiles, with the same conflicts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(messageArb, { minLength: 1, maxLength: 60 }), rulesArb, fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 3 }), async (messages, rules, chunks, restartEvery) => {
        const expected = reference(messages, rules);
        const actual = await real(messages, rules, chunks, restartEvery);
        expect(actual.identifiers).toEqual(expected.identifiers);
        expect(actual.events).toEqual(expected.events);
        expect(actual.conflicts).toEqual(expected.conflicts);
        expect(actual.live).toBe(expected.identifiers.length);
      }),
      { numRuns: 300 },
    );
  });
});
