import { parseDuration } from '../../core/duration.js';
import type { DestinationGuard } from '../../network/destination-guard.js';
import { httpSend, phoneOf, toE164, unsubscribed, type Channel, type ChannelKind, type OutgoingMessage, type SendOutcome } from '../channel.js';
import type { SmsSettings } from '../definition.js';
import { readSecret, SecretMissing, type SecretSource } from '../../secrets/reference.js';

/**
 * SMS through a Twilio-compatible HTTP API: POST form-encoded To, From, Body to
 * {baseUrl}/2010-04-01/Accounts/{sid}/Messages.json with HTTP Basic auth (sid, token).
 */
class SmsChannel implements Channel {
  constructor(
    private readonly workspaceId: string,
    private readonly settings: SmsSettings,
    private readonly secrets: SecretSource,
    private readonly guard?: DestinationGuard,
  ) {}

  async send(m: OutgoingMessage): Promise<SendOutcome> {
    const s = this.settings;
    if (unsubscribed(m.profile, s.subscriptionGroup)) return { status: 'suppressed', reason: `the profile is unsubscribed from ${s.subscriptionGroup}` };
    const raw = phoneOf(m);
    if (!raw) return { status: 'suppressed', reason: 'the profile has no phone number (payload.to, trait phone or a phone identifier)' };
    const to = toE164(raw, s.defaultRegion);
    if (!to) return { status: 'failed', retryable: false, reason: `'${raw}' is not a valid phone number${s.defaultRegion ? '' : ' (set settings.defaultRegion for national numbers)'}` };
    const body = m.content?.body ?? (typeof m.payload.body === 'string' ? m.payload.body : undefined);
    if (body === undefined || body.trim() === '') return { status: 'failed', retryable: false, reason: 'an SMS needs a body: use a template, or payload.body' };
    let token: string;
    try {
      token = readSecret(s.authToken, this.secrets, this.workspaceId, 'settings.authToken') as string;
    } catch (error) {
      if (error instanceof SecretMissing) return { status: 'failed', retryable: true, reason: error.message };
      throw error;
    }
    const url = `${s.baseUrl.replace(/\/+$/, '')}/2010-04-01/Accounts/${encodeURIComponent(s.accountSid)}/Messages.json`;
    const { outcome, body: answer } = await httpSend(url, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${s.accountSid}:${token}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
        'idempotency-key': m.idempotencyKey,
        'i-twilio-idempotency-token': m.idempotencyKey,
      },
      body: new URLSearchParams({ To: to, From: s.from, Body: body }).toString(),
      timeoutMs: parseDuration(s.timeout, 'settings.timeout'),
      guard: this.guard,
    });
    if (outcome.status !== 'delivered') return outcome;
    // The provider accepted it: sent, not yet delivered (its status callback says that later).
    let sid: string | undefined;
    try {
      sid = (JSON.parse(answer ?? '{}') as { sid?: string }).sid;
    } catch {
      sid = undefined;
    }
    return { status: 'sent', ...(sid ? { providerId: sid } : {}), detail: { to } };
  }
}

export const smsKind: ChannelKind = {
  type: 'sms',
  create: (workspaceId, def, deps) => new SmsChannel(workspaceId, def.settings as SmsSettings, deps.secrets, deps.destinations),
};
