import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTandem, type Running } from './harness.js';

/**
 * Kevin Hillstrom's MineThatData e-mail experiment (64,000 customers, three arms) imported through the public
 * collection API: each customer's arm as an exposure, their visit, conversion and spend as events. The results
 * route must reproduce the per-arm rates computed here from the CSV, and intervals computed here independently.
 */
const CSV = new URL('../../shared/datasets/hillstrom.csv', import.meta.url);
const ROWS = Number(process.env.HILLSTROM_ROWS ?? 64_000);
const ARM: Record<string, string> = { 'No E-Mail': 'none', 'Mens E-Mail': 'mens', 'Womens E-Mail': 'womens' };
const T0 = Date.UTC(2026, 0, 5);
const DAY = 86_400_000;

interface Customer {
  arm: string;
  visit: number;
  conversion: number;
  spend: number;
}

function readCustomers(): Customer[] {
  const lines = readFileSync(CSV, 'utf8').trim().split(/\r?\n/);
  const header = lines[0].split(',');
  const col = (name: string) => header.indexOf(name);
  const [seg, visit, conversion, spend] = ['segment', 'visit', 'conversion', 'spend'].map(col);
  return lines.slice(1, ROWS + 1).map((line) => {
    const f = csvFields(line);
    return { arm: ARM[f[seg]], visit: Number(f[visit]), conversion: Number(f[conversion]), spend: Number(f[spend]) };
  });
}

/** One CSV line's fields; double-quoted fields may hold commas (history_segment "7) $1,000 +"). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') (field += '"'), i++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') (out.push(field), (field = ''));
    else field += ch;
  }
  out.push(field);
  return out;
}

let t: Running;
let customers: Customer[];
let ingestMs = 0;
let results: Record<string, any>;

beforeAll(async () => {
  customers = readCustomers();
  expect(customers).toHaveLength(Math.min(ROWS, 64_000));
  expect(customers.every((c) => c.arm !== undefined && Number.isFinite(c.spend))).toBe(true);
  t = await startTandem();
  const created = await t.admin('/experiments', {
    method: 'POST',
    json: {
      key: 'hillstrom', name: 'MineThatData e-mail test', control: 'none',
      arms: [{ key: 'none', weight: 1 }, { key: 'mens', weight: 1 }, { key: 'womens', weight: 1 }],
      metrics: [
        { key: 'visit', type: 'conversion', event: 'Site Visited', within: '14d' },
        { key: 'conversion', type: 'conversion', event: 'Order Completed', within: '14d' },
        { key: 'spend', type: 'revenue', event: 'Order Completed', property: 'revenue', within: '14d' },
      ],
    },
  });
  expect(created.status).toBe(201);
  const started = performance.now();
  let batch: unknown[] = [];
  let bytes = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const res = await t.collect('/v1/batch', { batch });
    expect(res.status).toBe(200);
    batch = [];
    bytes = 0;
  };
  const push = async (m: Record<string, unknown>) => {
    const size = JSON.stringify(m).length + 1;
    if (batch.length >= 2500 || bytes + size > 480_000) await flush();
    batch.push(m);
    bytes += size;
  };
  for (const [i, c] of customers.entries()) {
    const userId = `h${i}`;
    const at = (ms: number) => new Date(T0 + ms).toISOString();
    await push({ type: 'track', userId, messageId: `e${i}`, event: 'Experiment Exposed', properties: { experiment: 'hillstrom', arm: c.arm }, timestamp: at(i) });
    if (c.visit) await push({ type: 'track', userId, messageId: `v${i}`, event: 'Site Visited', properties: {}, timestamp: at(DAY + i) });
    if (c.conversion) await push({ type: 'track', userId, messageId: `c${i}`, event: 'Order Completed', properties: { revenue: c.spend }, timestamp: at(2 * DAY + i) });
  }
  await flush();
  await t.settle();
  const res = await t.admin('/experiments/hillstrom/results');
  results = await res.json();
  expect(res.status, JSON.stringify(results)).toBe(200);
  if (process.env.HILLSTROM_PRINT) console.log(JSON.stringify(results, null, 1));
  ingestMs = performance.now() - started;
  console.log(`hillstrom: ${customers.length} customers ingested, settled and analysed in ${(ingestMs / 1000).toFixed(1)} s`);
}, 600_000);

afterAll(async () => t?.stop());

/** Independent two-proportion normal approximation (Wald interval, unpooled) for treatment minus control. */
function wald(c: { n: number; x: number }, tr: { n: number; x: number }) {
  const pc = c.x / c.n;
  const pt = tr.x / tr.n;
  const se = Math.sqrt((pc * (1 - pc)) / c.n + (pt * (1 - pt)) / tr.n);
  return { low: pt - pc - 1.959964 * se, high: pt - pc + 1.959964 * se };
}

describe('Hillstrom e-mail experiment through the API', () => {
  const tally = (field: 'visit' | 'conversion') => {
    const out: Record<string, { n: number; x: number }> = {};
    for (const c of customers) {
      out[c.arm] ??= { n: 0, x: 0 };
      out[c.arm].n++;
      out[c.arm].x += c[field];
    }
    return out;
  };
  const metric = (key: string) => results.metrics.find((m: { key: string }) => m.key === key);

  it('counts every customer once per arm and passes the sample-ratio check', () => {
    const counts = tally('visit');
    expect(results.exposures).toEqual({ none: counts.none.n, mens: counts.mens.n, womens: counts.womens.n });
    expect(counts.none.n + counts.mens.n + counts.womens.n).toBe(customers.length);
    if (ROWS >= 64_000) expect([counts.none.n, counts.mens.n, counts.womens.n]).toEqual([21_306, 21_307, 21_387]);
    expect(results.crossovers).toBe(0);
    expect(results.srm.status).toBe('ok');
    expect(results.srm.pValue).toBeGreaterThan(0.001);
  });

  for (const key of ['visit', 'conversion'] as const) {
    it(`reproduces the per-arm ${key} rates exactly and the lift intervals within 0.1 percentage points`, () => {
      const counts = tally(key);
      const m = metric(key);
      for (const arm of m.arms) {
        expect(arm.n).toBe(counts[arm.arm].n);
        expect(arm.value).toBe(counts[arm.arm].x / counts[arm.arm].n);
        if (arm.control) continue;
        const expected = wald(counts.none, counts[arm.arm]);
        expect(Math.abs(arm.difference.low - expected.low)).toBeLessThan(0.001);
        expect(Math.abs(arm.difference.high - expected.high)).toBeLessThan(0.001);
      }
    });
  }

  it('reports spend per customer and a recommendation', () => {
    const m = metric('spend');
    for (const arm of m.arms) {
      const mine = customers.filter((c) => c.arm === arm.arm);
      expect(arm.value).toBeCloseTo(mine.reduce((s, c) => s + c.spend, 0) / mine.length, 9);
    }
    if (ROWS >= 64_000) {
      // Published: the e-mails raise visits (mens about 18.3% vs 10.6% without e-mail); with 21,000 per arm it is decisive.
      expect(results.recommendation.decision).toBe('ship');
      expect(['mens', 'womens']).toContain(results.recommendation.arm);
    }
  });
});
