import { Type, type Static } from '@sinclair/typebox';
import { DefinitionKey } from '../catalogs/definition.js';
import { parseCondition, type Condition } from '../conditions/index.js';
import { parseDuration } from '../core/duration.js';
import { badRequest } from '../core/errors.js';

/**
 * The experiment definition (kind `experiments`): the body of `POST /api/v1/experiments` and of a workspace file.
 * An experiment splits profiles into arms by weight (assign.ts), optionally only those a targeting condition
 * selects; its exposures are track events; its metrics are read from the warehouse (metrics.ts).
 */
export const EXPERIMENT_KIND = 'experiments';
export const DEFAULT_EXPOSURE_EVENT = 'Experiment Exposed';

const ArmKey = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'An arm key (letters, digits, _ and -).' });
const Duration = Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?(ms|s|m|h|d|w)$', description: 'A duration such as 24h, 30m or 7d.' });

export const ArmSchema = Type.Object(
  {
    key: ArmKey,
    name: Type.Optional(Type.String()),
    weight: Type.Number({ exclusiveMinimum: 0, description: 'Relative share of the profiles (weights need not add up to 100).' }),
  },
  { additionalProperties: false },
);

export const MetricSchema = Type.Object(
  {
    key: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
    name: Type.Optional(Type.String()),
    /**
     * conversion: share of exposed profiles that performed `event` within `within` after their first exposure;
     * revenue: per exposed profile, the sum of `property` (default `revenue`) over those events (0 without any);
     * count: per exposed profile, the number of those events.
     */
    type: Type.Union([Type.Literal('conversion'), Type.Literal('revenue'), Type.Literal('count')]),
    event: Type.String({ minLength: 1 }),
    property: Type.Optional(Type.String({ minLength: 1, description: 'revenue: the numeric event property summed (default `revenue`).' })),
    within: Type.Optional(Duration),
    /** A guardrail (unsubscribes, complaints): never the reason to ship; a significant change in the bad direction blocks a winner. */
    guardrail: Type.Optional(Type.Boolean()),
    /** Which way is good (default: increase; guardrails: decrease). */
    direction: Type.Optional(Type.Union([Type.Literal('increase'), Type.Literal('decrease')])),
    /** CUPED: the same metric over this long before the exposure is the covariate. */
    cuped: Type.Optional(Type.Object({ before: Duration }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);

export const ExperimentBody = Type.Object(
  {
    key: DefinitionKey,
    name: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
    /** stopped: everyone gets the control arm and no exposure is recorded. */
    status: Type.Optional(Type.Union([Type.Literal('running'), Type.Literal('stopped')])),
    /** Assignment is md5(salt:profile id); changing the salt reshuffles everyone (default: the key). */
    salt: Type.Optional(Type.String({ minLength: 1 })),
    arms: Type.Array(ArmSchema, { minItems: 2, maxItems: 20 }),
    /** The arm the others are compared with (default: the first). */
    control: Type.Optional(ArmKey),
    /** Who takes part (the condition language); others get no arm and no exposure. */
    targeting: Type.Optional(Type.Unknown({ description: 'A condition (docs/conditions).' })),
    exposure_event: Type.Optional(Type.String({ minLength: 1, description: `Track event that records an exposure (default '${DEFAULT_EXPOSURE_EVENT}', properties experiment and arm).` })),
    /**
     * A holdout: profiles assigned `arm` do not enter these journeys (`['*']`: every journey, a global holdout).
     * Entry attempts record exposures for both arms, so the results measure the journeys' incremental effect.
     */
    holdout: Type.Optional(Type.Object({ arm: ArmKey, journeys: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }) }, { additionalProperties: false })),
    metrics: Type.Array(MetricSchema, { minItems: 1, maxItems: 20 }),
    /** Two-sided significance level (default 0.05). */
    alpha: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 0.5 })),
    /** Fewest exposed profiles per arm before a winner may be named (default 100). */
    minimum_sample: Type.Optional(Type.Integer({ minimum: 1 })),
    /** Per-arm sample size the always-valid interval is tuned for (default 1000; any value keeps it valid). */
    planned_sample: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);
export type ExperimentBody = Static<typeof ExperimentBody>;
export type Metric = Static<typeof MetricSchema>;

/** A validated experiment with its defaults filled in and its targeting parsed. */
export interface Experiment extends ExperimentBody {
  salt: string;
  control: string;
  exposure_event: string;
  alpha: number;
  minimum_sample: number;
  planned_sample: number;
  parsedTargeting?: Condition;
}

export const DEFAULT_WINDOW = '14d';

/** Checks what the schema cannot (references between fields, conditions, durations); errors name the field. */
export function checkExperiment(body: ExperimentBody): ExperimentBody {
  const keys = new Set<string>();
  body.arms.forEach((arm, i) => {
    if (keys.has(arm.key)) throw badRequest('duplicate_arm', `arms[${i}].key: arm '${arm.key}' appears twice`, `arms[${i}].key`);
    keys.add(arm.key);
  });
  if (body.control !== undefined && !keys.has(body.control)) throw badRequest('unknown_arm', `control: '${body.control}' is not one of the arms (${[...keys].join(', ')})`, 'control');
  if (body.holdout && !keys.has(body.holdout.arm)) throw badRequest('unknown_arm', `holdout.arm: '${body.holdout.arm}' is not one of the arms (${[...keys].join(', ')})`, 'holdout.arm');
  if (body.targeting !== undefined) parseCondition(body.targeting, 'targeting');
  const metricKeys = new Set<string>();
  body.metrics.forEach((m, i) => {
    if (metricKeys.has(m.key)) throw badRequest('duplicate_metric', `metrics[${i}].key: metric '${m.key}' appears twice`, `metrics[${i}].key`);
    metricKeys.add(m.key);
    if (m.property !== undefined && m.type !== 'revenue') throw badRequest('invalid_value', `metrics[${i}].property: only revenue metrics sum a property`, `metrics[${i}].property`);
    parseDuration(m.within ?? DEFAULT_WINDOW, `metrics[${i}].within`);
    if (m.cuped) parseDuration(m.cuped.before, `metrics[${i}].cuped.before`);
  });
  if (body.metrics.every((m) => m.guardrail)) throw badRequest('invalid_value', 'metrics: at least one metric must not be a guardrail (the primary metric is the first one that is not)', 'metrics');
  return body;
}

/** The definition as the running parts use it. */
export function resolveExperiment(body: ExperimentBody): Experiment {
  return {
    ...body,
    salt: body.salt ?? body.key,
    control: body.control ?? body.arms[0].key,
    exposure_event: body.exposure_event ?? DEFAULT_EXPOSURE_EVENT,
    alpha: body.alpha ?? 0.05,
    minimum_sample: body.minimum_sample ?? 100,
    planned_sample: body.planned_sample ?? 1000,
    ...(body.targeting !== undefined ? { parsedTargeting: parseCondition(body.targeting, 'targeting') } : {}),
  };
}

/** The primary metric: the first that is not a guardrail. */
export const primaryMetric = (e: ExperimentBody): Metric => e.metrics.find((m) => !m.guardrail)!;
