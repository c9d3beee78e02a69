import { Type, type Static } from '@sinclair/typebox';

/**
 * A tracking plan as written in the workspace-as-code format and sent to POST/PUT /api/v1/tracking-plans.
 * This one schema validates API input, types the code and documents the API. The JSON Schemas inside it are
 * compiled (and refused with a path when they do not compile) by compilePlan in check.ts.
 */
const JsonSchema = (description: string) =>
  Type.Union([Type.Boolean(), Type.Object({}, { additionalProperties: true })], { description: `${description} A JSON Schema (draft 2020-12).` });

export const UnplannedPolicy = Type.Union([Type.Literal('allow'), Type.Literal('flag'), Type.Literal('block')]);
export type UnplannedPolicy = Static<typeof UnplannedPolicy>;

export const TrackingPlanBody = Type.Object(
  {
    key: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,62}$', description: 'Stable identifier: lower-case letters, digits, - and _. Sources refer to it as trackingPlan.' }),
    name: Type.Optional(Type.String({ maxLength: 200 })),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    events: Type.Record(Type.String({ minLength: 1, maxLength: 512 }), JsonSchema('Schema of the track call\'s properties.'), {
      description: 'The planned track events: event name -> schema of its properties.',
    }),
    identify: Type.Optional(JsonSchema('Schema of identify traits.')),
    page: Type.Optional(JsonSchema('Schema of page properties.')),
    screen: Type.Optional(JsonSchema('Schema of screen properties.')),
    group: Type.Optional(JsonSchema('Schema of group traits.')),
    common: Type.Optional(JsonSchema('Schema applied to every whole message (for example requiring context.app.version).')),
    unplannedEvents: Type.Optional(
      Type.Union(UnplannedPolicy.anyOf, {
        description: 'Track events not listed in events. allow: ignore; flag (default): record a violation, never quarantine; block: quarantine in block mode.',
      }),
    ),
    unplannedProperties: Type.Optional(
      Type.Union(UnplannedPolicy.anyOf, {
        description:
          'Properties or traits a schema does not declare. allow (default): ignore; flag: record a violation, never quarantine; block: quarantine in block mode. ' +
          'A schema that sets additionalProperties itself decides on its own.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type TrackingPlan = Static<typeof TrackingPlanBody>;

export const TRACKING_PLAN_KIND = 'tracking-plans';
