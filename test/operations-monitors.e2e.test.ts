// Monitors, signals and series rules end to end through a running Tandem on a simulated clock. Every expectation
// is computed here from what the test sends, never read back from the code under test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/core/clock.js';
import { startTandem, type Running } from './harness.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const WEEK = 7 * 24 * HOUR;
const T0 = Date.UTC(2026, 0, 13, 9, 0, 0); // a Tuesday, 09:00 UTC

type Verdict = { group: Record<string, string>; value: number | null; alert: boolean; learning?: boolean; summary: string };

describe('operations monitors, signals and series rules on a simulated clock', () => {
  const clock = new ManualClock(T0);
  let t: Running;
  const ok = async (res: Promise<Response>, status = 201) => {
    const r = await res;
    expect(r.status, await r.clone().text()).toBe(status);
    return r;
  };
  const batch = async (messages: Record<string, unknown>[]) => {
    await ok(t.collect('/v1/batch', { batch: messages }), 200);
    await t.settle();
  };
  const track = (event: string, properties: Record<string, unknown> = {}, userId = 'u1') => ({ type: 'track', userId, event, properties });
  const evaluate = async (key: string) => ((await (await ok(t.admin(`/monitors/${key}/evaluate`, { method: 'POST' }), 200)).json()) as { data: Verdict[] }).data;
  const define = async (kind: string, body: Record<string, unknown>) => {
    await ok(t.admin(`/${kind}`, { method: 'POST', json: body }));
    await t.app.operations.tick(); // re-reads the definitions (the ingest path needs signals and null_rate monitors)
  };
  const at = async (time: number) => {
    clock.set(time);
    await t.app.operations.tick();
  };

  beforeAll(async () => {
    t = await startTandem({ clock, config: { collect: { threads: 0 } } });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('schema_drift: learns the first schema, then reports a new event, a new property and a changed type', async () => {
    await define('monitors', { key: 'drift', type: 'schema_drift', window: '1h', learning: '1h' });
    await batch([track('Page Viewed', { path: '/' }), track('Page Viewed', { path: '/a', title: 'A' })]);
    await t.app.operations.tick();
    const learning = await evaluate('drift');
    expect(learning).toEqual([expect.objectContaining({ learning: true, alert: false })]);

    await at(T0 + HOUR + 2 * MINUTE);
    await batch([track('Page Viewed', { path: '/b', title: 'B' })]); // nothing new
    await t.app.operations.tick();
    expect((await evaluate('drift'))[0]).toMatchObject({ value: 0, alert: false });

    await batch([track('Coupon Applied', { code: 'X1' }), track('Page Viewed', { path: '/c', referrer: 'search' }), track('Page Viewed', { path: 7 })]);
    await t.app.operations.tick();
    const [v] = await evaluate('drift');
    // A new event (its properties are part of it), a new property of a known event, a known property with a new type.
    expect(v.value).toBe(3);
    expect(v.alert).toBe(true);
    expect(v.summary).toContain("new event 'Coupon Applied'");
    expect(v.summary).toContain("new property 'Page Viewed'.referrer (string)");
    expect(v.summary).toContain("'Page Viewed'.path is now number");
    // The window moves on: an hour later the changes are no longer in it.
    await at(clock.now() + HOUR + MINUTE);
    expect((await evaluate('drift'))[0]).toMatchObject({ value: 0, alert: false });
  });

  it('null_rate and zero_volume: the share of empty values, then silence', async () => {
    await define('monitors', { key: 'lead-email', type: 'null_rate', event: 'Lead', property: 'contact.email', window: '1h', minCount: 10, threshold: 0.1 });
    await define('monitors', { key: 'no-leads', type: 'zero_volume', event: 'Lead', window: '30m' });
    const emails: unknown[] = ['a@x.io', null, 'b@x.io', '', 'c@x.io', '  ', 'd@x.io', undefined, 'e@x.io', 'f@x.io', 'g@x.io', 'h@x.io', 'i@x.io', 'j@x.io', 'k@x.io', 'l@x.io', 'm@x.io', 'n@x.io', 'o@x.io', 'p@x.io'];
    await batch(emails.map((email, i) => track('Lead', { contact: email === undefined ? {} : { email }, n: i })));
    const empty = emails.filter((e) => e === undefined || e === null || (typeof e === 'string' && e.trim() === '')).length;
    clock.advance(MINUTE); // the window ends at the current minute: count what was sent in the last one
    await t.app.operations.tick();
    const [nr] = await evaluate('lead-email');
    expect(nr.value).toBeCloseTo(empty / emails.length, 12);
    expect(empty / emails.length).toBeGreaterThan(0.1);
    expect(nr.alert).toBe(true);
    expect((await evaluate('no-leads'))[0]).toMatchObject({ group: { event: 'Lead' }, value: emails.length, alert: false });
    await at(clock.now() + 31 * MINUTE);
    expect((await evaluate('no-leads'))[0]).toMatchObject({ value: 0, alert: true });
  });

  it('processing_lag: the worst receipt-to-storage time in the window', async () => {
    await define('monitors', { key: 'lag', type: 'processing_lag', window: '5m', threshold: 300 });
    await batch([track('Ping')]); // stored at once on the simulated clock: no lag
    clock.advance(MINUTE);
    await t.app.operations.tick();
    expect((await evaluate('lag'))[0]).toMatchObject({ value: 0, alert: false });
    // The events stage's listener gets an event received 7 minutes before it was stored (a stalled pipeline).
    const receivedAt = clock.now() - 7 * MINUTE;
    t.app.operations.onStored([{ id: 999_999, workspaceId: 'default', sourceId: 'x', violations: [], message: { type: 'track', event: 'Ping', messageId: 'late-1', userId: 'u1', properties: {}, receivedAt: new Date(receivedAt).toISOString(), timestamp: new Date(receivedAt).toISOString() } as never }]);
    clock.advance(MINUTE);
    await t.app.operations.tick();
    const [v] = await evaluate('lag');
    expect(v.value).toBe((clock.now() - MINUTE - receivedAt) / 1000);
    expect(v.alert).toBe(true);
  });

  it('signals: count, sum and average of matching events per 15 minutes, and a threshold rule on one', async () => {
    const start = Math.ceil(clock.now() / (15 * MINUTE)) * 15 * MINUTE + 15 * MINUTE;
    await at(start);
    await define('signals', { key: 'negative_mentions', event: 'Social Mention', where: [{ property: 'sentiment', op: 'eq', value: 'negative' }], aggregate: 'count', window: '15m' });
    await define('signals', { key: 'negative_reach', event: 'Social Mention', where: [{ property: 'sentiment', value: 'negative' }], aggregate: 'sum', property: 'reach', window: '15m' });
    await define('signals', { key: 'avg_reach', event: 'Social Mention', where: [{ property: 'reach', op: 'gte', value: 100 }], aggregate: 'avg', property: 'reach', window: '15m' });
    await define('alerts', { key: 'mentions-spike', severity: 'warning', signal: 'negative_mentions', threshold: { op: 'gt', value: 4 } });
    // Three 15-minute windows of mentions: [minute offset, sentiment, reach].
    const mentions: [number, string, number][] = [
      [1, 'negative', 100], [3, 'positive', 500], [7, 'negative', 50], [14, 'neutral', 20],
      [16, 'negative', 300], [17, 'negative', 120], [20, 'negative', 80], [22, 'positive', 1000], [25, 'negative', 200], [29, 'negative', 10],
      [31, 'positive', 90], [40, 'negative', 400],
    ];
    const send = async (from: number, to: number) => {
      for (const [m, sentiment, reach] of mentions.filter(([m]) => m >= from && m < to)) {
        clock.set(start + m * MINUTE);
        await batch([track('Social Mention', { sentiment, reach })]);
      }
    };
    const expected = (fn: (w: [number, string, number][]) => number | null) => [0, 1, 2].map((w) => fn(mentions.filter(([m]) => Math.floor(m / 15) === w)));
    const negatives = (w: [number, string, number][]) => w.filter(([, s]) => s === 'negative');
    const count = expected((w) => negatives(w).length);
    const sum = expected((w) => negatives(w).reduce((a, [, , r]) => a + r, 0));
    const avg = expected((w) => {
      const big = w.filter(([, , r]) => r >= 100);
      return big.length ? big.reduce((a, [, , r]) => a + r, 0) / big.length : null;
    });
    const firing = async () => (await (await t.admin('/incidents?state=firing&rule=mentions-spike')).json()).data as { detail: { value: number } }[];

    // The rule looks at the last complete 15 minutes.
    await send(0, 15);
    await at(start + 15 * MINUTE);
    expect(count[0]).toBeLessThanOrEqual(4);
    expect(await firing()).toHaveLength(0);
    await send(15, 30);
    await at(start + 30 * MINUTE);
    expect(count[1]).toBeGreaterThan(4);
    const open = await firing();
    expect(open).toHaveLength(1);
    expect(open[0].detail.value).toBe(count[1]);
    await send(30, 45);
    await at(start + 45 * MINUTE);
    expect(count[2]).toBeLessThanOrEqual(4);
    expect(await firing()).toHaveLength(0);

    const read = async (key: string, aggregate: string) => {
      const res = await ok(t.admin(`/metrics/series?metric=signal&match=signal=${key}&groupBy=&from=${new Date(start).toISOString()}&to=${new Date(start + 45 * MINUTE).toISOString()}&step=15m&aggregate=${aggregate}`), 200);
      return ((await res.json()) as { series: { values: (number | null)[] }[] }).series[0].values;
    };
    expect(await read('negative_mentions', 'count')).toEqual(count);
    expect(await read('negative_reach', 'sum')).toEqual(sum);
    expect(await read('avg_reach', 'avg')).toEqual(avg);
  });

  it('a series threshold rule: pending for `for`, firing, resolved when the window no longer holds', async () => {
    const base = Math.ceil(clock.now() / HOUR) * HOUR + HOUR;
    await at(base);
    await define('alerts', { key: 'checkout-errors', severity: 'error', series: { metric: 'events', match: { event: 'Checkout Error' }, window: '5m', groupBy: ['source'] }, threshold: { op: 'gte', value: 3 }, for: '2m' });
    await batch([track('Checkout Error'), track('Checkout Error'), track('Checkout Error')]);
    const states: string[] = [];
    for (let m = 1; m <= 8; m++) {
      await at(base + m * MINUTE);
      const row = t.app.operations.store.alertStates('default', 'checkout-errors')[0];
      states.push(row?.state ?? 'inactive');
    }
    // Window [now-5m, now): the errors at minute 0 count at minutes 1..5; `for` 2m: pending at 1 and 2, firing at 3..5.
    expect(states).toEqual(['pending', 'pending', 'firing', 'firing', 'firing', 'inactive', 'inactive', 'inactive']);
    const [incident] = (await (await t.admin('/incidents?rule=checkout-errors')).json()).data;
    expect(incident).toMatchObject({ state: 'resolved', labels: { alert: 'checkout-errors', source: 'default', severity: 'error' } });
    expect(Date.parse(incident.openedAt)).toBe(base + 3 * MINUTE);
    expect(Date.parse(incident.resolvedAt)).toBe(base + 6 * MINUTE);
    expect(incident.detail.value).toBe(3);
  });

  it('a series anomaly rule: an 80% drop against four weeks of seasonal history fires; the usual level does not', async () => {
    const now = Math.ceil(clock.now() / HOUR) * HOUR + 5 * WEEK;
    // Four weeks of history, written through the series recorder: the window before, at and after this hour of the
    // week have 96, 100 and 104 orders.
    for (let k = 1; k <= 4; k++) {
      for (const [j, n] of [[-1, 96], [0, 100], [1, 104]] as const) {
        const windowStart = now - k * WEEK + j * HOUR - HOUR;
        t.app.operations.recorder.add('default', 'events', { source: 'default', type: 'track', event: 'Order Placed' }, windowStart + 10 * MINUTE, n);
      }
    }
    await define('alerts', { key: 'orders-anomaly', severity: 'critical', series: { metric: 'events', match: { event: 'Order Placed' }, window: '1h' }, anomaly: { sensitivity: 4 } });
    // Independently: the baseline is the median of {96, 100, 104} x 4 = 100; MAD 4 x 1.4826 = 5.93 < sqrt(100) = 10.
    const baseline = 100;
    const spread = Math.max(1.4826 * 4, Math.sqrt(baseline), 1);
    const orders = (n: number, hourStart: number) => t.app.operations.recorder.add('default', 'events', { source: 'default', type: 'track', event: 'Order Placed' }, hourStart + 20 * MINUTE, n);

    orders(95, now - HOUR); // usual level: score (95 - 100) / 10 = -0.5
    expect(Math.abs((95 - baseline) / spread)).toBeLessThan(4);
    await at(now);
    expect((await (await t.admin('/incidents?state=firing&rule=orders-anomaly')).json()).data).toHaveLength(0);

    // The same hour a week later (its history shifted by a week, still four weeks of 96/100/104 and this 95), 20 orders.
    for (const [j, n] of [[-1, 96], [1, 104]] as const) t.app.operations.recorder.add('default', 'events', { source: 'default', type: 'track', event: 'Order Placed' }, now + j * HOUR - HOUR + 10 * MINUTE, n);
    orders(20, now + WEEK - HOUR);
    expect((20 - baseline) / spread).toBeLessThanOrEqual(-4);
    await at(now + WEEK);
    const firing = (await (await t.admin('/incidents?state=firing&rule=orders-anomaly')).json()).data;
    expect(firing).toHaveLength(1);
    expect(firing[0].detail.baseline).toBe(baseline);
    expect(firing[0].detail.score).toBeCloseTo((20 - baseline) / spread, 10);
  });
});
