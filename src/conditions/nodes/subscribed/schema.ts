import { Type, type Static } from '@sinclair/typebox';
import { Name } from '../../schema-parts.js';

/** `{ subscribed: marketing_email }`: the profile is subscribed to (consented to) this group; absent means not subscribed. */
export const SubscribedNodeSchema = Type.Object({ subscribed: Name }, { additionalProperties: false, description: 'The profile is subscribed to (consented to) this group; absent means not subscribed.' });
export type SubscribedNode = Static<typeof SubscribedNodeSchema>;
