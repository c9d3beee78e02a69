import { Type, type Static } from '@sinclair/typebox';
import { Name } from '../../schema-parts.js';

/** `{ in_audience: vip }`: the profile is a member of another audience. */
export const InAudienceNodeSchema = Type.Object({ in_audience: Name }, { additionalProperties: false, description: 'The profile is a member of another audience.' });
export type InAudienceNode = Static<typeof InAudienceNodeSchema>;
