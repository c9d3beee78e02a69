import type { ProfileView } from '../../model.js';
import type { SubscribedNode } from './schema.js';

export const subscribedReference = (node: SubscribedNode, profile: ProfileView): boolean => Object.prototype.hasOwnProperty.call(profile.subscriptions, node.subscribed) && profile.subscriptions[node.subscribed] === 'subscribed';
