import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/core/clock.js';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { ADMIN_TOKEN, startTandem, type Running } from './harness.js';

const T0 = Date.UTC(2026, 2, 1, 12, 0, 0);
let running: Running[] = [];
afterEach(async () => {
  for (const t of running) await t.stop();
  running = [];
});
async function start(): Promise<Running> {
  const t = await startTandem({ clock: new ManualClock(T0) });
  running.push(t);
  return t;
}
async function json<T = any>(res: Response | Promise<Response>, status = 200): Promise<T> {
  const r = await res;
  const text = await r.text();
  expect(r.status, text).toBe(status);
  return (text ? JSON.parse(text) : undefined) as T;
}
const plan = (t: Running, documents: unknown[], prune = false) => t.admin('/workspace/plan', { method: 'POST', json: { documents, prune } });
const apply = (t: Running, documents: unknown[], extra: Record<string, unknown> = {}) =>
  t.admin('/workspace/apply', { method: 'POST', json: { documents, author: 'alice', message: 'test', ...extra } });

const trackingPlan = {
  kind: 'tracking-plans', key: 'web',
  events: {
    'Cart Updated': { type: 'object', properties: { cart_id: { type: 'string' }, total: { type: 'number' } } },
    'Order Completed': { type: 'object', properties: { total: { type: 'number' } } },
  },
};
const cartAbandoners = { kind: 'audiences', key: 'cart_abandoners', condition: { all: [{ performed: 'Cart Updated', within: '7d' }, { not: { performed: 'Order Completed', within: '7d' } }] } };
const revenue = { kind: 'traits', key: 'revenue', event: 'Order Completed', compute: { sum: 'total' } };
const cartRecovery = {
  kind: 'journeys', key: 'cart_recovery', trigger: { type: 'audience_entered', audience: 'cart_abandoners' }, start: 'wait',
  nodes: { wait: { type: 'wait', duration: '1h', next: 'done' }, done: { type: 'exit' } },
};
const BASE = [trackingPlan, revenue, cartAbandoners, cartRecovery];

describe('workspace as code', () => {
  it('plan shows exactly the expected diff: field-level updates, creates, unchanged, and deletes only with prune', async () => {
    const t = await start();
    const first = await json(apply(t, BASE));
    expect(first.changes.map((c: any) => `${c.op} ${c.kind}/${c.key}`)).toEqual(['create tracking-plans/web', 'create traits/revenue', 'create audiences/cart_abandoners', 'create journeys/cart_recovery']);

    const changed = structuredClone(cartAbandoners);
    changed.condition.all[0].within = '3d';
    const big = { kind: 'audiences', key: 'big_spenders', condition: { computed: 'revenue', gte: 100 } };
    const p = await json(plan(t, [trackingPlan, changed, big, cartRecovery]));
    expect(p.changes).toEqual([
      { kind: 'audiences', key: 'cart_abandoners', op: 'update', fields: [{ path: 'condition.all[0].within', op: 'change', before: '7d', after: '3d' }], impact: ['backfill over 0 events', 'journey cart_recovery depends on it'] },
      { kind: 'audiences', key: 'big_spenders', op: 'create', fields: [{ path: '', op: 'add', after: { key: 'big_spenders', condition: { computed: 'revenue', gte: 100 } } }], impact: ['backfill over 0 events'] },
    ]);
    expect(p.unchanged).toBe(2);
    expect(p.prune).toBe(false);
    expect(p.notInDocuments).toEqual(['sources/default', 'traits/revenue']);
    expect(p.baseVersion).toBeGreaterThanOrEqual(2);

    // With prune, what the files leave out is deleted; the trait is read by big_spenders, so that is refused.
    const refused = await json(plan(t, [trackingPlan, changed, big, cartRecovery], true), 400);
    expect(refused.error.message).toBe("traits/revenue: deleting trait 'revenue' is read by audience 'big_spenders'; change them first");
    const pruned = await json(plan(t, [trackingPlan, changed, cartRecovery], true));
    expect(pruned.changes.map((c: any) => `${c.op} ${c.kind}/${c.key}`)).toEqual(['delete sources/default', 'delete traits/revenue', 'update audiences/cart_abandoners']);
    // Planning wrote nothing.
    expect((await json(t.admin('/audiences/cart_abandoners'))).condition.all[0].within).toBe('7d');
  });

  it('an apply whose last document is invalid applies nothing, and the error names the document and the path', async () => {
    const t = await start();
    const before = (await json(t.admin('/versions'))).data.length;
    const bad = { kind: 'audiences', key: 'broken', condition: { all: [{ performed: 'Cart Updated' }, { performed: 'Order Completed', within: 'soon' }] } };
    const res = await json(apply(t, [...BASE, bad]), 400);
    expect(res.error.code).toBe('invalid_workspace');
    expect(res.error.message).toMatch(/^audiences\/broken: condition\.all\[1\]\.within: /);
    expect(res.errors).toEqual([expect.objectContaining({ document: 'audiences/broken', path: 'condition.all[1].within' })]);
    expect((await json(t.admin('/audiences'))).data).toEqual([]);
    expect((await json(t.admin('/traits'))).data).toEqual([]);
    expect((await json(t.admin('/journeys'))).data).toEqual([]);
    expect((await json(t.admin('/tracking-plans'))).data).toEqual([]);
    expect((await json(t.admin('/versions'))).data.length).toBe(before);

    // Several problems are all reported; an unknown kind is named by position.
    const many = await json(apply(t, [{ kind: 'audience', key: 'x' }, { ...revenue, compute: { sum: 3 } }]), 400);
    expect(many.error.message).toContain('2 documents are invalid; nothing was applied');
    expect(many.errors.map((e: any) => e.document)).toEqual(['documents[0]', 'traits/revenue']);
  });

  it('references between documents of one apply resolve (an audience reading an audience and a trait created with it)', async () => {
    const t = await start();
    const vip = { kind: 'audiences', key: 'vip', condition: { all: [{ in_audience: 'cart_abandoners' }, { computed: 'revenue', gte: 500 }] } };
    const res = await json(apply(t, [...BASE, vip]));
    expect(res.changes).toHaveLength(5);
    // A cycle within the documents is refused.
    const a = { kind: 'audiences', key: 'a', condition: { in_audience: 'b' } };
    const b = { kind: 'audiences', key: 'b', condition: { in_audience: 'a' } };
    const cycle = await json(apply(t, [a, b]), 400);
    expect(cycle.error.message).toMatch(/audiences\/a: condition.in_audience: audiences would reference each other in a cycle: a -> b -> a/);
  });

  it('a computed trait written by a model is a known reference; an unknown one is reported', async () => {
    const t = await start();
    const model = { kind: 'models', key: 'ltv', type: 'clv', clv: { timeUnit: 'weeks', calibrationEnd: '1997-09-30', horizon: 52 } };
    const valuable = { kind: 'audiences', key: 'valuable', condition: { computed: 'ltv.clv', gte: 100 } };
    const withModel = await json(plan(t, [model, valuable]));
    expect(withModel.references).toEqual([]);
    const without = await json(plan(t, [valuable]));
    expect(without.references.map((r: any) => `${r.document} ${r.path} ${r.code}`)).toEqual(['audiences/valuable condition.computed unknown_trait']);
  });

  it('apply records one version with author, message and diff; API changes record versions too; rollback restores an earlier state as a new version', async () => {
    const t = await start();
    const v1 = (await json(apply(t, BASE, { message: 'first' }))).version;
    const changed = structuredClone(cartAbandoners);
    changed.condition.all[0].within = '3d';
    const v2 = (await json(apply(t, [trackingPlan, changed, cartRecovery], { prune: true, message: 'second' }))).version;
    expect(v2).toBe(v1 + 1);
    // A change through the API is a version of its own.
    await json(t.admin('/templates', { method: 'POST', json: { key: 'hello', channel: 'sms', body: 'Hi {{ profile.traits.name }}' } }), 201);

    const list = await json(t.admin('/versions?limit=3'));
    expect(list.data.map((v: any) => [v.version, v.author, v.message])).toEqual([
      [v2 + 1, 'api', 'templates/hello created through the API'],
      [v2, 'alice', 'second'],
      [v1, 'alice', 'first'],
    ]);
    expect(list.data[1].changes).toEqual([
      { kind: 'sources', key: 'default', op: 'delete', fields: [{ path: '', op: 'remove', before: { key: 'default', name: 'Default source' } }] },
      { kind: 'traits', key: 'revenue', op: 'delete', fields: [{ path: '', op: 'remove', before: { key: 'revenue', event: 'Order Completed', compute: { sum: 'total' } } }] },
      { kind: 'audiences', key: 'cart_abandoners', op: 'update', fields: [{ path: 'condition.all[0].within', op: 'change', before: '7d', after: '3d' }] },
    ]);
    const one = await json(t.admin(`/versions/${v2}`));
    expect(one.changes[2].after.condition.all[0].within).toBe('3d');
    await json(t.admin('/versions/999'), 404);

    const exportAt1 = (await json(t.admin('/workspace/export'))).documents;
    const rolled = await json(t.admin('/workspace/rollback', { method: 'POST', json: { to: v1, author: 'bob' } }));
    expect(rolled.version).toBe(v2 + 2);
    expect(rolled.changes.map((c: any) => `${c.op} ${c.kind}/${c.key}`)).toEqual(['create sources/default', 'create traits/revenue', 'update audiences/cart_abandoners', 'delete templates/hello']);
    expect(rolled.writeKeys.default).toMatch(/^wk_/);
    const now = (await json(t.admin('/workspace/export'))).documents;
    const keys = (docs: any[]) => docs.map((d) => `${d.kind}/${d.key ?? 'default'}`).sort();
    expect(keys(now)).toEqual(['audiences/cart_abandoners', 'journeys/cart_recovery', 'sources/default', 'tracking-plans/web', 'traits/revenue']);
    expect(now.find((d: any) => d.key === 'cart_abandoners').condition.all[0].within).toBe('7d');
    expect(keys(exportAt1)).toContain('templates/hello');
    // The rolled-back trait is live again: the apply stage evaluates it.
    expect((await json(t.admin('/traits/revenue'))).compute).toEqual({ sum: 'total' });
    const history = await json(t.admin('/versions?limit=1'));
    expect(history.data[0]).toMatchObject({ version: v2 + 2, author: 'bob', message: `rollback to version ${v1}` });
    // Rolling back to the current state changes nothing.
    expect((await json(t.admin('/workspace/rollback', { method: 'POST', json: { to: v2 + 2 } }))).changes).toEqual([]);
  });

  it('reference checks: an unknown event or property is a warning, and refused in strict mode; impact counts events and dependents', async () => {
    const t = await start();
    await json(t.collect('/v1/track', { userId: 'u1', event: 'Checkout Started', properties: { cart_id: 'c1' } }));
    await json(t.collect('/v1/track', { userId: 'u1', event: 'Checkout Started', properties: { cart_id: 'c2' } }));
    await t.settle();
    const typo = { kind: 'journeys', key: 'checkout', trigger: { type: 'event', event: 'Checkout Startd', where: [{ property: 'cart_id', exists: true }] }, start: 'done', nodes: { done: { type: 'exit' } } };
    const prop = { kind: 'traits', key: 'carts', event: 'Checkout Started', compute: { unique_count: 'cartid' } };
    const audience = { kind: 'audiences', key: 'checkers', condition: { performed: 'Checkout Started', where: [{ property: 'cart_id', exists: true }] } };
    const p = await json(plan(t, [trackingPlan, typo, prop, audience]));
    expect(p.strict).toBe(false);
    expect(p.references.map((r: any) => `${r.document} ${r.path} ${r.code}`)).toEqual([
      'traits/carts compute.unique_count unknown_property',
      'journeys/checkout trigger.event unknown_event',
    ]);
    expect(p.references[1].message).toBe("trigger.event: event 'Checkout Startd' is in no tracking plan and has never been received");
    expect(p.changes.find((c: any) => c.key === 'checkers').impact).toEqual(['backfill over 2 events']);
    expect(p.changes.find((c: any) => c.key === 'carts').impact).toEqual(["backfill over 2 'Checkout Started' events"]);

    const strict = { kind: 'workspace-settings', strict: true };
    const refused = await json(apply(t, [strict, trackingPlan, typo, prop, audience]), 400);
    expect(refused.error.code).toBe('unknown_references');
    expect(refused.error.message).toContain("journeys/checkout: trigger.event: event 'Checkout Startd' is in no tracking plan");
    expect((await json(t.admin('/journeys'))).data).toEqual([]);
    // Fixed, the same apply goes through in strict mode.
    const fixed = await json(apply(t, [strict, trackingPlan, { ...typo, trigger: { ...typo.trigger, event: 'Checkout Started' } }, { ...prop, compute: { unique_count: 'cart_id' } }, audience]));
    expect(fixed.references).toEqual([]);
    expect(fixed.strict).toBe(true);
    expect((await json(t.admin('/journeys/checkout'))).trigger.event).toBe('Checkout Started');
  });

  it('side effects run after the commit: an applied audience is backfilled and a source gets a working write key', async () => {
    const t = await start();
    await json(t.collect('/v1/track', { userId: 'u1', event: 'Cart Updated', properties: { cart_id: 'c1' } }));
    await t.settle();
    const res = await json(apply(t, [cartAbandoners, { kind: 'sources', key: 'web', name: 'Website', mode: 'flag' }]));
    await t.settle();
    const p = await json(t.admin('/profiles/lookup?type=user_id&value=u1'));
    expect(p.audiences).toEqual(['cart_abandoners']);
    const sent = await fetch(`${t.url}/v1/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${res.writeKeys.web}:`).toString('base64')}` },
      body: JSON.stringify({ userId: 'u2', event: 'E' }),
    });
    expect(sent.status).toBe(200);
    // An inline secret in a channel is refused like the API refuses it.
    const secret = await json(apply(t, [{ kind: 'channels', key: 'mail', type: 'email', settings: { host: 'smtp.example.com', from: 'a@example.com', password: 'hunter2' } }]), 400);
    expect(secret.error.message).toMatch(/^channels\/mail: settings\.password must reference a secret/);
  });
});

describe('docs/workspace.schema.json', () => {
  it('accepts every document an export writes, and refuses an unknown kind, an unknown field and a malformed condition', async () => {
    const t = await start();
    const channel = { kind: 'channels', key: 'ops', type: 'slack', settings: { webhookUrl: { env: 'SLACK_URL' } } };
    await json(apply(t, [...BASE, channel, { kind: 'workspace-settings', strict: false }, { kind: 'templates', key: 'hi', channel: 'sms', body: 'Hi' }]));
    const schema = JSON.parse(readFileSync(new URL('../docs/workspace.schema.json', import.meta.url), 'utf8'));
    const ajv = new Ajv({ strict: false, allowUnionTypes: true });
    (addFormats as unknown as (a: Ajv) => void)(ajv);
    const validate = ajv.compile(schema);
    const { documents } = await json(t.admin('/workspace/export'));
    expect(documents.length).toBe(8);
    expect(validate(documents), JSON.stringify(validate.errors)).toBe(true);
    for (const doc of documents) expect(validate({ $schema: './workspace.schema.json', ...doc }), JSON.stringify(doc)).toBe(true);
    expect(validate({ kind: 'audience', key: 'x', condition: {} })).toBe(false);
    expect(validate({ ...cartAbandoners, extra: 1 })).toBe(false);
    expect(validate({ ...cartAbandoners, condition: { performed: 'E', within: 7 } })).toBe(false);
    expect(validate({ ...channel, settings: { webhookUrl: 'https://hooks.slack.com/x' } })).toBe(true); // settings are checked per type on save
  });
});

describe('tandem plan / apply / export / rollback (CLI against a running server)', () => {
  const run = promisify(execFile);
  const cli = (args: string[], url: string) =>
    run(process.execPath, [join(process.cwd(), 'bin/tandem.js'), ...args, '--url', url], { env: { ...process.env, TANDEM_ADMIN_TOKEN: ADMIN_TOKEN } }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  it('applies files, exports them back with no changes to plan, names the file of an invalid document, and rolls back', async () => {
    const t = await start();
    const dir = mkdtempSync(join(tmpdir(), 'tandem-ws-'));
    try {
      writeFileSync(join(dir, 'plan.yaml'), `kind: tracking-plans\nkey: web\nevents:\n  Cart Updated: { type: object, properties: { cart_id: { type: string } } }\n`);
      writeFileSync(join(dir, 'audiences.yaml'), `kind: audiences\nkey: cart_abandoners\ncondition: { performed: Cart Updated, within: 7d }\n---\nkind: audiences\nkey: carts\ncondition: { in_audience: cart_abandoners }\n`);
      const planned = await cli(['plan', '-f', dir], t.url);
      expect(planned.code, planned.stderr).toBe(0);
      expect(planned.stdout).toContain('+ create audiences/cart_abandoners');
      expect(planned.stdout).toContain('Plan: 3 to create, 0 to update, 0 to delete, 0 unchanged');
      expect(planned.stdout).toContain('(pass --prune to delete them): sources/default');
      const applied = await cli(['apply', '-f', dir, '-m', 'from files'], t.url);
      expect(applied.code, applied.stderr).toBe(0);
      expect(applied.stdout).toMatch(/Applied as workspace version \d+/);

      const out = mkdtempSync(join(tmpdir(), 'tandem-export-'));
      expect((await cli(['export', '-o', out], t.url)).code).toBe(0);
      const exported = readFileSync(join(out, 'audiences', 'cart_abandoners.yaml'), 'utf8');
      expect(exported).toMatch(/^# yaml-language-server: \$schema=.*workspace\.schema\.json\nkind: audiences\nkey: cart_abandoners\n/);
      const again = await cli(['plan', '-f', out], t.url);
      expect(again.stdout).toContain('No changes.');

      writeFileSync(join(dir, 'audiences.yaml'), `kind: audiences\nkey: cart_abandoners\ncondition: { performed: Cart Updated, within: 7d }\n---\nkind: audiences\nkey: carts\ncondition: { in_audience: cart_abandoners, extra: 1 }\n`);
      const bad = await cli(['apply', '-f', dir], t.url);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/\ntandem: audiences\/carts: condition\.extra: is not a known field here \(in audiences\.yaml#2\)\n$/);

      const rolled = await cli(['rollback', '--to', '1'], t.url);
      expect(rolled.code, rolled.stderr).toBe(0);
      expect(rolled.stdout).toContain('- delete audiences/carts');
      const unreachable = await cli(['plan', '-f', dir], 'http://127.0.0.1:9');
      expect(unreachable.code).toBe(2);
      expect(unreachable.stderr).toContain('cannot reach Tandem at http://127.0.0.1:9');
      rmSync(out, { recursive: true, force: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
