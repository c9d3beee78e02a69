import type { ProfileView } from '../../model.js';
import type { HasIdentifierNode } from './schema.js';

export const hasIdentifierReference = (node: HasIdentifierNode, profile: ProfileView): boolean => profile.identifiers.some((identifier) => identifier.type === node.has_identifier);
