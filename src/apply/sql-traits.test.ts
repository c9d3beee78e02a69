import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import type { Store } from '../core/ports/store.js';
import type { ApplyStage } from './apply-stage.js';
import type { ApplyStore, SqlTraitRun } from './ports.js';
import { SqlTraits, type SqlTraitWarehouse } from './sql-traits.js';

const T0 = Date.UTC(2026, 2, 1);
const HOUR = 3_600_000;

/** SqlTraits over fakes: one workspace, the given SQL traits, runs kept in memory, values recorded. */
function setup(warehouse: SqlTraitWarehouse, timeoutMs?: number) {
  const clock = new ManualClock(T0);
  const defs = new Map<string, { version: number; body: unknown }>([['tickets', { version: 1, body: { key: 'tickets', sql: 'SELECT profile_id, 1 AS value FROM c_profiles', schedule: '1h' } }]]);
  const runs = new Map<string, SqlTraitRun>();
  const written: { key: string; values: Map<string, unknown>; at: number }[] = [];
  const store = {
    definitions: {
      get: async (_ws: string, _kind: string, key: string) => defs.get(key),
      list: async () => [...defs].map(([key, d]) => ({ key, ...d })),
    },
  } as unknown as Store;
  const applyStore = {
    traitWorkspaces: () => ['ws'],
    sqlTraitRun: (_ws: string, key: string) => runs.get(key),
    sqlTraitRunPut: (r: SqlTraitRun) => runs.set(r.key, { ...r }),
    sqlTraitRunDelete: (_ws: string, key: string) => runs.delete(key),
  } as unknown as ApplyStore;
  const apply = { setComputed: async (_ws: string, key: string, values: Map<string, unknown>, at: number) => (written.push({ key, values, at }), values.size) } as unknown as ApplyStage;
  const traits = new SqlTraits({ store, applyStore, apply, clock, warehouse, timeoutMs });
  return { clock, defs, runs, written, traits };
}

describe('SqlTraits', () => {
  it('runs a trait when new, then at its last start + schedule; a new version runs at once', async () => {
    let calls = 0;
    const { clock, defs, runs, written, traits } = setup({ run: async () => (calls++, [{ profile_id: 'p1', value: '3' }, { profile_id: 'p2', value: null }]), interrupt: async () => undefined });
    expect(await traits.tick()).toBe(T0 + HOUR);
    expect(calls).toBe(1);
    expect(written[0]).toEqual({ key: 'tickets', values: new Map<string, unknown>([['p1', 3], ['p2', null]]), at: T0 });
    expect(runs.get('tickets')).toMatchObject({ status: 'ok', startedAt: T0, rows: 2, changed: 2, version: 1 });
    clock.set(T0 + HOUR - 1);
    await traits.tick();
    expect(calls).toBe(1);
    clock.set(T0 + HOUR);
    await traits.tick();
    expect(calls).toBe(2);
    defs.set('tickets', { ...defs.get('tickets')!, version: 2 });
    clock.advance(60_000);
    await traits.tick();
    expect(calls).toBe(3);
    expect(traits.status('ws', 'tickets', 2, defs.get('tickets')!.body as never)).toMatchObject({ state: 'ok', lastRunAt: T0 + HOUR + 60_000, nextRunAt: T0 + 2 * HOUR + 60_000 });
  });

  it('records a profile_id returned twice, a failing query and the time limit as errors, changing nothing', async () => {
    let rows: Record<string, unknown>[] = [{ profile_id: 'p1', value: '1' }, { profile_id: 'p1', value: '2' }];
    let pending: ((e: Error) => void) | undefined;
    let mode: 'rows' | 'fail' | 'hang' = 'rows';
    const { clock, runs, written, traits } = setup(
      {
        run: () => (mode === 'rows' ? Promise.resolve(rows) : mode === 'fail' ? Promise.reject(new Error('warehouse: Binder Error: column "nope" not found')) : new Promise((_r, reject) => (pending = reject))),
        interrupt: async () => pending?.(new Error('warehouse: INTERRUPT Error: Interrupted!')),
      },
      1000,
    );
    const first = await traits.runNow('ws', 'tickets');
    expect(first).toMatchObject({ status: 'error', error: "sql: returned profile_id 'p1' more than once; an SQL trait returns at most one row per profile" });
    rows = [{ profile_id: null, value: '1' }];
    expect((await traits.runNow('ws', 'tickets')).error).toBe('sql: returned a row whose profile_id is null');
    mode = 'fail';
    expect((await traits.runNow('ws', 'tickets')).error).toBe('sql: Binder Error: column "nope" not found');
    mode = 'hang';
    const hanging = traits.runNow('ws', 'tickets');
    await new Promise((r) => setTimeout(r, 10));
    clock.advance(1000);
    expect(await hanging).toMatchObject({ status: 'error', error: 'sql: the query ran longer than 1 s and was stopped' });
    expect(written).toEqual([]);
    expect(runs.get('tickets')?.status).toBe('error');
  });
});
