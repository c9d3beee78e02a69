import { createHmac } from 'node:crypto';
import { parseDuration } from '../../core/duration.js';
import type { DestinationGuard } from '../../network/destination-guard.js';
import { httpSend, type Channel, type ChannelKind, type OutgoingMessage, type SendOutcome } from '../channel.js';
import type { WebhookSettings } from '../definition.js';
import { readSecret, SecretMissing, type SecretSource } from '../../secrets/reference.js';

/** `sha256=<hex HMAC-SHA256 of the exact body bytes>`, as the X-Tandem-Signature header carries it. */
export const signBody = (secret: string, body: string): string => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

/** The JSON a webhook sends: the template's rendered body (which must be JSON), else the message's payload. */
export function webhookBody(m: OutgoingMessage): { body: string } | { error: string } {
  if (m.content?.body !== undefined) {
    try {
      return { body: JSON.stringify(JSON.parse(m.content.body)) };
    } catch (error) {
      return { error: `the template did not render valid JSON (${(error as Error).message}); use the json filter for values, e.g. {{ traits.name | json }}` };
    }
  }
  return { body: JSON.stringify({ message_id: m.id, profile_id: m.profile.id, journey: m.journey, node: m.node, payload: m.payload }) };
}

class WebhookChannel implements Channel {
  constructor(
    private readonly workspaceId: string,
    private readonly settings: WebhookSettings,
    private readonly secrets: SecretSource,
    private readonly guard?: DestinationGuard,
  ) {}

  async send(m: OutgoingMessage): Promise<SendOutcome> {
    const s = this.settings;
    const built = webhookBody(m);
    if ('error' in built) return { status: 'failed', retryable: false, reason: built.error };
    let secret: string | undefined;
    try {
      secret = readSecret(s.secret, this.secrets, this.workspaceId, 'settings.secret');
    } catch (error) {
      if (error instanceof SecretMissing) return { status: 'failed', retryable: true, reason: error.message };
      throw error;
    }
    const { outcome } = await httpSend(s.url, {
      method: s.method,
      headers: {
        ...s.headers,
        'content-type': 'application/json',
        'idempotency-key': m.idempotencyKey,
        'x-tandem-message-id': m.id,
        ...(secret !== undefined ? { 'x-tandem-signature': signBody(secret, built.body) } : {}),
      },
      body: built.body,
      timeoutMs: parseDuration(s.timeout, 'settings.timeout'),
      guard: this.guard,
    });
    return outcome;
  }
}

export const webhookKind: ChannelKind = {
  type: 'webhook',
  create: (workspaceId, def, deps) => new WebhookChannel(workspaceId, def.settings as WebhookSettings, deps.secrets, deps.destinations),
};
