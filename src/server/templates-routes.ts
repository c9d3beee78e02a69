import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Clock } from '../core/clock.js';
import { notFound } from '../core/errors.js';
import type { Store } from '../core/ports/store.js';
import type { Delivery } from '../delivery/delivery.js';
import { renderContext } from '../delivery/dispatcher.js';
import type { DeliveryProfile, ProfileReader } from '../delivery/events.js';
import { TEMPLATE_KIND, TemplateBody, type Template } from '../templates/definition.js';
import { definitionRoutes } from './channels-routes.js';

export interface TemplatesRouteDeps {
  store: Store;
  clock: Clock;
  delivery: Delivery;
  profiles: ProfileReader;
}

const RenderRequest = Type.Object(
  {
    profileId: Type.Optional(Type.String({ description: 'Render for a stored profile (any id it had).' })),
    profile: Type.Optional(
      Type.Object(
        { id: Type.Optional(Type.String()), traits: Type.Optional(Type.Object({}, { additionalProperties: true })), identifiers: Type.Optional(Type.Array(Type.Object({ type: Type.String(), value: Type.String() }))) },
        { description: 'A sample profile, when not rendering for a stored one.' },
      ),
    ),
    event: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'The triggering event\'s properties (`event.*`).' })),
    payload: Type.Optional(Type.Object({}, { additionalProperties: true })),
    locale: Type.Optional(Type.String({ description: 'Overrides the profile\'s locale trait.' })),
  },
  { additionalProperties: false },
);

const Rendered = Type.Object({
  variant: Type.String({ description: 'The locale variant used, or default.' }),
  subject: Type.Optional(Type.String()),
  text: Type.Optional(Type.String()),
  html: Type.Optional(Type.String()),
  body: Type.Optional(Type.String()),
});

/** /api/v1/templates, and a preview: POST /api/v1/templates/<key>/render. */
export async function templatesRoutes(app: FastifyInstance, deps: TemplatesRouteDeps): Promise<void> {
  const { store, clock, delivery } = deps;
  definitionRoutes<Template>(app, store, clock, {
    kind: TEMPLATE_KIND,
    noun: 'template',
    schema: TemplateBody,
    prepare: async (_ws, body) => {
      await delivery.renderer.check(body);
      return body;
    },
    changed: (ws, key) => delivery.templates.changed(ws, key),
  });

  app.post<{ Params: { key: string }; Body: { profileId?: string; profile?: Partial<DeliveryProfile>; event?: Record<string, unknown>; payload?: Record<string, unknown>; locale?: string } }>(
    '/templates/:key/render',
    { schema: { summary: 'Render a template for a sample or stored profile (preview)', tags: ['templates'], params: Type.Object({ key: Type.String() }), body: RenderRequest, response: { 200: Rendered } } },
    async (req) => {
      const t = await store.definitions.get<Template>(req.workspaceId, TEMPLATE_KIND, req.params.key);
      if (!t) throw notFound('template', req.params.key);
      const b = req.body ?? {};
      let profile: DeliveryProfile;
      if (b.profileId !== undefined) {
        const found = await deps.profiles.get(req.workspaceId, b.profileId);
        if (!found) throw notFound('profile', b.profileId);
        profile = found;
      } else profile = { id: b.profile?.id ?? 'preview', traits: b.profile?.traits ?? {}, identifiers: b.profile?.identifiers ?? [] };
      const message = {
        id: 'preview', channel: 'preview', template: req.params.key, journey: null, node: null,
        payload: { ...(b.payload ?? {}), ...(b.event ? { event: b.event } : {}), ...(b.locale ? { locale: b.locale } : {}) },
      };
      const ctx = renderContext(message as Parameters<typeof renderContext>[0], profile, t.body.channel === 'email' ? `${delivery.links.baseUrl}/u/preview` : undefined);
      return delivery.renderer.render(req.workspaceId, req.params.key, t.version, t.body, ctx);
    },
  );
}
