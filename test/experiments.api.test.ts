import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTandem, type Running } from './harness.js';

let t: Running;
beforeAll(async () => {
  t = await startTandem();
});
afterAll(async () => t?.stop());

const armOf = (salt: string, id: string, arms: string[]) => {
  const u = parseInt(createHash('md5').update(`${salt}:${id}`).digest('hex').slice(0, 13), 16) / 2 ** 52;
  return arms[Math.min(arms.length - 1, Math.floor(u * arms.length))];
};
const json = async (res: Response) => ({ status: res.status, body: (await res.json()) as any });
const exp = (over: Record<string, unknown> = {}) => ({
  key: 'merge_test', arms: [{ key: 'a', weight: 1 }, { key: 'b', weight: 1 }], metrics: [{ key: 'buy', type: 'conversion', event: 'Order Completed', within: '7d' }], ...over,
});

describe('experiments API', () => {
  it('refuses bad definitions with a 4xx naming the field, and versions good ones', async () => {
    const bad = async (body: unknown) => json(await t.admin('/experiments', { method: 'POST', json: body }));
    expect((await bad(exp({ control: 'zz' }))).body.error).toMatchObject({ path: 'control' });
    expect((await bad(exp({ metrics: [{ key: 'm', type: 'conversion', event: 'E', within: 'soon' }] }))).status).toBe(400);
    expect((await bad(exp({ arms: [{ key: 'a', weight: 1 }] }))).body.error.message).toMatch(/arms/);
    // An unknown field is refused by the shared route validator (its message names no field today: see the report).
    expect((await bad(exp({ colour: 'red' }))).status).toBe(400);
    expect((await bad(exp({ targeting: { trait: 'x', between: 3 } }))).body.error.message).toMatch(/^targeting/);
    const created = await t.admin('/experiments', { method: 'POST', json: exp() });
    expect(created.status).toBe(201);
    const updated = await t.admin('/experiments/merge_test', { method: 'PUT', json: exp({ name: 'Merge test' }) });
    expect(updated.status).toBe(200);
    expect(Number(updated.headers.get('tandem-version'))).toBeGreaterThan(Number(created.headers.get('tandem-version')));
    expect((await json(await t.admin('/experiments/nope/results'))).status).toBe(404);
    expect((await json(await t.admin('/experiments/merge_test/assignment'))).body.error).toMatchObject({ path: 'profile_id' });
  });

  it('after a merge the survivor keeps its own arm, and a profile exposed to both arms is a crossover left out', async () => {
    const at = (d: number) => new Date(Date.UTC(2026, 5, 1) + d * 3_600_000).toISOString();
    // Two people as far as Tandem knows; each is exposed to a different arm, one of them converts.
    await t.collect('/v1/batch', {
      batch: [
        { type: 'track', anonymousId: 'anon-1', event: 'Experiment Exposed', properties: { experiment: 'merge_test', arm: 'a' }, timestamp: at(0) },
        { type: 'track', userId: 'user-1', event: 'Experiment Exposed', properties: { experiment: 'merge_test', arm: 'b' }, timestamp: at(1) },
        { type: 'track', userId: 'user-2', event: 'Experiment Exposed', properties: { experiment: 'merge_test', arm: 'b' }, timestamp: at(1) },
        { type: 'track', userId: 'user-2', event: 'Order Completed', properties: {}, timestamp: at(2) },
      ],
    });
    await t.settle();
    const before = (await json(await t.admin('/profiles/lookup?type=anonymous_id&value=anon-1'))).body.id as string;
    const user = (await json(await t.admin('/profiles/lookup?type=user_id&value=user-1'))).body.id as string;
    expect(before).not.toBe(user);
    let results = (await json(await t.admin('/experiments/merge_test/results'))).body;
    expect(results.exposures, JSON.stringify(results)).toEqual({ a: 1, b: 2 });
    expect(results.crossovers).toBe(0);

    await t.collect('/v1/identify', { userId: 'user-1', anonymousId: 'anon-1', traits: {} });
    await t.settle();
    const survivor = (await json(await t.admin('/profiles/lookup?type=anonymous_id&value=anon-1'))).body.id as string;
    expect([before, user]).toContain(survivor);
    const merged = survivor === before ? user : before;
    for (const q of [`profile_id=${merged}`, `profile_id=${survivor}`, 'type=anonymous_id&value=anon-1', 'type=user_id&value=user-1']) {
      const a = (await json(await t.admin(`/experiments/merge_test/assignment?${q}`))).body;
      expect(a).toEqual({ experiment: 'merge_test', profileId: survivor, arm: armOf('merge_test', survivor, ['a', 'b']), reason: 'assigned', expose: true });
    }
    results = (await json(await t.admin('/experiments/merge_test/results'))).body;
    expect(results.crossovers).toBe(1);
    expect(results.exposures).toEqual({ a: 0, b: 1 });
    expect(results.metrics[0].arms.find((x: { arm: string }) => x.arm === 'b')).toMatchObject({ n: 1, value: 1 });
    expect(results.recommendation.decision).toBe('keep_running');
  });

  it('reads metric windows from the warehouse: from the first exposure to within after it, inclusive; CUPED from before it', async () => {
    await t.admin('/experiments', {
      method: 'POST',
      json: exp({
        key: 'windows',
        metrics: [
          { key: 'conv', type: 'conversion', event: 'Order Completed', within: '1d' },
          { key: 'rev', type: 'revenue', event: 'Order Completed', property: 'total', within: '1d', cuped: { before: '7d' } },
          { key: 'views', type: 'count', event: 'Page Viewed', within: '1d' },
        ],
      }),
    });
    const T = Date.UTC(2026, 3, 1);
    const at = (ms: number) => new Date(T + ms).toISOString();
    const H = 3_600_000;
    const x = (userId: string, arm: string, ms = 0) => ({ type: 'track', userId, event: 'Experiment Exposed', properties: { experiment: 'windows', arm }, timestamp: at(ms) });
    const order = (userId: string, total: unknown, ms: number) => ({ type: 'track', userId, event: 'Order Completed', properties: { total }, timestamp: at(ms) });
    await t.collect('/v1/batch', {
      batch: [
        x('w1', 'a'), order('w1', 10, 24 * H), order('w1', 5, 24 * H + 1), order('w1', 7, -24 * H),
        ...[1, 2, 3].map((i) => ({ type: 'track', userId: 'w1', event: 'Page Viewed', properties: {}, timestamp: at(i * H) })),
        x('w4', 'a'),
        x('w2', 'b'), x('w2', 'b', 2 * H),
        x('w3', 'b'), order('w3', 'abc', H),
      ],
    });
    await t.settle();
    const r = (await json(await t.admin('/experiments/windows/results'))).body;
    expect(r.exposures).toEqual({ a: 2, b: 2 });
    const value = (metric: string, arm: string) => r.metrics.find((m: { key: string }) => m.key === metric).arms.find((a: { arm: string }) => a.arm === arm).value;
    expect([value('conv', 'a'), value('conv', 'b')]).toEqual([0.5, 0.5]); // the order at exactly 1d counts; w3's counts though its total is no number
    expect([value('rev', 'a'), value('rev', 'b')]).toEqual([5, 0]); // 10 in the window, not the 5 one ms later nor the 7 before
    expect([value('views', 'a'), value('views', 'b')]).toEqual([1.5, 0]);
    // Covariate: w1 spent 7 in the week before; x = (7, 0, 0, 0), y = (10, 0, 0, 0) pooled: θ = cov / var = 13.125 / 9.1875 = 10/7.
    const rev = r.metrics.find((m: { key: string }) => m.key === 'rev');
    expect(rev.arms[1].cuped.theta).toBeCloseTo(10 / 7, 9);
  });

  it('a journey split bound to an experiment records exposures as track events that the results count', async () => {
    await t.admin('/experiments', { method: 'POST', json: exp({ key: 'subject_line', salt: 's1', metrics: [{ key: 'open', type: 'conversion', event: 'Email Opened', within: '1d' }] }) });
    const journey = await t.admin('/journeys', {
      method: 'POST',
      json: {
        key: 'welcome', trigger: { type: 'event', event: 'Signed Up' }, start: 'ab',
        nodes: { ab: { type: 'split', experiment: 'subject_line', branches: [{ arm: 'a', next: 'done_a' }, { arm: 'b', next: 'done_b' }] }, done_a: { type: 'exit' }, done_b: { type: 'exit' } },
      },
    });
    expect(journey.status).toBe(201);
    await t.collect('/v1/batch', { batch: Array.from({ length: 40 }, (_, i) => ({ type: 'track', userId: `su${i}`, event: 'Signed Up', properties: {} })) });
    await t.settle();
    await t.app.journeys.drain();
    await t.app.experiments.drain();
    await t.settle();
    const results = (await json(await t.admin('/experiments/subject_line/results'))).body;
    const ids = await Promise.all(Array.from({ length: 40 }, async (_, i) => (await json(await t.admin(`/profiles/lookup?type=user_id&value=su${i}`))).body.id as string));
    const expected = { a: 0, b: 0 } as Record<string, number>;
    for (const id of ids) expected[armOf('s1', id, ['a', 'b'])]++;
    expect(results.exposures).toEqual(expected);
    const events = (await json(await t.admin('/events?event=Experiment%20Exposed&limit=100'))).body.data as { message: { userId: string; properties: Record<string, unknown> } }[];
    const mine = events.filter((e) => e.message.properties.experiment === 'subject_line');
    expect(mine).toHaveLength(40);
    for (const e of mine) {
      const i = Number(e.message.userId.slice(2));
      expect(e.message.properties).toEqual({ experiment: 'subject_line', arm: armOf('s1', ids[i], ['a', 'b']), journey: 'welcome', node: 'ab' });
    }
  });

  it('is definable as workspace code: an apply validates it with the same checks and the journey engine sees it at once', async () => {
    const bad = await t.admin('/workspace/apply', { method: 'POST', json: { documents: [{ kind: 'experiments', ...exp({ key: 'ws_exp', control: 'nope' }) }] } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.message).toMatch(/control: 'nope' is not one of the arms/);
    const applied = await t.admin('/workspace/apply', {
      method: 'POST',
      json: {
        documents: [
          { kind: 'experiments', ...exp({ key: 'ws_exp', salt: 'ws' }) },
          { kind: 'journeys', key: 'ws_journey', trigger: { type: 'event', event: 'Joined' }, start: 's', nodes: { s: { type: 'split', experiment: 'ws_exp', branches: [{ arm: 'a' }, { arm: 'b' }] } } },
        ],
      },
    });
    expect(applied.status).toBe(200);
    expect(((await applied.json()) as any).errors).toEqual([]);
    expect(t.app.experiments.running('default').get('ws_exp')).toMatchObject({ key: 'ws_exp', salt: 'ws', control: 'a' });
    await t.collect('/v1/track', { userId: 'joiner', event: 'Joined', properties: {} });
    await t.settle();
    await t.app.journeys.drain();
    const id = (await json(await t.admin('/profiles/lookup?type=user_id&value=joiner'))).body.id as string;
    const trail = (await json(await t.admin(`/profiles/${id}/trace?journey=ws_journey`))).body.trail;
    expect(trail.find((r: { node: string }) => r.node === 's').detail).toMatchObject({ experiment: 'ws_exp', arm: armOf('ws', id, ['a', 'b']), exposed: true });
  });

  it('decide-node decisions are queryable with every arm posterior', async () => {
    const saved = await t.admin('/journeys', {
      method: 'POST',
      json: {
        key: 'nba', trigger: { type: 'event', event: 'Visited' }, start: 'pick',
        nodes: {
          pick: { type: 'decide', reward: { event: 'Order Completed', within: '2d' }, arms: [{ key: 'x', next: 'end' }, { key: 'y', eligible: { trait: 'plan', eq: 'pro' }, next: 'end' }] },
          end: { type: 'exit' },
        },
      },
    });
    expect(saved.status).toBe(201);
    await t.collect('/v1/batch', { batch: Array.from({ length: 10 }, (_, i) => ({ type: 'track', userId: `v${i}`, event: 'Visited', properties: {} })) });
    await t.settle();
    await t.app.journeys.drain();
    const log = (await json(await t.admin('/journeys/nba/decisions?node=pick'))).body.data;
    expect(log).toHaveLength(10);
    for (const d of log) {
      expect(d.arm).toBe('x'); // y needs plan = pro
      expect(d.outcome).toBe('pending');
      expect(d.posteriors.map((p: { arm: string }) => p.arm)).toEqual(['x', 'y']);
      expect(d.posteriors[1].eligible).toBe(false);
    }
    const arms = (await json(await t.admin('/journeys/nba/nodes/pick/arms'))).body;
    expect(arms.arms.find((a: { arm: string }) => a.arm === 'x')).toMatchObject({ pending: 10, successes: 0, failures: 0 });
    const bad = await t.admin('/journeys', { method: 'POST', json: { key: 'bad', trigger: { type: 'event', event: 'E' }, start: 'd', nodes: { d: { type: 'decide', reward: { event: 'O', within: 'later' }, arms: [{ key: 'x' }] } } } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.message).toMatch(/^nodes.d.reward.within/);
  });

  it('erasing a profile (DELETE /profiles/<id>) removes its exposures and decisions', async () => {
    const id = (await json(await t.admin('/profiles/lookup?type=user_id&value=v0'))).body.id as string;
    expect(t.app.experiments.decisions('default', { profileId: id, limit: 10 })).toHaveLength(1);
    const erased = await json(await t.admin(`/profiles/${id}`, { method: 'DELETE' }));
    expect(erased.status).toBe(200);
    expect(erased.body.erased.hooks.experiments).toBe(1);
    expect(t.app.experiments.decisions('default', { profileId: id, limit: 10 })).toHaveLength(0);
    expect((await json(await t.admin('/journeys/nba/decisions'))).body.data.some((d: { profileId: string }) => d.profileId === id)).toBe(false);
  });
});
