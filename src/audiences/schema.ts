import { Type, type Static } from '@sinclair/typebox';
import type { Condition } from '../conditions/condition.js';

export const AUDIENCE_KIND = 'audiences';

/** The workspace-as-code body of an audience (kind `audiences`), exactly what GET returns and POST/PUT take. */
export const AudienceBody = Type.Object(
  {
    key: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}$', description: 'Stable key: lower case letters, digits, _ and -.' }),
    name: Type.Optional(Type.String({ maxLength: 200 })),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    condition: Type.Object({}, { additionalProperties: true, description: 'A condition of the definition language (docs/audiences.md, src/conditions/README.md).' }),
  },
  { additionalProperties: false, $id: undefined },
);
export type AudienceBody = Static<typeof AudienceBody> & { condition: Condition };

export const Preview = Type.Object({
  size: Type.Integer({ description: 'Profiles for which the condition holds now.' }),
  sample: Type.Array(Type.String(), { description: 'Up to `sample` of their profile ids, in id order.' }),
  asOf: Type.String({ format: 'date-time' }),
});
