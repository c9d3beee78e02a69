import { Type, type Static } from '@sinclair/typebox';

/** A source as written in the workspace-as-code format and sent to POST/PUT /api/v1/sources. */
export const SourceBody = Type.Object(
  {
    key: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,62}$', description: 'Stable identifier: lower-case letters, digits, - and _.' }),
    name: Type.Optional(Type.String({ maxLength: 200 })),
    trackingPlan: Type.Optional(Type.String({ description: 'Key of the tracking plan that checks this source.' })),
    mode: Type.Optional(
      Type.Union([Type.Literal('allow'), Type.Literal('flag'), Type.Literal('block')], {
        description: 'allow: accept everything; flag: accept and record violations; block: quarantine violating messages.',
      }),
    ),
    rateLimit: Type.Optional(
      Type.Object(
        { eventsPerSecond: Type.Number({ exclusiveMinimum: 0 }), burst: Type.Optional(Type.Number({ exclusiveMinimum: 0 })) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type SourceBody = Static<typeof SourceBody>;

export const SourceView = Type.Object({
  key: Type.String(),
  name: Type.Optional(Type.String()),
  trackingPlan: Type.Optional(Type.String()),
  mode: Type.Optional(Type.String()),
  rateLimit: Type.Optional(Type.Object({ eventsPerSecond: Type.Number(), burst: Type.Optional(Type.Number()) })),
  writeKey: Type.String({ description: 'Masked in listings; in full only in the answer to POST.' }),
  createdAt: Type.String(),
});
