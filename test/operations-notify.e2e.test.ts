// Alert notifications end to end through a running Tandem on a simulated clock: webhook targets on a local
// node:http receiver, e-mail through the real smtp-server package, Slack through a channel whose incoming-webhook URL
// is a local receiver; retries with backoff and jitter; grouping across rules (group_by, group_wait, group_interval).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/core/clock.js';
import { startTandem, type Running } from './harness.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const T0 = Date.UTC(2026, 1, 3, 8, 0, 0);

interface Hit { at: number; path: string; body: Record<string, any> }

/** A receiver that answers with `status(n)` for the n-th request (1-based) and records the simulated time. */
async function receiver(clock: ManualClock, status: (n: number) => number = () => 200) {
  const hits: Hit[] = [];
  let n = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      n += 1;
      const code = status(n);
      if (code < 300) hits.push({ at: clock.now(), path: req.url ?? '', body: JSON.parse(body) });
      res.writeHead(code, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { hits, attempts: () => n, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('alert notifications: retries, grouping, e-mail and Slack targets', () => {
  const clock = new ManualClock(T0);
  let t: Running;
  let smtp: SMTPServer;
  const mails: { to: string[]; raw: string; at: number }[] = [];
  const closers: (() => Promise<void>)[] = [];
  const ok = async (res: Promise<Response>, status = 201) => {
    const r = await res;
    expect(r.status, await r.clone().text()).toBe(status);
    return r;
  };
  const send = async (event: string, n = 1) => {
    await ok(t.collect('/v1/batch', { batch: Array.from({ length: n }, () => ({ type: 'track', userId: 'u1', event, properties: {} })) }), 200);
    await t.settle();
  };
  /** A rule that fires while `event` was seen in the last minute (window 1m, count >= 1). */
  const rule = (key: string, event: string, extra: Record<string, unknown>, window = '1m') => ({ key, severity: 'warning', series: { metric: 'events', match: { event }, window }, threshold: { op: 'gte', value: 1 }, ...extra });
  const timeline = async (rule: string) => {
    const [i] = (await (await t.admin(`/incidents?rule=${rule}`)).json()).data;
    return (await (await t.admin(`/incidents/${i.id}`)).json()) as { id: number; state: string; timeline: { at: string; kind: string; detail: Record<string, any> }[] };
  };
  /** Moves the simulated clock in steps, running what is due (retries, group flushes) at each. */
  const run = async (until: number, step = 5 * SECOND) => {
    while (clock.now() + step <= until) {
      clock.advance(step);
      await t.app.operations.dispatch();
    }
  };

  beforeAll(async () => {
    smtp = new SMTPServer({
      disabledCommands: ['STARTTLS'], authOptional: true,
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          mails.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8'), at: clock.now() });
          cb();
        });
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
    t = await startTandem({ clock, config: { collect: { threads: 0 }, network: { allowPrivate: ['127.0.0.1/32'] }, storage: { seriesRetention: '2h' } } });
  });
  afterAll(async () => {
    await t?.stop();
    for (const c of closers) await c();
    await new Promise<void>((r) => smtp.close(() => r()));
  });

  it('refuses bad group and retry settings with a 4xx naming the field', async () => {
    const bad = async (extra: Record<string, unknown>, path: string) => {
      const r = await t.admin('/alerts', { method: 'POST', json: rule('bad-settings', 'Nothing', { notify: [{ webhook: { url: 'http://127.0.0.1:9/x' } }], ...extra }) });
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: { path: string } }).error.path).toBe(path);
    };
    await bad({ group: { by: ['team'], wait: 'soon' } }, 'group.wait');
    await bad({ retry: { backoff: '1m', maxBackoff: '30s' } }, 'retry.maxBackoff');
    await bad({ retry: { backoff: '10ms' } }, 'retry.backoff');
  });

  it('retries a failed webhook notification with exponential backoff and jitter until it succeeds, on the timeline', async () => {
    const hook = await receiver(clock, (n) => (n <= 2 ? 503 : 200)); // fails twice, then succeeds
    closers.push(hook.close);
    await ok(t.admin('/alerts', { method: 'POST', json: rule('flaky-hook', 'Retry Me', { notify: [{ webhook: { url: `${hook.url}/alerts` } }], retry: { attempts: 5, backoff: '30s', maxBackoff: '10m' } }, '1h') }));
    await send('Retry Me');
    clock.advance(MINUTE);
    const firedAt = clock.now();
    await t.app.operations.tick();
    expect(hook.attempts()).toBe(1);
    await run(firedAt + 3 * MINUTE);
    expect(hook.attempts()).toBe(3);
    expect(hook.hits).toHaveLength(1);
    expect(hook.hits[0].body).toMatchObject({ status: 'firing', rule: 'flaky-hook' });

    const tl = (await timeline('flaky-hook')).timeline;
    expect(tl.map((e) => e.kind)).toEqual(['fired', 'notify_failed', 'notify_failed', 'notified']);
    expect(tl.slice(1).map((e) => e.detail.attempt)).toEqual([1, 2, 3]);
    expect(tl[1].detail).toMatchObject({ status: 503, error: 'HTTP 503' });
    // Retry k waits between half and all of 30s x 2^(k-1): [15s, 30s], then [30s, 60s]; the test steps 5s at a time.
    const times = tl.slice(1).map((e) => Date.parse(e.at));
    expect(Date.parse(tl[1].detail.retryAt)).toBeGreaterThanOrEqual(firedAt + 15 * SECOND);
    expect(Date.parse(tl[1].detail.retryAt)).toBeLessThanOrEqual(firedAt + 30 * SECOND);
    expect(times[1] - times[0]).toBeGreaterThanOrEqual(15 * SECOND);
    expect(times[1] - times[0]).toBeLessThanOrEqual(30 * SECOND + 5 * SECOND);
    expect(times[2] - times[1]).toBeGreaterThanOrEqual(30 * SECOND);
    expect(times[2] - times[1]).toBeLessThanOrEqual(60 * SECOND + 5 * SECOND);
    expect(hook.hits[0].at).toBe(times[2]);
  });

  it('gives up after the last attempt, recorded as the final failure', async () => {
    const down = await receiver(clock, () => 500);
    closers.push(down.close);
    await ok(t.admin('/alerts', { method: 'POST', json: rule('dead-hook', 'Dead End', { notify: [{ webhook: { url: down.url } }], retry: { attempts: 3, backoff: '10s', maxBackoff: '10s' } }, '1h') }));
    await send('Dead End');
    clock.advance(MINUTE);
    await t.app.operations.tick();
    await run(clock.now() + 40 * SECOND);
    expect(down.attempts()).toBe(3);
    await run(clock.now() + 2 * MINUTE);
    expect(down.attempts()).toBe(3);
    const kinds = (await timeline('dead-hook')).timeline.map((e) => e.kind);
    expect(kinds.slice(0, 5)).toEqual(['fired', 'notify_failed', 'notify_failed', 'notify_failed', 'notify_gave_up']);
  });

  it('does not retry an answer a retry cannot change (4xx other than 408 and 429)', async () => {
    const gone = await receiver(clock, () => 404);
    closers.push(gone.close);
    await ok(t.admin('/alerts', { method: 'POST', json: rule('gone-hook', 'Gone', { notify: [{ webhook: { url: gone.url } }] }, '1h') }));
    await send('Gone');
    clock.advance(MINUTE);
    await t.app.operations.tick();
    await run(clock.now() + 2 * MINUTE);
    expect(gone.attempts()).toBe(1);
    const tl = (await timeline('gone-hook')).timeline;
    expect(tl.map((e) => e.kind)).toEqual(['fired', 'notify_failed', 'notify_gave_up']);
    expect(tl[2].detail).toMatchObject({ attempts: 1, retryable: false, error: 'HTTP 404' });
  });

  it('an acknowledgement cancels the pending retries of the trigger', async () => {
    const down = await receiver(clock, () => 502);
    closers.push(down.close);
    await ok(t.admin('/alerts', { method: 'POST', json: rule('ack-hook', 'Ack Me', { notify: [{ webhook: { url: down.url } }], retry: { attempts: 3, backoff: '20s', maxBackoff: '20s' } }, '1h') }));
    await send('Ack Me');
    clock.advance(MINUTE);
    await t.app.operations.tick();
    const { id } = await timeline('ack-hook');
    await ok(t.admin(`/incidents/${id}/acknowledge`, { method: 'POST', json: { note: 'seen' } }), 200);
    await run(clock.now() + 2 * MINUTE);
    const tl = (await timeline('ack-hook')).timeline;
    expect(tl.slice(0, 4).map((e) => e.kind)).toEqual(['fired', 'notify_failed', 'acknowledged', 'notify_cancelled']);
    // The trigger was attempted once; the acknowledgement (sent at once to webhooks) is retried to its limit.
    expect(tl.filter((e) => e.detail.action === 'trigger' && e.kind === 'notify_failed').map((e) => e.detail.attempt)).toEqual([1]);
    expect(tl.filter((e) => e.detail.action === 'acknowledge' && e.kind === 'notify_failed').map((e) => e.detail.attempt)).toEqual([1, 2, 3]);
    expect(tl.at(-1)).toMatchObject({ kind: 'notify_gave_up', detail: { action: 'acknowledge', attempts: 3 } });
    expect(down.attempts()).toBe(4);
  });

  it('groups alerts of several rules with the same group labels into one notification (group_wait, group_interval)', async () => {
    const hook = await receiver(clock);
    closers.push(hook.close);
    const target = [{ webhook: { url: `${hook.url}/grouped` } }];
    const group = { by: ['team'], wait: '30s', interval: '5m' };
    for (const [key, event, team] of [['g-orders', 'Order Failed', 'growth'], ['g-signup', 'Signup Failed', 'growth'], ['g-search', 'Search Failed', 'growth'], ['g-infra', 'Disk Full', 'infra']]) {
      await ok(t.admin('/alerts', { method: 'POST', json: rule(key, event, { labels: { team }, group, for: '0m', notify: target }) }));
    }
    const begin = Math.ceil(clock.now() / MINUTE) * MINUTE + MINUTE;
    const growthHits = () => hook.hits.filter((h) => h.body.groupLabels.team === 'growth');
    const infraHits = () => hook.hits.filter((h) => h.body.groupLabels.team === 'infra');
    clock.set(begin);
    for (const e of ['Order Failed', 'Signup Failed', 'Disk Full']) await send(e);
    // Each minute m: evaluate, run what is due until m:25, then at m:30 send the events that keep rules firing.
    for (let m = 1; m <= 13; m++) {
      clock.set(begin + m * MINUTE);
      await t.app.operations.tick();
      if (m === 1) expect(hook.hits).toHaveLength(0); // group_wait: nothing yet
      await run(begin + m * MINUTE + 25 * SECOND);
      if (m === 1) expect(hook.hits).toHaveLength(0);
      clock.set(begin + m * MINUTE + 30 * SECOND);
      await t.app.operations.dispatch();
      if (m === 1) {
        // group_wait over: one notification per group; growth lists both of its alerts, infra its own.
        expect(hook.hits).toHaveLength(2);
        expect(growthHits()[0].body.alerts.map((a: { rule: string }) => a.rule).sort()).toEqual(['g-orders', 'g-signup']);
        expect(growthHits()[0].body.status).toBe('firing');
        expect(growthHits()[0].body.text).toMatch(/^FIRING 2 alerts \[team=growth\]/);
        expect(infraHits()[0].body.alerts.map((a: { rule: string }) => a.rule)).toEqual(['g-infra']);
      }
      if (m <= 6) for (const e of ['Order Failed', 'Signup Failed', 'Disk Full', 'Search Failed']) await send(e);
      if (m === 6) {
        // g-search fired at minute 2, but the growth group waits group_interval (5m) after its last notification.
        expect(growthHits()).toHaveLength(2);
        expect(growthHits()[1].at - growthHits()[0].at).toBe(5 * MINUTE);
        // Every firing alert of the group is listed, the new one among them.
        expect(growthHits()[1].body.alerts.map((a: { rule: string }) => a.rule).sort()).toEqual(['g-orders', 'g-search', 'g-signup']);
        expect(growthHits()[1].body.alerts.map((a: { status: string }) => a.status)).toEqual(['firing', 'firing', 'firing']);
        // The infra group had nothing new: not notified again.
        expect(infraHits()).toHaveLength(1);
      }
    }
    // The events stopped after 6:30: the rules resolve at minute 8; infra (last told at 1:30) is told at once,
    // growth (last told at 6:30) at 11:30, one notification listing its three resolved alerts; then the groups are gone.
    expect(infraHits().map((h) => h.body.status)).toEqual(['firing', 'resolved']);
    expect(infraHits()[1].at).toBe(begin + 8 * MINUTE);
    const last = growthHits().at(-1)!;
    expect(growthHits()).toHaveLength(3);
    expect(last.at).toBe(begin + 11 * MINUTE + 30 * SECOND);
    expect(last.body.status).toBe('resolved');
    expect(last.body.alerts.map((a: { rule: string; status: string }) => `${a.rule}:${a.status}`).sort()).toEqual(['g-orders:resolved', 'g-search:resolved', 'g-signup:resolved']);
    expect(t.app.operations.store.all('SELECT * FROM ops_notify_groups')).toEqual([]);
    // Each incident's timeline shows the grouped notification it was part of.
    const tl = (await timeline('g-search')).timeline;
    expect(tl.filter((e) => e.kind === 'notified').map((e) => e.detail.alerts.length)).toEqual([3, 3]);
  });

  it('a deleted grouped rule leaves its group, which closes when nothing else is in it', async () => {
    const hook = await receiver(clock);
    closers.push(hook.close);
    await ok(t.admin('/alerts', { method: 'POST', json: rule('g-temp', 'Temp Failed', { labels: { team: 'temp' }, group: { by: ['team'], wait: '10s' }, notify: [{ webhook: { url: hook.url } }] }, '1h') }));
    await send('Temp Failed');
    clock.advance(MINUTE);
    await t.app.operations.tick();
    await run(clock.now() + 15 * SECOND);
    expect(hook.hits.map((h) => h.body.alerts.map((a: { rule: string }) => a.rule))).toEqual([['g-temp']]);
    const groups = () => t.app.operations.store.all<{ labels: string }>('SELECT labels FROM ops_notify_groups').map((g) => JSON.parse(g.labels).team);
    expect(groups()).toContain('temp');
    await ok(t.admin('/alerts/g-temp', { method: 'DELETE' }), 204);
    await t.app.operations.tick();
    expect(groups()).not.toContain('temp');
    expect((await timeline('g-temp')).state).toBe('resolved');
  });

  it('e-mail and Slack channel targets get the alert text, runbook included', async () => {
    const slack = await receiver(clock);
    closers.push(slack.close);
    process.env.TANDEM_TEST_OPS_SLACK = `${slack.url}/services/T/B/X`;
    await ok(t.admin('/channels', { method: 'POST', json: { key: 'oncall-mail', type: 'email', settings: { host: '127.0.0.1', port: (smtp.server.address() as AddressInfo).port, from: 'Tandem <alerts@tandem.example>', transactional: true } } }));
    await ok(t.admin('/channels', { method: 'POST', json: { key: 'oncall-slack', type: 'slack', settings: { webhookUrl: { env: 'TANDEM_TEST_OPS_SLACK' } } } }));
    await ok(t.admin('/alerts', { method: 'POST', json: rule('mail-and-slack', 'Payment Declined', { name: 'Declines', runbook: '## Declines\n1. Call the PSP.', notify: [{ channel: 'oncall-mail', to: 'oncall@example.com' }, { channel: 'oncall-slack' }] }) }));
    await send('Payment Declined', 3);
    clock.advance(MINUTE);
    await t.app.operations.tick();
    for (let i = 0; i < 40 && mails.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(mails).toHaveLength(1);
    expect(mails[0].to).toEqual(['oncall@example.com']);
    const subject = /^subject:\s*(.*)$/im.exec(mails[0].raw.split(/\r?\n\r?\n/)[0])?.[1] ?? '';
    expect(subject).toContain('FIRING [warning] Declines');
    expect(mails[0].raw).toContain('Call the PSP');
    expect(slack.hits).toHaveLength(1);
    expect(slack.hits[0].path).toBe('/services/T/B/X');
    const text = slack.hits[0].body.text as string;
    expect(text.split('\n')[0]).toBe('FIRING [warning] Declines: events{event=Payment Declined} count over 1m is 3 (>= 1)');
    expect(text).toContain('Runbook:\n## Declines');
    const kinds = (await timeline('mail-and-slack')).timeline.map((e) => `${e.kind}:${e.detail.target ?? ''}`);
    expect(kinds).toEqual(['fired:', 'notified:channel:oncall-mail', 'notified:channel:oncall-slack']);
  });

  it('prunes series older than the retention (storage.seriesRetention 2h) on the hourly pass', async () => {
    const now = Math.floor(clock.now() / MINUTE) * MINUTE;
    t.app.operations.recorder.add('default', 'retention_probe', {}, now - 3 * HOUR, 5);
    t.app.operations.recorder.add('default', 'retention_probe', {}, now - 30 * MINUTE, 7);
    t.app.operations.recorder.flush();
    const rows = () => t.app.operations.store.all<{ minute: number; count: number }>("SELECT minute, count FROM ops_series WHERE metric = 'retention_probe' ORDER BY minute");
    expect(rows()).toEqual([{ minute: now - 3 * HOUR, count: 5 }, { minute: now - 30 * MINUTE, count: 7 }]);
    clock.set(now + HOUR + MINUTE); // at least an hour since the last pass; the cutoff is now - 59m
    await t.app.operations.tick();
    expect(rows()).toEqual([{ minute: now - 30 * MINUTE, count: 7 }]);
  });
});
