import { parseDuration } from '../../core/duration.js';
import type { DestinationGuard } from '../../network/destination-guard.js';
import { httpSend, type Channel, type ChannelKind, type OutgoingMessage, type SendOutcome } from '../channel.js';
import type { SlackSettings } from '../definition.js';
import { readSecret, SecretMissing, type SecretSource } from '../../secrets/reference.js';

/** Slack incoming webhook: POST {"text": ...}. The webhook URL is a secret (it is the credential). */
class SlackChannel implements Channel {
  constructor(
    private readonly workspaceId: string,
    private readonly settings: SlackSettings,
    private readonly secrets: SecretSource,
    private readonly guard?: DestinationGuard,
  ) {}

  async send(m: OutgoingMessage): Promise<SendOutcome> {
    const text = m.content?.body ?? (typeof m.payload.text === 'string' ? m.payload.text : undefined);
    if (text === undefined || text.trim() === '') return { status: 'failed', retryable: false, reason: 'a Slack message needs text: use a template, or payload.text' };
    let url: string;
    try {
      url = readSecret(this.settings.webhookUrl, this.secrets, this.workspaceId, 'settings.webhookUrl') as string;
    } catch (error) {
      if (error instanceof SecretMissing) return { status: 'failed', retryable: true, reason: error.message };
      throw error;
    }
    const { outcome } = await httpSend(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': m.idempotencyKey },
      body: JSON.stringify({ text }),
      timeoutMs: parseDuration(this.settings.timeout, 'settings.timeout'),
      guard: this.guard,
    });
    return outcome;
  }
}

export const slackKind: ChannelKind = {
  type: 'slack',
  create: (workspaceId, def, deps) => new SlackChannel(workspaceId, def.settings as SlackSettings, deps.secrets, deps.destinations),
};
