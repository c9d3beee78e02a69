import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TandemError } from '../core/errors.js';
import { fitSendTimePrior, type HourCounts } from '../models/send-time.js';
import { migrate } from '../storage/sqlite/database.js';
import { openSqliteModelStore } from '../storage/sqlite/model-store.js';
import { STORE_MIGRATIONS } from '../storage/sqlite/store-schema.js';
import { modelSendTimes, planBestTime } from './best-time.js';
import { parseJourney } from './definition.js';
import { harness, HOUR, profile, type Harness } from './test-support.js';

// Tuesday 6 January 2026, 09:00 UTC (1 January 2026 was a Thursday).
const TUE_0900 = Date.UTC(2026, 0, 6, 9);
const TUE_1800 = Date.UTC(2026, 0, 6, 18);
// Hours of the week counted from Monday 00:00 UTC, by hand: Tuesday 18:00 = 24 + 18, Wednesday 07:00 = 48 + 7.
const H_TUE_18 = 42;
const H_TUE_11 = 35;
const H_WED_07 = 55;

/**
 * Engagements of the population: most at Wednesday 07:00, then Tuesday 11:00, a few at Tuesday 18:00. The prior's
 * shares are (count + 0.5) / total, so their order is that of the counts: Wed 07:00 > Tue 11:00 > Tue 18:00 > rest.
 */
const population: HourCounts[] = [
  new Map([[H_WED_07, 12], [H_TUE_11, 5]]),
  new Map([[H_WED_07, 9], [H_TUE_11, 4], [H_TUE_18, 1]]),
  new Map([[H_TUE_18, 2], [H_WED_07, 3]]),
];

let h: Harness | undefined;
let dir: string | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A real model run in the harness's store.db, as Models.runOne saves it (artefact.prior, result.output). */
function trainedModel(harnessDb: Harness['db'], key = 'st', output = 'best_hour') {
  migrate(harnessDb, 'store', STORE_MIGRATIONS);
  const runs = openSqliteModelStore(harnessDb);
  const run = runs.begin('w', key, 1, TUE_0900 - 86_400_000);
  runs.save({ ...run, status: 'ok', finishedAt: run.startedAt + 1000, result: { output }, artefact: { prior: fitSendTimePrior(population), asOf: run.startedAt, from: 0 } });
  return runs;
}

const journey = (at: unknown, over: Record<string, unknown> = {}) => ({
  key: 'promo', trigger: { type: 'event', event: 'Browsed' }, re_entry: { policy: 'always' }, start: 'mail',
  nodes: { mail: { type: 'send', channel: 'email', template: 'promo', category: 'transactional', at, next: 'done' }, done: { type: 'exit' } },
  ...over,
});

const bestHour = (hour_of_week: number) => ({ best_hour: { hour_of_week, day: 'x', hour: hour_of_week % 24, share: 0.3, engagements: 9, own_weight: 0.8 } });

/** The harness with a real model store in its store.db holding one trained send-time run. */
async function setup(file?: string) {
  let runs: ReturnType<typeof trainedModel> | undefined;
  h = harness({ start: TUE_0900, file, sendTimes: (ws, key) => modelSendTimes(runs!)(ws, key) });
  runs = trainedModel(h.db);
  return h;
}

describe('planBestTime', () => {
  const model = { run: 3, output: 'best_hour', shares: fitSendTimePrior(population).shares };

  it('waits for the profile\'s best hour within the window', () => {
    const plan = planBestTime({ bestTimeWithin: '24h', model: 'st' }, model, bestHour(H_TUE_18), TUE_0900);
    expect(plan.at).toBe(TUE_1800);
    expect(plan.detail).toMatchObject({ source: 'profile', in_window: true, run: 3, target: { hour_of_week: 42, day: 'Tue', hour: 18 } });
  });

  it('uses the population\'s best hour when the profile has no value', () => {
    const plan = planBestTime({ bestTimeWithin: '24h', model: 'st' }, model, {}, TUE_0900);
    expect(plan.at).toBe(Date.UTC(2026, 0, 7, 7));
    expect(plan.detail).toMatchObject({ source: 'population', target: { day: 'Wed', hour: 7 } });
  });

  it('a window shorter than the wait: the population\'s best hour inside the window', () => {
    // 09:00 + 4 h: candidates 09:00 (now), 10:00, 11:00, 12:00; of these the population engages most at Tue 11:00.
    const plan = planBestTime({ bestTimeWithin: '4h', model: 'st' }, model, bestHour(H_TUE_18), TUE_0900);
    expect(plan.at).toBe(Date.UTC(2026, 0, 6, 11));
    expect(plan.detail).toMatchObject({ in_window: false, chosen: { day: 'Tue', hour: 11 } });
    // 12:30 + 3 h: 12:30 (now), 13:00, 14:00, 15:00; the population has no engagement in any: ties go to now.
    expect(planBestTime({ bestTimeWithin: '3h', model: 'st' }, model, bestHour(H_TUE_18), Date.UTC(2026, 0, 6, 12, 30)).at).toBe(Date.UTC(2026, 0, 6, 12, 30));
  });

  it('inside the best hour already: now; model never trained or not a send-time model: now, with the reason', () => {
    expect(planBestTime({ bestTimeWithin: '24h', model: 'st' }, model, bestHour(H_TUE_18), TUE_1800 + 20 * 60_000).at).toBe(TUE_1800 + 20 * 60_000);
    const never = planBestTime({ bestTimeWithin: '24h', model: 'st' }, undefined, bestHour(H_TUE_18), TUE_0900);
    expect(never).toMatchObject({ at: TUE_0900, detail: { source: 'none' } });
    expect(String(never.detail.reason)).toContain("model 'st' has never been trained");
    expect(planBestTime({ bestTimeWithin: '24h', model: 'clv' }, { error: "model 'clv' is not a send-time model" }, {}, TUE_0900).detail.reason).toContain('not a send-time model');
  });

  it('reads the newest ok run of a real model store', () => {
    const box = harness({ start: TUE_0900 });
    try {
      const source = modelSendTimes(trainedModel(box.db, 'st', 'best_hour'));
      expect(source('w', 'missing')).toBeUndefined();
      const m = source('w', 'st') as { run: number; output: string; shares: number[] };
      expect(m.run).toBe(1);
      expect(m.output).toBe('best_hour');
      // Shares by hand: totals are counts + 0.5 per hour; sum = 36 engagements + 84.
      expect(m.shares[H_WED_07]).toBeCloseTo((24 + 0.5) / 120, 12);
      expect(m.shares[H_TUE_11]).toBeCloseTo((9 + 0.5) / 120, 12);
    } finally {
      void box.close();
    }
  });
});

describe('send nodes at the best time (engine, simulated clock)', () => {
  const at = { bestTimeWithin: '24h', model: 'st' };

  it('best hour Tuesday 18:00, event Tuesday 09:00: sent at 18:00, and the trace says why', async () => {
    await setup();
    h!.profiles.set('p1', profile('p1'));
    h!.profiles.get('p1')!.computed = bestHour(H_TUE_18);
    await h!.journeys.save('w', journey(at), 'create');
    await h!.emit('p1', 'Browsed');
    expect(h!.outbox()).toEqual([]);
    await h!.advance(9 * HOUR - 1);
    expect(h!.outbox()).toEqual([]);
    await h!.advance(1);
    expect(h!.outbox().map((r) => ({ node: r.node, at: r.at }))).toEqual([{ node: 'mail', at: TUE_1800 }]);
    const trace = h!.journeys.trace('w', 'p1', 'promo');
    expect(trace.trail.find((r) => r.kind === 'wait')!.detail).toMatchObject({ until: TUE_1800, source: 'profile', run: 1, best_time: { model: 'st', within: '24h' } });
    expect(trace.summary.join('\n')).toContain('mail: best time at 2026-01-06T18:00:00.000Z');
  });

  it('no value for the profile: the population\'s hour (Wednesday 07:00)', async () => {
    await setup();
    h!.profiles.set('p2', profile('p2'));
    await h!.journeys.save('w', journey(at), 'create');
    await h!.emit('p2', 'Browsed');
    await h!.advance(2 * 24 * HOUR);
    expect(h!.outbox().map((r) => r.at)).toEqual([Date.UTC(2026, 0, 7, 7)]);
  });

  it('a 4 h window: sent at Tuesday 11:00, the population\'s best hour inside it', async () => {
    await setup();
    h!.profiles.set('p1', { ...profile('p1'), computed: bestHour(H_TUE_18) });
    await h!.journeys.save('w', journey({ bestTimeWithin: '4h', model: 'st' }), 'create');
    await h!.emit('p1', 'Browsed');
    await h!.advance(24 * HOUR);
    expect(h!.outbox().map((r) => r.at)).toEqual([Date.UTC(2026, 0, 6, 11)]);
  });

  it('a model that never trained: sent at once, the reason in the trace', async () => {
    await setup();
    h!.profiles.set('p1', { ...profile('p1'), computed: bestHour(H_TUE_18) });
    await h!.journeys.save('w', journey({ bestTimeWithin: '24h', model: 'nobody' }), 'create');
    await h!.emit('p1', 'Browsed');
    expect(h!.outbox().map((r) => r.at)).toEqual([TUE_0900]);
    const wait = h!.journeys.trace('w', 'p1', 'promo').trail.find((r) => r.kind === 'wait')!;
    expect(wait.detail).toMatchObject({ skipped: true, source: 'none' });
    expect(String(wait.detail.reason)).toContain("model 'nobody' has never been trained");
  });

  it('webhook nodes wait too', async () => {
    await setup();
    h!.profiles.set('p1', { ...profile('p1'), computed: bestHour(H_TUE_18) });
    await h!.journeys.save('w', { ...journey(at), nodes: { mail: { type: 'webhook', channel: 'crm', at } } }, 'create');
    await h!.emit('p1', 'Browsed');
    await h!.advance(24 * HOUR);
    expect(h!.outbox().map((r) => ({ channel: r.channel, at: r.at }))).toEqual([{ channel: 'crm', at: TUE_1800 }]);
  });

  it('the wait survives a restart (the engine\'s timer in store.db)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-best-time-'));
    const file = join(dir, 'store.db');
    await setup(file);
    h!.profiles.set('p1', { ...profile('p1'), computed: bestHour(H_TUE_18) });
    await h!.journeys.save('w', journey(at), 'create');
    await h!.emit('p1', 'Browsed');
    await h!.advance(3 * HOUR);
    await h!.close();
    let runs: ReturnType<typeof openSqliteModelStore> | undefined;
    h = harness({ start: TUE_0900 + 3 * HOUR, file, sendTimes: (ws, key) => modelSendTimes(runs!)(ws, key) });
    runs = openSqliteModelStore(h.db);
    h.profiles.set('p1', { ...profile('p1'), computed: bestHour(H_TUE_18) });
    expect(h.journeys.store.nextWake()).toBe(TUE_1800);
    await h.advance(12 * HOUR);
    expect(h.outbox().map((r) => ({ node: r.node, at: r.at }))).toEqual([{ node: 'mail', at: TUE_1800 }]);
  });

  it('simulate shows the wait and the send at the best hour', async () => {
    await setup();
    await h!.journeys.save('w', journey(at), 'create');
    const sim = await h!.journeys.simulate('w', 'promo', { profile: { computed: bestHour(H_TUE_18) }, until: '2d' });
    expect(sim.messages.map((m) => m.at)).toEqual([TUE_1800]);
    expect(sim.path.find((p) => p.kind === 'wait')!.detail).toMatchObject({ until: TUE_1800, source: 'profile' });
  });
});

describe('validation', () => {
  const err = (body: unknown) => {
    try {
      parseJourney(body);
    } catch (e) {
      return (e as TandemError).message;
    }
    return 'valid';
  };

  it('names the field', () => {
    expect(err(journey({ bestTimeWithin: '24h', model: 'st' }))).toBe('valid');
    expect(err(journey({ bestTimeWithin: '8d', model: 'st' }))).toBe('nodes.mail.at.bestTimeWithin: must be at most 7d (a week holds every hour once)');
    expect(err(journey({ bestTimeWithin: 'soon', model: 'st' }))).toBe('nodes.mail.at.bestTimeWithin: must be a duration such as 24h, 30m or 7d');
    expect(err(journey({ bestTimeWithin: '24h' }))).toBe('nodes.mail.at.model: is required');
    expect(err(journey({ bestTimeWithin: '24h', model: 'st', when: 1 }))).toBe('nodes.mail.at.when: is not a known field here');
  });
});
