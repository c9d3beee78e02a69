import { Type, type Static } from '@sinclair/typebox';
import { PropertyFilterSchema } from '../conditions/nodes/performed/schema.js';
import { Duration, FieldPath, Name } from '../conditions/schema-parts.js';

/** Request schemas of the analytics reports (docs/analytics.md). Every report reads the warehouse with SQL. */

const Instant = Type.String({ minLength: 1, description: 'ISO-8601 instant (2026-03-01 or 2026-03-01T12:00:00Z) or milliseconds since the epoch as a string' });

/** The time range shared by every report: [from, to). Defaults: to = now, from = to - 30 days. */
const Range = {
  from: Type.Optional(Instant),
  to: Type.Optional(Instant),
};

export const EVENT_TYPES = ['track', 'page', 'screen', 'identify', 'group', 'alias'] as const;

/**
 * Which events a step, a cohort or an anchor matches: a track event by name, or any event of a type, with the
 * condition language's property filters (`{ property: total, gte: 100 }`, same operators and semantics).
 */
export const EventMatchSchema = Type.Object(
  {
    event: Type.Optional(Name),
    type: Type.Optional(Type.Union(EVENT_TYPES.map((t) => Type.Literal(t)), { 'x-expected': `one of ${EVENT_TYPES.join(', ')}` })),
    where: Type.Optional(Type.Array(PropertyFilterSchema, { maxItems: 20, 'x-expected': 'a list of property filters' })),
    label: Type.Optional(Type.String({ maxLength: 200, description: 'Name shown in the answer (default: the event name or type)' })),
  },
  { additionalProperties: false, description: 'Events matched by name (track) or type, with property filters.' },
);
export type EventMatch = Static<typeof EventMatchSchema>;

export const BreakdownSchema = Type.Union(
  [
    Type.Object({ trait: FieldPath }, { additionalProperties: false, description: "The profile's trait (current value)." }),
    Type.Object({ property: FieldPath }, { additionalProperties: false, description: 'A property of the event that entered the funnel.' }),
    Type.Object({ audiences: Type.Array(Name, { minItems: 1, maxItems: 20 }) }, { additionalProperties: false, description: 'Current members of each audience (a profile may be in several).' }),
    Type.Object(
      {
        exposure: Type.Object(
          { event: Name, property: FieldPath, where: Type.Optional(Type.Array(PropertyFilterSchema, { maxItems: 20 })) },
          { additionalProperties: false },
        ),
      },
      { additionalProperties: false, description: "Experiment arms: the `property` of the profile's first `event` (e.g. Experiment Viewed / variation)." },
    ),
  ],
  { 'x-expected': 'one of { trait }, { property }, { audiences }, { exposure: { event, property } }' },
);
export type Breakdown = Static<typeof BreakdownSchema>;

export const FunnelRequestSchema = Type.Object(
  {
    steps: Type.Array(EventMatchSchema, { minItems: 2, maxItems: 10, 'x-expected': 'a list of 2 to 10 steps' }),
    window: Type.Optional(Duration),
    ...Range,
    breakdown: Type.Optional(BreakdownSchema),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Most groups of a breakdown (by entries), default 20' })),
  },
  { additionalProperties: false },
);
export type FunnelRequest = Static<typeof FunnelRequestSchema>;

export const PERIODS = ['day', 'week', 'month'] as const;

export const RetentionRequestSchema = Type.Object(
  {
    cohort: Type.Optional(
      Type.Object(
        { event: Type.Optional(EventMatchSchema), trait: Type.Optional(FieldPath) },
        { additionalProperties: false, description: "Profiles enter on their first `event` (default: any event); rows are the period of that first event, or the profile's `trait`." },
      ),
    ),
    return: Type.Optional(EventMatchSchema),
    period: Type.Optional(Type.Union(PERIODS.map((p) => Type.Literal(p)), { 'x-expected': 'day, week or month' })),
    periods: Type.Optional(Type.Integer({ minimum: 1, maximum: 90, description: 'Periods after the first, default 8' })),
    ...Range,
  },
  { additionalProperties: false },
);
export type RetentionRequest = Static<typeof RetentionRequestSchema>;

export const PathsRequestSchema = Type.Object(
  {
    anchor: EventMatchSchema,
    direction: Type.Optional(Type.Union([Type.Literal('after'), Type.Literal('before')], { 'x-expected': 'after or before' })),
    steps: Type.Optional(Type.Integer({ minimum: 1, maximum: 10, description: 'Events in a path, default 3' })),
    top: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Paths returned, default 10' })),
    within: Type.Optional(Duration),
    exclude: Type.Optional(Type.Array(Name, { maxItems: 50, description: 'Event names left out of paths' })),
    ...Range,
  },
  { additionalProperties: false },
);
export type PathsRequest = Static<typeof PathsRequestSchema>;

export const MODELS = ['first_touch', 'last_touch', 'linear', 'time_decay', 'position_based', 'markov'] as const;
export type AttributionModel = (typeof MODELS)[number];

export const TouchpointsSchema = Type.Object(
  {
    utm: Type.Optional(Type.Boolean({ description: 'Events carrying context.campaign (UTM parameters); default true' })),
    ads: Type.Optional(Type.Array(Name, { maxItems: 20, description: "Ad events (default ['Ad Clicked', 'Ad Viewed'])" })),
    messages: Type.Optional(Type.Array(Name, { maxItems: 20, description: "Tandem's delivery events (default ['Message Sent'])" })),
  },
  { additionalProperties: false },
);

const attributionFields = {
  conversion: EventMatchSchema,
  revenueProperty: Type.Optional(FieldPath),
  lookback: Type.Optional(Duration),
  halfLife: Type.Optional(Duration),
  touchpoints: Type.Optional(TouchpointsSchema),
  models: Type.Optional(Type.Array(Type.Union(MODELS.map((m) => Type.Literal(m))), { minItems: 1, 'x-expected': `a list of models among ${MODELS.join(', ')}` })),
  ...Range,
};

export const AttributionRequestSchema = Type.Object(
  { ...attributionFields, groupBy: Type.Optional(Type.Union([Type.Literal('channel'), Type.Literal('campaign')], { 'x-expected': 'channel or campaign' })) },
  { additionalProperties: false },
);
export type AttributionRequest = Static<typeof AttributionRequestSchema>;

export const CampaignsRequestSchema = Type.Object(attributionFields, { additionalProperties: false });
export type CampaignsRequest = Static<typeof CampaignsRequestSchema>;

const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', 'x-expected': 'a date such as 2026-03-01' });

export const SpendRowSchema = Type.Object(
  {
    date: Day,
    campaign: Name,
    channel: Type.Optional(Type.String({ description: "The channel as touchpoints name it (UTM source, ad channel); '' or absent: any" })),
    spend: Type.Number({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export type SpendRow = Static<typeof SpendRowSchema>;

export const SpendImportSchema = Type.Union([
  Type.Object({ rows: Type.Array(SpendRowSchema, { maxItems: 100_000 }) }, { additionalProperties: false }),
  Type.String({ description: 'CSV text with a header: date,campaign,channel,spend' }),
]);
