import { boostedTreesBaseline, explainBoostedTrees, fitBoostedTrees, predictBoostedTrees, type BoostedTrees, type BoostingOptions } from './gbt.js';
import { explainLogistic, fitLogistic, predictLogistic, type Contribution, type LogisticModel } from './logistic.js';
import { classifierMetrics, type ClassifierMetrics } from './metrics.js';

export type Classifier = LogisticModel | BoostedTrees;

export interface LabelledRows {
  rows: ArrayLike<number>[];
  labels: ArrayLike<number>;
}

export interface LearnerChoice {
  /** The model kept: boosted trees only if their validation AUC beats the logistic regression's. */
  model: Classifier;
  logistic: LogisticModel;
  /** Validation measures of both learners (boosted trees absent when disabled). */
  validation: { logistic: ClassifierMetrics; boosted_trees?: ClassifierMetrics };
}

export function predict(m: Classifier, row: ArrayLike<number>): number {
  return m.kind === 'logistic' ? predictLogistic(m, row) : predictBoostedTrees(m, row);
}

/** The features pushing one row's score up and down (log-odds contributions) and the log-odds they start from. */
export function explain(m: Classifier, row: ArrayLike<number>): { baseline: number; contributions: Contribution[] } {
  return m.kind === 'logistic'
    ? { baseline: m.coefficients[0], contributions: explainLogistic(m, row) }
    : { baseline: boostedTreesBaseline(m), contributions: explainBoostedTrees(m, row) };
}

/**
 * Fits the regularised logistic regression and (unless disabled) boosted trees on `train`, measures both on
 * `validation`, and keeps the trees only if they beat the regression's validation AUC.
 */
export function chooseLearner(train: LabelledRows, validation: LabelledRows, features: string[], options: { l2?: number; boosting?: false | BoostingOptions } = {}): LearnerChoice {
  const logistic = fitLogistic(train.rows, train.labels, features, { l2: options.l2 ?? 1 });
  const measure = (m: Classifier) => classifierMetrics(validation.rows.map((r) => predict(m, r)), validation.labels);
  const out: LearnerChoice = { model: logistic, logistic, validation: { logistic: measure(logistic) } };
  if (options.boosting !== false) {
    const trees = fitBoostedTrees(train.rows, train.labels, features, options.boosting ?? {});
    out.validation.boosted_trees = measure(trees);
    if (out.validation.boosted_trees.auc > out.validation.logistic.auc) out.model = trees;
  }
  return out;
}
