import { Type, type Static } from '@sinclair/typebox';
import { Name } from '../../schema-parts.js';

/** `{ has_identifier: email }`: the profile has at least one identifier of this type. */
export const HasIdentifierNodeSchema = Type.Object({ has_identifier: Name }, { additionalProperties: false, description: 'The profile has at least one identifier of this type.' });
export type HasIdentifierNode = Static<typeof HasIdentifierNodeSchema>;
