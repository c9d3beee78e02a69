import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { DefinitionKey } from '../catalogs/definition.js';
import { badRequest } from '../core/errors.js';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { describeAjvErrors } from '../core/json-schema.js';

export const CHANNEL_KIND = 'channels';

import { SecretRef } from '../secrets/reference.js';

const Duration = (d: string, description: string) => Type.String({ pattern: '^\\d+(\\.\\d+)?(ms|s|m|h|d|w)$', default: d, description });

export const ChannelTypes = ['email', 'sms', 'webhook', 'slack', 'audience_export'] as const;
export type ChannelType = (typeof ChannelTypes)[number];

/** A channel, the body of /api/v1/channels: a type, its settings (see docs/channels.md) and an optional retry policy. */
export const ChannelBody = Type.Object(
  {
    key: DefinitionKey,
    name: Type.Optional(Type.String()),
    type: Type.Union(ChannelTypes.map((t) => Type.Literal(t))),
    settings: Type.Object({}, { additionalProperties: true, description: 'Settings of the channel type (docs/channels.md); checked against the type when saved.' }),
    retry: Type.Optional(
      Type.Object(
        {
          maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Attempts before the message is dead-lettered (default: delivery.maxAttempts).' })),
          base: Type.Optional(Type.String({ pattern: '^\\d+(\\.\\d+)?(ms|s|m|h|d|w)$', description: 'First retry delay (default: delivery.retryBase).' })),
          max: Type.Optional(Type.String({ pattern: '^\\d+(\\.\\d+)?(ms|s|m|h|d|w)$', description: 'Longest retry delay (default: delivery.retryMax).' })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type ChannelDefinition = Static<typeof ChannelBody>;

export const EmailSettings = Type.Object(
  {
    host: Type.String({ minLength: 1, description: 'SMTP server.' }),
    port: Type.Integer({ minimum: 1, maximum: 65535, default: 587 }),
    secure: Type.Boolean({ default: false, description: 'TLS from the start (port 465); otherwise STARTTLS when offered.' }),
    requireTLS: Type.Boolean({ default: false, description: 'Refuse to send unless STARTTLS succeeds.' }),
    user: Type.Optional(Type.String()),
    password: Type.Optional(SecretRef),
    from: Type.String({ minLength: 3, description: 'From address, e.g. "Shop <news@shop.example>".' }),
    replyTo: Type.Optional(Type.String()),
    subscriptionGroup: Type.String({ default: 'marketing_email', description: 'Subscription group: unsubscribed profiles are not sent to; the unsubscribe link unsubscribes from it.' }),
    transactional: Type.Boolean({ default: false, description: 'Transactional mail (receipts, password resets): sent regardless of subscription, without List-Unsubscribe.' }),
    tracking: Type.Object(
      { opens: Type.Boolean({ default: true }), clicks: Type.Boolean({ default: true }) },
      { default: {}, additionalProperties: false, description: 'Open pixel and click redirects.' },
    ),
  },
  { additionalProperties: false },
);
export type EmailSettings = Static<typeof EmailSettings>;

export const SmsSettings = Type.Object(
  {
    baseUrl: Type.String({ default: 'https://api.twilio.com', description: 'Provider base URL (Twilio-compatible Messages API).' }),
    accountSid: Type.String({ minLength: 1 }),
    authToken: SecretRef,
    from: Type.String({ minLength: 1, description: 'Sender number (E.164) or messaging service sender.' }),
    defaultRegion: Type.Optional(Type.String({ pattern: '^[A-Z]{2}$', description: 'Region for numbers written without a country code (e.g. FR).' })),
    subscriptionGroup: Type.Optional(Type.String({ description: 'When set, profiles unsubscribed from this group are not sent to.' })),
    timeout: Duration('10s', 'Request timeout.'),
  },
  { additionalProperties: false },
);
export type SmsSettings = Static<typeof SmsSettings>;

export const WebhookSettings = Type.Object(
  {
    url: Type.String({ pattern: '^https?://', description: 'Endpoint the JSON body is sent to.' }),
    method: Type.Union([Type.Literal('POST'), Type.Literal('PUT')], { default: 'POST' }),
    secret: Type.Optional(SecretRef),
    headers: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Extra request headers (not secrets: use `secret`).' })),
    timeout: Duration('10s', 'Request timeout; a timeout is retried.'),
  },
  { additionalProperties: false },
);
export type WebhookSettings = Static<typeof WebhookSettings>;

export const SlackSettings = Type.Object(
  { webhookUrl: SecretRef, timeout: Duration('10s', 'Request timeout.') },
  { additionalProperties: false },
);
export type SlackSettings = Static<typeof SlackSettings>;

export const AudienceExportSettings = Type.Object(
  {
    directory: Type.Optional(Type.String({ description: 'Directory for export files (default: delivery.exportDir/<workspace>/<channel>).' })),
    platforms: Type.Array(Type.Union([Type.Literal('google'), Type.Literal('meta')]), { default: ['google', 'meta'], minItems: 1, uniqueItems: true }),
    defaultRegion: Type.Optional(Type.String({ pattern: '^[A-Z]{2}$', description: 'Region for phone numbers written without a country code.' })),
  },
  { additionalProperties: false },
);
export type AudienceExportSettings = Static<typeof AudienceExportSettings>;

export const SETTINGS_SCHEMAS: Record<ChannelType, TSchema> = {
  email: EmailSettings,
  sms: SmsSettings,
  webhook: WebhookSettings,
  slack: SlackSettings,
  audience_export: AudienceExportSettings,
};

// Defaults are filled in, so that a saved definition reads the same as the one in use.
const ajv = new Ajv2020({ strict: false, useDefaults: true, allowUnionTypes: true, allErrors: true });
const validators = Object.fromEntries(Object.entries(SETTINGS_SCHEMAS).map(([t, s]) => [t, ajv.compile(s)])) as Record<ChannelType, ValidateFunction>;

/** Checks a channel's settings against its type, filling defaults; an inline secret is named as such. */
export function checkChannel(body: ChannelDefinition): ChannelDefinition {
  const settings = structuredClone(body.settings);
  const validate = validators[body.type];
  if (!validate(settings)) {
    const errors = validate.errors ?? [];
    const secretAt = errors.find((e) => e.keyword === 'type' && e.params && (e.params as { type: string }).type === 'object' && /password|authToken|secret|webhookUrl$/.test(e.instancePath));
    if (secretAt) {
      const path = `settings${secretAt.instancePath.replace(/\//g, '.')}`;
      throw badRequest('inline_secret', `${path} must reference a secret: { "secret": "NAME" } (stored encrypted: PUT /api/v1/secrets/NAME) or { "env": "MY_SECRET" }; secrets are never stored inline`, path);
    }
    const p = describeAjvErrors(errors, 'settings');
    throw badRequest(p.code, p.message, p.path);
  }
  return { ...body, settings };
}
