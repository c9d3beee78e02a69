import type { JsonValue } from '../conditions/model.js';
import { parseDuration } from '../core/duration.js';
import { TandemError } from '../core/errors.js';
import { instant, type PropensityParams } from './definition.js';
import { featureNames, featureQuery, featureRows, outcomeQuery, topEventsQuery, type FeatureSpec } from './features.js';
import { chooseLearner, explain, predict, type Classifier } from './learner.js';
import type { ClassifierMetrics } from './metrics.js';
import { round, type Trained, type TrainingContext } from './training.js';

export interface PropensityArtefact {
  spec: FeatureSpec;
  model: Classifier;
  asOf: number;
}


async function labelled(ctx: TrainingContext, spec: FeatureSpec, p: PropensityParams, cutoff: number, end: number) {
  const width = featureNames(spec).length;
  const q = featureQuery(spec, cutoff);
  const { ids, rows } = featureRows(await ctx.sql(q.sql, q.params), width);
  const o = outcomeQuery(cutoff, end, p.churn ? undefined : p.event);
  const happened = new Set((await ctx.sql(o.sql, o.params)).map((r) => String(r.profile_id)));
  // Churn is the outcome "no activity": label 1 when nothing happened.
  const labels = Float64Array.from(ids, (id) => (p.churn ? (happened.has(id) ? 0 : 1) : happened.has(id) ? 1 : 0));
  return { ids, rows, labels };
}

const metricsView = (m: ClassifierMetrics) => ({
  auc: round(m.auc, 4),
  logLoss: round(m.logLoss, 4),
  baseRate: round(m.baseRate, 4),
  rows: m.rows,
  calibration: m.calibration.map((b) => ({ bin: b.bin, count: b.count, meanPredicted: round(b.meanPredicted, 4), observedRate: round(b.observedRate, 4) })),
  liftByDecile: m.lift.map((b) => ({ decile: b.bin, count: b.count, observedRate: round(b.observedRate, 4), lift: round(b.lift, 4), cumulativeLift: round(b.cumulativeLift, 4) })),
});

/**
 * Time-based validation: features as of cutoff C = S - 2w with outcomes in (C, C + w] train the learners;
 * features as of V = S - w with outcomes in (V, S] validate them (AUC, log-loss, calibration, lift); the model
 * kept scores every profile from its features as of S (the scoring instant).
 */
export async function trainPropensity(p: PropensityParams, ctx: TrainingContext): Promise<Trained> {
  const w = parseDuration(p.within, 'propensity.within');
  const asOf = p.asOf !== undefined ? instant(p.asOf, 'propensity.asOf') : ctx.now;
  const validationCutoff = asOf - w;
  const trainCutoff = validationCutoff - w;
  ctx.progress('choosing features', 0);
  const events = p.events ?? (await (async () => {
    const q = topEventsQuery(trainCutoff, 10);
    return (await ctx.sql(q.sql, q.params)).map((r) => String(r.event));
  })());
  const spec: FeatureSpec = { events, windows: p.windows, traits: p.traits ?? [], ...(p.event !== undefined ? { target: p.event } : {}), ...(p.revenueProperty !== undefined ? { revenueProperty: p.revenueProperty } : {}) };
  const names = featureNames(spec);
  ctx.progress('building training rows', 0.1);
  const train = await labelled(ctx, spec, p, trainCutoff, validationCutoff);
  ctx.progress('building validation rows', 0.25);
  const validation = await labelled(ctx, spec, p, validationCutoff, asOf);
  for (const [name, set] of [['training', train], ['validation', validation]] as const) {
    const pos = set.labels.reduce((s, y) => s + y, 0);
    if (set.ids.length < 20 || pos < 5 || set.ids.length - pos < 5) {
      throw new TandemError('not_enough_data', `propensity: the ${name} window has ${set.ids.length} profiles of which ${pos} had the outcome; at least 20 profiles with 5 of each outcome are needed (is there ${name === 'training' ? '2x' : '1x'} within of history before the scoring instant?)`, 400, 'propensity.within');
    }
  }
  ctx.progress('fitting', 0.4);
  const choice = chooseLearner({ rows: train.rows, labels: train.labels }, { rows: validation.rows, labels: validation.labels }, names, { l2: p.l2, boosting: p.boosting ? {} : false });
  ctx.progress('scoring', 0.7);
  const q = featureQuery(spec, asOf);
  const now = featureRows(await ctx.sql(q.sql, q.params), names.length);
  const values = new Map<string, JsonValue>();
  for (let i = 0; i < now.ids.length; i++) values.set(now.ids[i], { score: round(predict(choice.model, now.rows[i])) });
  const lr = choice.logistic;
  return {
    artefact: { spec, model: choice.model, asOf } satisfies PropensityArtefact,
    values,
    result: {
      outcome: p.churn ? `no activity within ${p.within}` : `'${p.event}' within ${p.within}`,
      learner: choice.model.kind,
      cutoffs: { training: new Date(trainCutoff).toISOString(), validation: new Date(validationCutoff).toISOString(), scoring: new Date(asOf).toISOString() },
      rows: { training: train.ids.length, validation: validation.ids.length, scored: now.ids.length },
      features: names,
      logistic: {
        l2: lr.l2,
        intercept: round(lr.coefficients[0]),
        logLikelihood: round(lr.logLikelihood, 8),
        // Coefficients on standardised features: the change in log-odds per standard deviation.
        coefficients: names.map((f, j) => ({ feature: f, coefficient: round(lr.coefficients[j + 1]), standardError: lr.standardErrors[j + 1] === null ? null : round(lr.standardErrors[j + 1]!), mean: round(lr.standardiser.mean[j]), sd: round(lr.standardiser.scale[j]) })).sort((a, b) => Math.abs(b.coefficient) - Math.abs(a.coefficient)),
      },
      boostedTrees: choice.model.kind === 'boosted_trees' ? { trees: choice.model.trees.length, learningRate: choice.model.learningRate } : null,
      validation: { logistic: metricsView(choice.validation.logistic), ...(choice.validation.boosted_trees ? { boosted_trees: metricsView(choice.validation.boosted_trees) } : {}) },
      explanation: `Scores are P(${p.churn ? `no activity within ${p.within}` : `'${p.event}' within ${p.within}`}) from features as of the scoring instant. The learner kept is the one with the higher validation AUC (boosted trees only when they beat the logistic regression). Per profile, GET /api/v1/models/<key>/profiles/<id> lists the features pushing the score up and down.`,
    },
  };
}

export async function explainPropensity(a: PropensityArtefact, ctx: TrainingContext, profileId: string): Promise<Record<string, unknown> | undefined> {
  const names = featureNames(a.spec);
  const q = featureQuery(a.spec, a.asOf, profileId);
  const { ids, rows } = featureRows(await ctx.sql(q.sql, q.params), names.length);
  if (!ids.length) return undefined;
  const { baseline, contributions } = explain(a.model, rows[0]);
  const item = (c: (typeof contributions)[number]) => ({ feature: c.feature, value: round(c.value), contribution: round(c.contribution, 4) });
  return {
    values: { score: round(predict(a.model, rows[0])) },
    learner: a.model.kind,
    asOf: new Date(a.asOf).toISOString(),
    baselineLogOdds: round(baseline, 4),
    up: contributions.filter((c) => c.contribution > 0).map(item),
    down: contributions.filter((c) => c.contribution < 0).map(item),
    note: a.model.kind === 'logistic' ? 'contribution = coefficient x standardised value: its push on the log-odds against an average profile' : 'contribution: the change in log-odds along each tree\'s path credited to the feature split on (Saabas)',
  };
}

