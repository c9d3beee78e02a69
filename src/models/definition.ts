import { Type, type Static } from '@sinclair/typebox';
import { DURATION_PATTERN } from '../conditions/schema-parts.js';
import { ISO_INSTANT_PATTERN, parseIsoInstant } from '../conditions/values.js';
import { parseDuration } from '../core/duration.js';
import { badRequest } from '../core/errors.js';

export const MODEL_KIND = 'models';

// Plain patterns (no `x-expected` annotation): these schemas also validate route bodies, whose validator is strict.
const Duration = Type.String({ pattern: DURATION_PATTERN, description: 'A duration such as 24h, 30m or 7d.' });
const IsoInstant = Type.String({ pattern: ISO_INSTANT_PATTERN, description: 'An ISO instant such as 2024-01-31 or 2024-01-31T12:00:00Z.' });

/** No dot in a model key: its computed trait is read by path (`computed: ltv.clv`). */
const ModelKey = Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_-]{0,63}$', description: 'Unique key (a letter, then letters, digits, `_`, `-`; no dots). Also the computed trait the model writes, unless `output` names another.' });

export const ClvParams = Type.Object(
  {
    event: Type.String({ minLength: 1, default: 'Order Completed', description: 'The purchase event.' }),
    revenueProperty: Type.String({ minLength: 1, default: 'revenue', description: 'The property holding a purchase\'s value.' }),
    timeUnit: Type.Union([Type.Literal('days'), Type.Literal('weeks')], { default: 'weeks', description: 'Unit of recency, T, the horizon and the reported parameters.' }),
    calibrationEnd: Type.Optional({ ...IsoInstant, description: 'End of the calibration period (purchases up to and including it fit the model). Default: the scoring instant.' }),
    holdoutEnd: Type.Optional({ ...IsoInstant, description: 'The scoring instant, and the end of the holdout period that checks the fit (calibration versus holdout). Default: the time of training.' }),
    horizon: Type.Number({ exclusiveMinimum: 0, default: 52, description: 'Horizon of the expected purchases and of the CLV, in time units.' }),
    discountRate: Type.Number({ minimum: 0, maximum: 1, default: 0.1, description: 'Annual discount rate of the CLV (cash flows discounted monthly).' }),
  },
  { additionalProperties: false },
);

export const PropensityParams = Type.Object(
  {
    event: Type.Optional(Type.String({ minLength: 1, description: 'The event whose likelihood is predicted (for example Order Completed). Exactly one of event and churn.' })),
    churn: Type.Optional(Type.Boolean({ description: 'Predict churn: no activity at all in the window. Exactly one of event and churn.' })),
    within: { ...Duration, default: '30d', description: 'The window of the outcome: performing the event (or none at all, for churn) within this long after the cutoff.' },
    asOf: Type.Optional({ ...IsoInstant, description: 'The scoring instant (for backtests). Default: the time of training.' }),
    events: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { maxItems: 50, description: 'Events counted per window as features. Default: the 10 most frequent before the training cutoff.' })),
    windows: Type.Array(Duration, { minItems: 1, maxItems: 6, default: ['7d', '30d', '90d'], description: 'Windows of the per-event counts.' }),
    traits: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { maxItems: 50, description: 'Profile traits used as numeric features (booleans as 0/1; missing or non-numeric as 0). Current values, not as of the cutoff.' })),
    revenueProperty: Type.Optional(Type.String({ minLength: 1, description: 'Sum of this property over the `event` (or all events) as a monetary feature.' })),
    l2: Type.Number({ minimum: 0, default: 1, description: 'L2 penalty of the logistic regression on standardised coefficients.' }),
    boosting: Type.Boolean({ default: true, description: 'Also fit gradient-boosted trees; kept only if they beat the logistic regression\'s validation AUC.' }),
  },
  { additionalProperties: false },
);

export const SendTimeParams = Type.Object(
  {
    events: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, default: ['Message Opened', 'Message Clicked', 'Session Started'], description: 'Engagement events whose hour of the week counts.' }),
    lookback: { ...Duration, default: '180d', description: 'How far back engagements count.' },
    asOf: Type.Optional({ ...IsoInstant, description: 'The scoring instant (for backtests). Default: the time of training.' }),
  },
  { additionalProperties: false },
);

export const ModelBody = Type.Object(
  {
    key: ModelKey,
    name: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
    type: Type.Union([Type.Literal('clv'), Type.Literal('propensity'), Type.Literal('send-time')], { description: 'clv: BG/NBD and Gamma-Gamma; propensity: likelihood of an event (or churn) within a window; send-time: best hour of the week.' }),
    output: Type.Optional(Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_-]{0,63}$', description: 'The computed trait the per-profile values are written to (default: the key).' })),
    schedule: Type.Optional({ ...Duration, description: 'Retrain this often (and when the definition changes). Omitted: only on demand (POST /api/v1/models/<key>/train).' }),
    clv: Type.Optional(ClvParams),
    propensity: Type.Optional(PropensityParams),
    sendTime: Type.Optional(SendTimeParams),
    status: Type.Optional(Type.Unknown({ description: 'Read-only: the training status GET answers with; ignored when sent, so an answer can be sent back unchanged.' })),
  },
  { additionalProperties: false, description: 'A model (docs/models.md): lifetime value, propensity or send time, trained on the warehouse, per-profile values as a computed trait.' },
);

export type ModelDefinition = Static<typeof ModelBody>;
export type ClvParams = Static<typeof ClvParams>;
export type PropensityParams = Static<typeof PropensityParams>;
export type SendTimeParams = Static<typeof SendTimeParams>;

const SECTION = { clv: 'clv', propensity: 'propensity', 'send-time': 'sendTime' } as const;

/**
 * Checks what the schema cannot: the parameter section matching `type` (filled with defaults when omitted), no
 * other section, one of event and churn, instants that parse, windows that are durations. Returns the body to store.
 */
export function checkModel(body: ModelDefinition): ModelDefinition {
  const { status: _ignored, ...def } = body;
  const own = SECTION[def.type];
  for (const s of Object.values(SECTION)) if (s !== own && def[s] !== undefined) throw badRequest('wrong_section', `${s}: is for models of type ${Object.entries(SECTION).find(([, v]) => v === s)![0]}, not ${def.type}`, s);
  if (def.type === 'clv') {
    const p = (def.clv ??= { event: 'Order Completed', revenueProperty: 'revenue', timeUnit: 'weeks', horizon: 52, discountRate: 0.1 });
    const cal = p.calibrationEnd === undefined ? undefined : instant(p.calibrationEnd, 'clv.calibrationEnd');
    const hold = p.holdoutEnd === undefined ? undefined : instant(p.holdoutEnd, 'clv.holdoutEnd');
    if (cal !== undefined && hold !== undefined && hold < cal) throw badRequest('invalid_period', 'clv.holdoutEnd: must not be before clv.calibrationEnd', 'clv.holdoutEnd');
  } else if (def.type === 'propensity') {
    const p = def.propensity;
    if (!p) throw badRequest('required', 'propensity: is required for a propensity model (give event or churn: true)', 'propensity');
    if ((p.event === undefined) === (p.churn !== true)) throw badRequest('invalid_outcome', 'propensity: give exactly one of event and churn: true', p.event === undefined ? 'propensity.event' : 'propensity.churn');
    parseDuration(p.within, 'propensity.within');
    p.windows.forEach((w, i) => parseDuration(w, `propensity.windows[${i}]`));
    if (p.asOf !== undefined) instant(p.asOf, 'propensity.asOf');
  } else {
    const p = (def.sendTime ??= { events: ['Message Opened', 'Message Clicked', 'Session Started'], lookback: '180d' });
    parseDuration(p.lookback, 'sendTime.lookback');
    if (p.asOf !== undefined) instant(p.asOf, 'sendTime.asOf');
  }
  if (def.schedule !== undefined && parseDuration(def.schedule, 'schedule') < 60_000) throw badRequest('invalid_schedule', 'schedule: must be at least 1m', 'schedule');
  return def;
}

export function instant(text: string, path: string): number {
  const t = parseIsoInstant(text);
  if (t === undefined) throw badRequest('invalid_instant', `${path}: must be an ISO instant such as 2024-01-31 or 2024-01-31T12:00:00Z; got '${text}'`, path);
  return t;
}

/** The computed trait a model writes. */
export const outputOf = (def: ModelDefinition): string => def.output ?? def.key;
