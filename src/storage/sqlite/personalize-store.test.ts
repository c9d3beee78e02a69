import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqlite } from './database.js';
import { openSqlitePersonalizeStore, type DecisionRecord } from './personalize-store.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const open = () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-pz-'));
  dirs.push(dir);
  return openSqlitePersonalizeStore(openSqlite(join(dir, 'store.db'), 'normal'));
};
const row = (id: string, offer: string | null, at: number, extra: Partial<DecisionRecord> = {}): DecisionRecord => ({
  id, workspaceId: 'w', decision: 'd', version: 1, visitor: 'v', profileId: 'p1', group: 'policy', offer, policy: 'rules',
  features: null, scores: {}, ineligible: {}, at, reward: null, rewardedAt: null, rewardEvent: null, ...extra,
});

describe('personalize store', () => {
  it('counts impressions per offer within a window, for one visitor and decision', () => {
    const s = open();
    s.record([row('1', 'a', 100), row('2', 'a', 200), row('3', 'b', 300), row('4', null, 300), row('5', 'a', 300, { visitor: 'other' }), row('6', 'a', 300, { decision: 'e' })]);
    expect(s.impressions('w', 'd', 'v', 0)).toEqual(new Map([['a', 2], ['b', 1]]));
    expect(s.impressions('w', 'd', 'v', 150)).toEqual(new Map([['a', 1], ['b', 1]]));
    expect(s.impressions('x', 'd', 'v', 0)).toEqual(new Map());
  });

  it('rewards a decision once, and totals per group', () => {
    const s = open();
    s.record([row('1', 'a', 1), row('2', 'a', 2, { group: 'holdout' }), row('3', 'b', 3, { reward: 2, rewardedAt: 4, rewardEvent: 'E' })]);
    expect(s.reward('w', '1', 1, 'Clicked', 10)).toBe(true);
    expect(s.reward('w', '1', 1, 'Clicked', 11)).toBe(false);
    expect(s.reward('other', '2', 1, 'Clicked', 11)).toBe(false);
    expect(s.get('w', '1')).toMatchObject({ reward: 1, rewardEvent: 'Clicked', rewardedAt: 10 });
    expect(s.totals('w', 'd', 0)).toEqual([
      { group: 'holdout', offer: 'a', n: 1, rewarded: 0, rewardSum: 0 },
      { group: 'policy', offer: 'a', n: 1, rewarded: 1, rewardSum: 1 },
      { group: 'policy', offer: 'b', n: 1, rewarded: 1, rewardSum: 2 },
    ]);
    expect(s.eraseProfiles('w', ['p1'])).toBe(3);
    expect(s.totals('w', 'd', 0)).toEqual([]);
  });
});
