import type { ProfileView } from '../../model.js';
import type { InAudienceNode } from './schema.js';

export const inAudienceReference = (node: InAudienceNode, profile: ProfileView): boolean => profile.audiences.includes(node.in_audience);
