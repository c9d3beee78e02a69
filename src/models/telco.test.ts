import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DATASETS } from './cdnow.test-support.js';
import { chooseLearner, predict } from './learner.js';
import { auc } from './metrics.js';

// IBM's Telco customer churn sample, read in place. Numeric columns as numbers, categorical ones one-hot.
function readTelco() {
  const [head, ...lines] = readFileSync(`${DATASETS}telco_customer_churn.csv`, 'utf8').trim().split(/\r?\n/);
  const columns = head.split(',');
  const records = lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [columns[i], v])));
  const numeric = ['SeniorCitizen', 'tenure', 'MonthlyCharges', 'TotalCharges'];
  const categorical = columns.filter((c) => !numeric.includes(c) && c !== 'customerID' && c !== 'Churn');
  const levels = categorical.flatMap((c) => [...new Set(records.map((r) => r[c]))].sort().slice(1).map((v) => [c, v] as const));
  const features = [...numeric, ...levels.map(([c, v]) => `${c}=${v}`)];
  const rows = records.map((r) => [...numeric.map((c) => Number(r[c].trim() === '' ? 0 : r[c])), ...levels.map(([c, v]) => (r[c] === v ? 1 : 0))]);
  return { records, features, rows, labels: records.map((r) => (r.Churn === 'Yes' ? 1 : 0)) };
}

// A fixed split by a hash of the customer id: 60% train, 20% validation (learner choice), 20% test.
function part(id: string): 'train' | 'validation' | 'test' {
  let h = 2166136261;
  for (const ch of id) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  const u = h % 10;
  return u < 6 ? 'train' : u < 8 ? 'validation' : 'test';
}

describe('propensity learner on Telco churn', () => {
  it('beats a contract-type-only baseline on held-out AUC', () => {
    const t = readTelco();
    expect(t.rows).toHaveLength(7043);
    const churnRate = t.labels.reduce((s: number, y) => s + y, 0) / t.labels.length;
    expect(churnRate).toBeCloseTo(0.2654, 4);
    const idx = { train: [] as number[], validation: [] as number[], test: [] as number[] };
    t.records.forEach((r, i) => idx[part(r.customerID)].push(i));
    const pick = (ix: number[]) => ({ rows: ix.map((i) => t.rows[i]), labels: ix.map((i) => t.labels[i]) });
    const choice = chooseLearner(pick(idx.train), pick(idx.validation), t.features);
    const test = pick(idx.test);
    const modelAuc = auc(test.rows.map((r) => predict(choice.model, r)), test.labels);
    // Baseline: each contract type's churn rate on the training rows, as the score.
    const rate = new Map<string, { n: number; y: number }>();
    for (const i of idx.train) {
      const c = rate.get(t.records[i].Contract) ?? { n: 0, y: 0 };
      c.n++;
      c.y += t.labels[i];
      rate.set(t.records[i].Contract, c);
    }
    const baselineAuc = auc(idx.test.map((i) => { const c = rate.get(t.records[i].Contract)!; return c.y / c.n; }), test.labels);
    console.log(`telco: test AUC ${modelAuc.toFixed(4)} (${choice.model.kind}; validation AUC logistic ${choice.validation.logistic.auc.toFixed(4)}, trees ${choice.validation.boosted_trees?.auc.toFixed(4)}), contract-only baseline ${baselineAuc.toFixed(4)}, rows ${idx.train.length}/${idx.validation.length}/${idx.test.length}`);
    // Month-to-month contracts churn far more than two-year ones.
    expect(rate.get('Month-to-month')!.y / rate.get('Month-to-month')!.n).toBeGreaterThan(5 * (rate.get('Two year')!.y / rate.get('Two year')!.n));
    expect(modelAuc).toBeGreaterThan(baselineAuc + 0.05);
  });
});
