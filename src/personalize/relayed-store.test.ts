import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqlite, type Sqlite } from '../storage/sqlite/database.js';
import { openSqlitePersonalizeStore, type DecisionRecord, type PersonalizeStore } from '../storage/sqlite/personalize-store.js';
import { RelayedPersonalizeStore, RelayedWrites, type PersonalizeWrite } from './relayed-store.js';

// The front's store over a real store.db: the core's connection writes what the front relays, the front reads on
// its own connection; in between, sent writes count on the front until the core acknowledges them.
let dir: string;
let coreDb: Sqlite;
let frontDb: Sqlite;
let core: PersonalizeStore;
let sent: { seq: number; writes: PersonalizeWrite[] }[];
let front: RelayedPersonalizeStore;

const decision = (id: string, offer: string | null, at = 1_000): DecisionRecord => ({
  id, workspaceId: 'ws', decision: 'hero', version: 1, visitor: 'v1', profileId: 'p1', group: 'policy', offer, policy: 'rules',
  features: null, scores: {}, ineligible: {}, at, reward: null, rewardedAt: null, rewardEvent: null,
});
/** The core applies the first `n` messages sent so far (as RelayedWrites would, without acknowledging). */
const applyOnCore = (n = sent.length) => {
  for (const m of sent.splice(0, n)) {
    for (const w of m.writes) {
      if (w.op === 'record') core.record(w.rows);
      else if (w.op === 'reward') core.reward(w.workspaceId, w.id, w.value, w.event, w.at);
      else if (w.op === 'saveModels') core.saveModels(w.workspaceId, w.decision, w.models, w.at);
      else core.forget(w.workspaceId, w.decision);
    }
  }
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tandem-relayed-'));
  coreDb = openSqlite(join(dir, 'store.db'), 'normal');
  core = openSqlitePersonalizeStore(coreDb);
  frontDb = openSqlite(join(dir, 'store.db'), 'normal');
  const reader = openSqlitePersonalizeStore(frontDb);
  frontDb.pragma('query_only = ON');
  sent = [];
  front = new RelayedPersonalizeStore(reader, (seq, writes) => sent.push({ seq, writes: structuredClone(writes) }));
});
afterEach(() => {
  coreDb.close();
  frontDb.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('RelayedPersonalizeStore', () => {
  it('counts sent decisions in caps before, while and after the core writes them, exactly once', () => {
    front.record([decision('d1', 'x'), decision('d2', 'x'), decision('d3', null)]);
    expect(Object.fromEntries(front.impressions('ws', 'hero', 'v1', 0))).toEqual({ x: 2 });
    // Written by the core, not yet acknowledged: read from the database, not counted twice.
    applyOnCore();
    expect(Object.fromEntries(front.impressions('ws', 'hero', 'v1', 0))).toEqual({ x: 2 });
    front.acknowledged(1);
    expect(front.unacknowledged).toBe(0);
    expect(Object.fromEntries(front.impressions('ws', 'hero', 'v1', 0))).toEqual({ x: 2 });
    // Outside the window, another visitor: not counted.
    front.record([decision('d4', 'x', 500)]);
    expect(Object.fromEntries(front.impressions('ws', 'hero', 'v1', 900))).toEqual({ x: 2 });
    expect(front.impressions('ws', 'hero', 'v2', 0).size).toBe(0);
  });

  it('finds a sent decision for a reward and counts one reward per decision, in flight or written', () => {
    front.record([decision('d1', 'x')]);
    expect(front.get('ws', 'd1')).toMatchObject({ id: 'd1', offer: 'x' });
    expect(front.get('other', 'd1')).toBeUndefined();
    expect(front.reward('ws', 'd1', 1, 'Clicked', 2_000)).toBe(true);
    expect(front.reward('ws', 'd1', 1, 'Clicked', 2_001)).toBe(false);
    // The core inserts the decision, then records its reward (the order it was sent in).
    applyOnCore();
    front.acknowledged(2);
    expect(core.get('ws', 'd1')).toMatchObject({ reward: 1, rewardEvent: 'Clicked' });

    // A decision only in the database: a second reward sent before the first is acknowledged does not count.
    core.record([decision('d2', 'x')]);
    expect(front.reward('ws', 'd2', 2, 'Bought', 3_000)).toBe(true);
    expect(front.reward('ws', 'd2', 2, 'Bought', 3_001)).toBe(false);
    applyOnCore();
    front.acknowledged(3);
    expect(front.reward('ws', 'd2', 2, 'Bought', 3_002)).toBe(false);
    expect(core.get('ws', 'd2')).toMatchObject({ reward: 2, rewardedAt: 3_000 });
    expect(front.reward('ws', 'missing', 1, 'Clicked', 0)).toBe(false);
  });

  it('sends model saves and forgetting to the core, and reads models back from the database', () => {
    const model = { n: 1 };
    front.saveModels('ws', 'hero', [{ offer: 'x', signature: 's', model }], 10);
    model.n = 2; // learning goes on in memory: what was sent stays as it was
    // Not written yet: a bandit reloaded now starts from the models sent.
    expect(core.models('ws', 'hero')).toEqual([]);
    expect(front.models('ws', 'hero')).toEqual([{ offer: 'x', signature: 's', model: { n: 1 } }]);
    applyOnCore();
    front.acknowledged(1);
    expect(front.models('ws', 'hero')).toEqual([{ offer: 'x', signature: 's', model: { n: 1 } }]);
    front.record([decision('d1', 'x')]);
    front.forget('ws', 'hero');
    expect(front.impressions('ws', 'hero', 'v1', 0).size).toBe(0);
    applyOnCore();
    expect(core.models('ws', 'hero')).toEqual([]);
    expect(core.get('ws', 'd1')).toBeUndefined();
  });

  it('never writes on its own connection', () => {
    expect(() => frontDb.prepare("DELETE FROM personalize_decisions WHERE id = 'x'").run()).toThrow(/readonly|read-only|query_only/i);
  });
});

describe('RelayedWrites (core side)', () => {
  it('applies messages in order, retries a failed one before any later one, and acknowledges the last applied', async () => {
    const applied: string[] = [];
    const acks: number[] = [];
    let failures = 1;
    const writes = new RelayedWrites(
      (w) => {
        const op = w[0].op;
        if (op === 'reward' && failures-- > 0) throw new Error('database is locked');
        applied.push(op);
      },
      (seq) => acks.push(seq),
      () => undefined,
      10,
    );
    writes.receive(1, [{ op: 'record', rows: [] }]);
    writes.receive(2, [{ op: 'reward', workspaceId: 'ws', id: 'd', value: 1, event: 'e', at: 0 }]);
    writes.receive(3, [{ op: 'forget', workspaceId: 'ws', decision: 'hero' }]);
    expect(applied).toEqual(['record']);
    expect(acks).toEqual([1]);
    expect(writes.pending).toBe(2);
    await new Promise((r) => setTimeout(r, 50));
    expect(applied).toEqual(['record', 'reward', 'forget']);
    expect(acks).toEqual([1, 3]);
    expect(writes.pending).toBe(0);
  });
});
