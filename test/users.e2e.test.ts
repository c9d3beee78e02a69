import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/core/clock.js';
import { startTandem, type Running } from './harness.js';
import { routeTable } from './route-table.js';
import { READ_ONLY_POSTS } from '../src/users/roles.js';

const signIn = async (url: string, body: unknown) => {
  const res = await fetch(`${url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  return { res, cookie, body: (await res.json()) as Record<string, unknown> };
};

describe('users, roles and sessions', () => {
  let t: Running;
  const clock = new ManualClock(Date.parse('2026-03-01T10:00:00Z'));
  beforeAll(async () => {
    t = await startTandem({ clock, config: { network: { signInRateLimit: { perSecond: 0 } } } }); // many sign-ins from one address: the per-name throttle is under test here
    for (const [name, role] of [['vera', 'viewer'], ['ed', 'editor'], ['ada', 'admin']]) {
      const res = await t.admin('/users', { method: 'POST', json: { name, password: `${name}-secret-pw`, role } });
      expect(res.status).toBe(201);
    }
  });
  afterAll(() => t?.stop());

  it('signs in with a password, answers who is signed in, and signs out', async () => {
    const { res, cookie, body } = await signIn(t.url, { name: 'ed', password: 'ed-secret-pw' });
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie()[0]).toMatch(/^tandem_session=tds_[\w-]+; HttpOnly; Path=\/; SameSite=Strict; Max-Age=43200$/);
    expect(body).toMatchObject({ name: 'ed', role: 'editor', workspaceId: 'default', expiresAt: '2026-03-01T22:00:00.000Z' });
    const me = await fetch(`${t.url}/api/v1/session`, { headers: { cookie } });
    expect(await me.json()).toMatchObject({ name: 'ed', role: 'editor' });
    // The session token works as a bearer token too (scripts).
    expect((await fetch(`${t.url}/api/v1/session`, { headers: { authorization: `Bearer ${body.token}` } })).status).toBe(200);
    expect((await fetch(`${t.url}/api/v1/session`, { method: 'DELETE', headers: { cookie } })).status).toBe(204);
    const after = await fetch(`${t.url}/api/v1/session`, { headers: { cookie } });
    expect(after.status).toBe(401);
  });

  it('refuses a wrong password and an unknown name with the same 401, and names missing fields', async () => {
    const wrong = await signIn(t.url, { name: 'ed', password: 'nope-nope-nope' });
    const unknown = await signIn(t.url, { name: 'nobody', password: 'nope-nope-nope' });
    expect([wrong.res.status, unknown.res.status]).toEqual([401, 401]);
    expect((wrong.body.error as { message: string }).message).toBe((unknown.body.error as { message: string }).message);
    const missing = await signIn(t.url, { name: 'ed' });
    expect(missing.res.status).toBe(400);
    expect(missing.body).toMatchObject({ error: { path: 'password' } });
    const extra = await signIn(t.url, { name: 'ed', password: 'ed-secret-pw', role: 'admin' });
    expect(extra.res.status).toBe(400);
  });

  it('throttles a name after 10 failed sign-ins', async () => {
    await t.admin('/users', { method: 'POST', json: { name: 'guessme', password: 'guessme-secret', role: 'viewer' } });
    for (let i = 0; i < 10; i++) expect((await signIn(t.url, { name: 'guessme', password: `wrong-${i}-password` })).res.status).toBe(401);
    const refused = await signIn(t.url, { name: 'guessme', password: 'guessme-secret' });
    expect(refused.res.status).toBe(429);
    expect(refused.body).toMatchObject({ error: { code: 'too_many_attempts', path: 'name' } });
    clock.advance(15 * 60_000);
    expect((await signIn(t.url, { name: 'guessme', password: 'guessme-secret' })).res.status).toBe(200);
    expect((await t.admin('/users/guessme', { method: 'DELETE' })).status).toBe(204);
  });

  it('exchanges the admin token for an admin session', async () => {
    const { res, body } = await signIn(t.url, { token: 'test-admin-token' });
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ name: 'admin', role: 'admin' });
    expect((await signIn(t.url, { token: 'wrong' })).res.status).toBe(401);
  });

  it('expires a session after 12 hours', async () => {
    const { cookie } = await signIn(t.url, { name: 'vera', password: 'vera-secret-pw' });
    clock.advance(12 * 3_600_000 - 1);
    expect((await fetch(`${t.url}/api/v1/sources`, { headers: { cookie } })).status).toBe(200);
    clock.advance(1);
    expect((await fetch(`${t.url}/api/v1/sources`, { headers: { cookie } })).status).toBe(401);
  });

  it('gives a viewer 403 on every admin route that is not a read, taken from the route table', async () => {
    const { cookie } = await signIn(t.url, { name: 'vera', password: 'vera-secret-pw' });
    const writes = routeTable(t.app.http).filter(
      (r) => r.url.startsWith('/api/v1/') && !['GET', 'HEAD', 'OPTIONS'].includes(r.method) && r.url !== '/api/v1/session' && !(r.method === 'POST' && READ_ONLY_POSTS.includes(r.url)),
    );
    expect(writes.length).toBeGreaterThan(60);
    const answers = await Promise.all(
      writes.map(async (r) => {
        const url = r.url.replace(/:[A-Za-z]+/g, '1');
        const res = await fetch(`${t.url}${url}`, { method: r.method, headers: { cookie, 'content-type': 'application/json' }, body: r.method === 'DELETE' ? undefined : '{}' });
        return `${r.method} ${r.url} ${res.status}`;
      }),
    );
    expect(answers.filter((a) => !a.endsWith(' 403'))).toEqual([]);
    // ...and may read.
    expect((await fetch(`${t.url}/api/v1/audiences`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${t.url}/api/v1/users`, { headers: { cookie } })).status).toBe(403);
  });

  it('lets a viewer run the read-only POSTs (previews, simulations, reports), which change nothing', async () => {
    // Every listed route exists (a renamed route would otherwise leave a stale entry that allows nothing).
    const posts = new Set(routeTable(t.app.http).filter((r) => r.method === 'POST').map((r) => r.url));
    expect(READ_ONLY_POSTS.filter((r) => !posts.has(r))).toEqual([]);
    // Something for each route to read: a profile with history, a template, a journey, a function.
    await t.collect('/v1/identify', { userId: 'ro-1', traits: { email: 'ro@example.com', first_name: 'Ro' } });
    await t.collect('/v1/track', { userId: 'ro-1', event: 'Order Completed', properties: { total: 5 } });
    await t.settle();
    const profile = (await (await t.admin('/profiles/lookup?type=user_id&value=ro-1')).json()) as { id: string };
    expect((await t.admin('/templates', { method: 'POST', json: { key: 'ro_sms', channel: 'sms', body: 'Hi {{ traits.first_name }}' } })).status).toBe(201);
    const journey = { key: 'ro_journey', trigger: { type: 'event', event: 'Signed Up' }, start: 'w', nodes: { w: { type: 'wait', duration: '1h', next: 'x' }, x: { type: 'exit' } } };
    expect((await t.admin('/journeys', { method: 'POST', json: journey })).status).toBe(201);
    expect((await t.admin('/functions', { method: 'POST', json: { key: 'ro_fn', type: 'event', sources: ['default'], code: 'export default (e) => e' } })).status).toBe(201);
    const now = Date.now();
    const range = { from: new Date(now - 86_400_000).toISOString(), to: new Date(now + 60_000).toISOString() };
    const bodies: Record<string, unknown> = {
      '/api/v1/audiences/preview': { condition: { trait: 'email', exists: true } },
      '/api/v1/analytics/funnel': { ...range, steps: [{ event: 'Order Completed' }, { event: 'Order Completed' }] },
      '/api/v1/analytics/retention': { ...range, cohort: { event: { event: 'Order Completed' } }, return: { event: 'Order Completed' }, period: 'day', periods: 1 },
      '/api/v1/analytics/paths': { ...range, anchor: { event: 'Order Completed' } },
      '/api/v1/analytics/attribution': { ...range, conversion: { event: 'Order Completed' } },
      '/api/v1/analytics/campaigns': { ...range, conversion: { event: 'Order Completed' } },
      '/api/v1/templates/:key/render': { profileId: profile.id },
      '/api/v1/journeys/:key/simulate': { profile_id: profile.id, until: '2h' },
      '/api/v1/journeys/:key/backtest': range,
      '/api/v1/identity-rules/:key/simulate': {},
      '/api/v1/functions/:key/test': { event: { type: 'track', event: 'Tested', userId: 'ro-2' } },
      '/api/v1/models-sql/preview': { sql: 'select 1 as one' },
      '/api/v1/workspace/plan': { documents: [{ kind: 'audiences', key: 'planned', condition: { trait: 'email', exists: true } }] },
    };
    const keys: Record<string, string> = { '/api/v1/templates/:key/render': 'ro_sms', '/api/v1/journeys/:key/simulate': 'ro_journey', '/api/v1/journeys/:key/backtest': 'ro_journey', '/api/v1/identity-rules/:key/simulate': 'default', '/api/v1/functions/:key/test': 'ro_fn' };
    expect(Object.keys(bodies).sort()).toEqual([...READ_ONLY_POSTS].sort());
    // What a change would move: the workspace version, the audit log, the event log, the profiles, the definitions.
    const state = async () => {
      const heads = await Promise.all(Array.from({ length: t.app.log.partitions }, (_, p) => t.app.log.head(p)));
      const read = async (path: string) => (await t.admin(path)).json();
      return JSON.stringify([heads, await read('/versions?limit=1'), await read('/audit?limit=200'), await read('/profiles?q=ro&limit=50'), await read('/audiences'), await read('/journeys'), await read('/templates'), await read('/functions'), await read('/identity-rules'), await read('/journeys/ro_journey/stats')]);
    };
    const before = await state();
    const { cookie } = await signIn(t.url, { name: 'vera', password: 'vera-secret-pw' });
    const after = await state(); // signing in is audited: compare from here on
    expect(after).not.toBe(before);
    const answers = await Promise.all(
      READ_ONLY_POSTS.map(async (route) => {
        const url = route.replace(':key', keys[route] ?? '');
        const res = await fetch(`${t.url}${url}`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify(bodies[route]) });
        return `${route} ${res.status}${res.ok ? '' : ` ${await res.text()}`}`;
      }),
    );
    expect(answers.filter((a) => !/ 200$/.test(a))).toEqual([]);
    await t.settle();
    expect(await state()).toBe(after);
  });

  it('lets an editor change definitions but not users, and records who changed what', async () => {
    const { cookie } = await signIn(t.url, { name: 'ed', password: 'ed-secret-pw' });
    const headers = { cookie, 'content-type': 'application/json' };
    const created = await fetch(`${t.url}/api/v1/audiences`, { method: 'POST', headers, body: JSON.stringify({ key: 'emailable', name: 'Emailable', condition: { trait: 'email', exists: true } }) });
    expect(created.status).toBe(201);
    const users = await fetch(`${t.url}/api/v1/users`, { method: 'POST', headers, body: JSON.stringify({ name: 'mallory', password: 'mallory-pw-123', role: 'admin' }) });
    expect(users.status).toBe(403);
    const plan = await fetch(`${t.url}/api/v1/tracking-plans`, { method: 'POST', headers, body: JSON.stringify({ key: 'web', events: {} }) });
    expect(plan.status).toBeLessThan(500);
    const audit = (await (await t.admin('/audit?limit=50')).json()) as { data: { actor: string; action: string; target: string }[] };
    const byEd = audit.data.filter((a) => a.actor === 'ed').map((a) => a.action);
    expect(byEd).toContain('session.create');
    // Written by the audience code with the placeholder actor 'admin': attributed to the caller.
    expect(audit.data.find((a) => a.target === 'emailable')?.actor).toBe('ed');
    expect(audit.data.find((a) => a.action === 'user.create' && a.target === 'vera')?.actor).toBe('admin');
  });

  it('lets an admin change a role (applies to open sessions) and delete a user (ends their sessions)', async () => {
    const { cookie } = await signIn(t.url, { name: 'vera', password: 'vera-secret-pw' });
    const admin = await signIn(t.url, { name: 'ada', password: 'ada-secret-pw' });
    const headers = { cookie: admin.cookie, 'content-type': 'application/json' };
    const put = await fetch(`${t.url}/api/v1/users/vera`, { method: 'PUT', headers, body: JSON.stringify({ role: 'editor' }) });
    expect(await put.json()).toMatchObject({ name: 'vera', role: 'editor' });
    expect(await (await fetch(`${t.url}/api/v1/session`, { headers: { cookie } })).json()).toMatchObject({ role: 'editor' });
    const weak = await fetch(`${t.url}/api/v1/users/vera`, { method: 'PUT', headers, body: JSON.stringify({ password: 'short' }) });
    expect(weak.status).toBe(400);
    expect(await weak.json()).toMatchObject({ error: { path: 'password' } });
    expect((await fetch(`${t.url}/api/v1/users/vera`, { method: 'DELETE', headers: { cookie: admin.cookie } })).status).toBe(204);
    expect((await fetch(`${t.url}/api/v1/session`, { headers: { cookie } })).status).toBe(401);
    const list = (await (await fetch(`${t.url}/api/v1/users`, { headers })).json()) as { data: { name: string }[] };
    expect(list.data.map((u) => u.name)).toEqual(['ada', 'ed']);
  });
});
