import type { DestinationGuard } from '../network/destination-guard.js';
import type { ChannelDefinition, SmsSettings, WebhookSettings } from './definition.js';

/**
 * Refuses, on save, a channel whose URL is written in the definition and points at a refused address (an IP
 * literal or a local name outside network.allowPrivate). URLs behind a secret (Slack) and host names are checked
 * at send time, after DNS resolution.
 */
export function checkChannelDestinations<T extends ChannelDefinition>(def: T, guard: DestinationGuard): T {
  if (def.type === 'webhook') guard.checkStatic((def.settings as WebhookSettings).url, 'settings.url');
  if (def.type === 'sms' && (def.settings as SmsSettings).baseUrl !== undefined) guard.checkStatic((def.settings as SmsSettings).baseUrl, 'settings.baseUrl');
  return def;
}
