import { Type, type Static } from '@sinclair/typebox';
import { DefinitionKey } from '../catalogs/definition.js';

export const TEMPLATE_KIND = 'templates';

export const ChannelType = Type.Union([Type.Literal('email'), Type.Literal('sms'), Type.Literal('webhook'), Type.Literal('slack')], {
  description: 'The channel type the template is written for.',
});

const contentFields = {
  subject: Type.Optional(Type.String({ description: 'Email subject (Liquid).' })),
  mjml: Type.Optional(Type.String({ description: 'Email body in MJML with Liquid; rendered to responsive HTML. Output is HTML-escaped.' })),
  html: Type.Optional(Type.String({ description: 'Email body as HTML with Liquid, when not using MJML. Output is HTML-escaped.' })),
  text: Type.Optional(Type.String({ description: 'Plain-text part (Liquid); derived from the HTML when absent.' })),
  body: Type.Optional(Type.String({ description: 'SMS text, Slack text, or the webhook JSON body (Liquid; use the `json` filter for values).' })),
};

export const TemplateContent = Type.Object(contentFields, { additionalProperties: false });
export type TemplateContent = Static<typeof TemplateContent>;

/** A message template, the body of /api/v1/templates. */
export const TemplateBody = Type.Object(
  {
    key: DefinitionKey,
    name: Type.Optional(Type.String()),
    channel: ChannelType,
    ...contentFields,
    locales: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$' }), TemplateContent, {
        description: 'Variants by locale (fr, fr-CA, ...). A profile with locale fr-CA gets fr-CA, else fr, else the default fields above; a field a variant leaves out comes from the default.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type Template = Static<typeof TemplateBody>;
