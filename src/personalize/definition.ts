import { Type, type Static } from '@sinclair/typebox';
import { conditionDependencies } from '../apply/definitions.js';
import { DefinitionKey } from '../catalogs/definition.js';
import { parseCondition, type Condition } from '../conditions/index.js';
import { parseDuration } from '../core/duration.js';
import { badRequest } from '../core/errors.js';

/**
 * A decision point (kind `decisions`, docs/personalization.md): offers with eligibility conditions, a ranking
 * policy, caps per visitor, a holdout and the reward events a bandit learns from. Conditions are the condition
 * language, evaluated at request time on the profile as the fast loop holds it, with the request context under the
 * trait `context` and the candidate offer under the trait `offer`.
 */
export const DECISION_KIND = 'decisions';
/** The property a reward event names its decision by. */
export const DECISION_ID_PROPERTY = 'decision_id';

const Duration = Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?(ms|s|m|h|d|w)$', description: 'A duration such as 24h, 30m or 7d.' });
const OfferKey = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'An offer key (letters, digits, _ and -).' });
const ConditionBody = Type.Unknown({ description: 'A condition of the condition language (src/conditions/README.md); no event-history nodes.' });

export const CapSchema = Type.Object(
  {
    max: Type.Integer({ minimum: 1, description: 'Most times one visitor is shown the offer within the window.' }),
    within: Duration,
  },
  { additionalProperties: false },
);

export const OfferSchema = Type.Object(
  {
    key: OfferKey,
    name: Type.Optional(Type.String()),
    /** Returned to the page as is (a banner's title, image, link, ...). */
    content: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'What the page shows for this offer; returned as is.' })),
    /** Readable by conditions as `offer.attributes.<name>` (a SKU for a stock lookup, a category, ...). */
    attributes: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Readable by conditions as the trait `offer.attributes.<name>`.' })),
    condition: Type.Optional(ConditionBody),
    /** Overrides the decision's cap for this offer. */
    cap: Type.Optional(CapSchema),
    /** Policy `propensity`: the computed trait (a model's output) that scores this offer for the profile. */
    score: Type.Optional(Type.String({ minLength: 1, description: 'Policy propensity: the computed trait whose value scores this offer (e.g. a propensity model output).' })),
  },
  { additionalProperties: false },
);

/** A bandit feature: 1 or 0 by a condition, or a number read from the profile, the context or a catalog row. */
export const FeatureSchema = Type.Union([
  Type.Object({ key: OfferKey, when: ConditionBody }, { additionalProperties: false, description: '1 when the condition holds, else 0.' }),
  Type.Object(
    {
      key: OfferKey,
      value: Type.String({ pattern: '^(traits|computed|context)\\.', description: 'A dotted path: traits.<name>, computed.<key> or context.<path>.' }),
      scale: Type.Optional(Type.Number({ description: 'Multiplier (keep features near [-1, 1]); default 1.' })),
      default: Type.Optional(Type.Number({ description: 'When the value is absent or not a number; default 0.' })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      key: OfferKey,
      catalog: Type.String({ minLength: 1 }),
      key_from: Type.String({ pattern: '^(traits|computed|context)\\.', description: 'Dotted path of the row key, e.g. context.geo.region.' }),
      field: Type.String({ minLength: 1 }),
      scale: Type.Optional(Type.Number()),
      default: Type.Optional(Type.Number()),
    },
    { additionalProperties: false, description: 'A number from a catalog row (an external signal such as the weather per region).' },
  ),
]);

export const PolicySchema = Type.Union([
  Type.Object({ type: Type.Literal('rules') }, { additionalProperties: false, description: 'The first eligible offer in the listed order.' }),
  Type.Object({ type: Type.Literal('propensity') }, { additionalProperties: false, description: "The eligible offer with the highest `score` (a computed trait); offers without a value rank last, in order." }),
  Type.Object(
    {
      type: Type.Literal('bandit'),
      algorithm: Type.Union([Type.Literal('linucb'), Type.Literal('thompson')], { description: 'LinUCB (Li et al. 2010) or linear Thompson sampling (Agrawal & Goyal 2013), one ridge model per offer.' }),
      features: Type.Array(FeatureSchema, { maxItems: 32, description: 'Context and profile features; an intercept is always added.' }),
      alpha: Type.Optional(Type.Number({ minimum: 0, description: 'LinUCB exploration width (default 1).' })),
      v: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Thompson sampling posterior scale (default 0.5).' })),
      lambda: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Ridge prior precision (default 1).' })),
    },
    { additionalProperties: false },
  ),
]);

export const RewardSchema = Type.Object(
  {
    events: Type.Array(
      Type.Object(
        {
          event: Type.String({ minLength: 1, description: `A track event carrying the property ${DECISION_ID_PROPERTY}.` }),
          value: Type.Optional(Type.Number({ description: 'Reward of this event (default 1).' })),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 10 },
    ),
    within: Type.Optional(Duration),
  },
  { additionalProperties: false },
);

export const DecisionBody = Type.Object(
  {
    key: DefinitionKey,
    name: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
    /** Who gets any offer at all (consent, for example); others get none. */
    condition: Type.Optional(ConditionBody),
    offers: Type.Array(OfferSchema, { minItems: 1, maxItems: 100 }),
    policy: PolicySchema,
    /** Per visitor and offer; an offer over its cap is not eligible. */
    cap: Type.Optional(CapSchema),
    holdout: Type.Optional(
      Type.Object(
        {
          percent: Type.Number({ minimum: 0, maximum: 50, description: 'Share of visitors (by a hash of the visitor id and the salt) served the control instead of the policy.' }),
          control: Type.Optional(Type.Union([Type.Literal('random'), Type.Literal('first')], { description: 'random (default): a uniformly random eligible offer; first: the first eligible offer.' })),
          salt: Type.Optional(Type.String({ minLength: 1, description: 'Default: the decision key.' })),
        },
        { additionalProperties: false },
      ),
    ),
    reward: Type.Optional(RewardSchema),
  },
  { additionalProperties: false },
);
export type DecisionBody = Static<typeof DecisionBody>;
export type Offer = Static<typeof OfferSchema>;
export type Feature = Static<typeof FeatureSchema>;
export type Cap = Static<typeof CapSchema>;

/** A decision with its conditions parsed and durations read, as the personalizer uses it. */
export interface CompiledDecision {
  key: string;
  version: number;
  body: DecisionBody;
  condition?: Condition;
  offers: (Offer & { parsed?: Condition; capMs?: number; capMax?: number })[];
  features: (Feature & { parsed?: Condition })[];
  rewardWithinMs: number;
  /** Changes when the features change: a bandit model learned under other features is not reused. */
  signature: string;
  /** Whether a condition of it reads consent (a `subscribed` node): the profile read skips consent otherwise. */
  readsConsent: boolean;
}

const DEFAULT_REWARD_WINDOW = '1d';

/**
 * Conditions answered at request time see the profile's facts, memberships and computed values, never its event
 * history (which only the apply stage holds): `performed` and the like are refused with the way round (an audience).
 */
function requestTimeCondition(input: unknown, at: string): Condition {
  const condition = parseCondition(input, at);
  const deps = conditionDependencies(condition);
  if (deps.events === '*' || deps.events.size > 0) {
    throw badRequest('history_condition', `${at}: a decision's conditions cannot read event history (performed, first_performed, last_performed, key_from.last_event); define an audience and use in_audience`, at);
  }
  return condition;
}

/** Checks a decision beyond its shape; throws a TandemError naming the field. */
export function checkDecision(body: DecisionBody): DecisionBody {
  compileDecision(body, 0);
  return body;
}

export function compileDecision(body: DecisionBody, version: number): CompiledDecision {
  const seen = new Set<string>();
  const offers = body.offers.map((offer, i) => {
    if (seen.has(offer.key)) throw badRequest('duplicate_offer', `offers[${i}].key: '${offer.key}' is listed twice`, `offers[${i}].key`);
    seen.add(offer.key);
    if (body.policy.type === 'propensity' && offer.score === undefined) {
      throw badRequest('missing_score', `offers[${i}].score: policy propensity needs the computed trait that scores each offer`, `offers[${i}].score`);
    }
    const cap = offer.cap ?? body.cap;
    return {
      ...offer,
      parsed: offer.condition === undefined ? undefined : requestTimeCondition(offer.condition, `offers[${i}].condition`),
      capMs: cap ? parseDuration(cap.within, offer.cap ? `offers[${i}].cap.within` : 'cap.within') : undefined,
      capMax: cap?.max,
    };
  });
  const features: CompiledDecision['features'] = [];
  if (body.policy.type === 'bandit') {
    const keys = new Set<string>();
    body.policy.features.forEach((f, i) => {
      if (keys.has(f.key)) throw badRequest('duplicate_feature', `policy.features[${i}].key: '${f.key}' is listed twice`, `policy.features[${i}].key`);
      keys.add(f.key);
      features.push('when' in f ? { ...f, parsed: requestTimeCondition(f.when, `policy.features[${i}].when`) } : f);
    });
  }
  if (body.holdout && body.holdout.percent > 0 && body.policy.type === 'rules' && (body.holdout.control ?? 'random') === 'first') {
    throw badRequest('empty_holdout', 'holdout.control: first is what policy rules serves; the holdout would measure nothing (use random)', 'holdout.control');
  }
  const rewardWithinMs = parseDuration(body.reward?.within ?? DEFAULT_REWARD_WINDOW, 'reward.within');
  return {
    key: body.key,
    version,
    body,
    condition: body.condition === undefined ? undefined : requestTimeCondition(body.condition, 'condition'),
    offers,
    features,
    rewardWithinMs,
    signature: JSON.stringify(body.policy.type === 'bandit' ? [body.policy.algorithm, body.policy.lambda ?? 1, body.policy.features] : body.policy.type),
    // A node kind is a key: in JSON only a key is followed by ':' (a literal object holding one errs on the safe side).
    readsConsent: JSON.stringify([body.condition, body.offers.map((o) => o.condition), features.map((f) => ('when' in f ? f.when : null))]).includes('"subscribed":'),
  };
}
