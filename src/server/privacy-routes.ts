import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Clock } from '../core/clock.js';
import { badRequest } from '../core/errors.js';
import type { Store } from '../core/ports/store.js';
import { PRIVACY_KEY, PRIVACY_KIND, type Privacy, type PrivacySettings } from '../profiles/privacy.js';

const Id = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
const Subscription = Type.Object({ status: Type.Union([Type.Literal('subscribed'), Type.Literal('unsubscribed')]), at: Type.String(), source: Type.String(), messageId: Type.Optional(Type.String()) });
const Subscriptions = Type.Record(Type.String(), Subscription);
const Settings = Type.Object({
  key: Type.String(),
  afterDeletion: Type.Union([Type.Literal('suppress'), Type.Literal('allow')], { description: "Events from a deleted person's identifiers: suppress (drop and erase) or allow (a fresh profile)." }),
});
const Counts = Type.Object({}, { additionalProperties: true });

export interface PrivacyRouteDeps {
  privacy: Privacy;
  store: Store;
  clock: Clock;
  /** Masks personal data in the export for callers without the right to see it (src/metadata, docs/metadata.md). */
  mask?: { forExport(request: FastifyRequest): Promise<(<E extends Record<string, unknown>>(exported: E) => E) | undefined> };
}

/** Privacy: erase a person, export everything held about them, consent and subscriptions, the workspace's settings. */
export function privacyRoutes(deps: PrivacyRouteDeps) {
  const { privacy, store, clock } = deps;
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.delete<{ Params: { id: string } }>(
      '/profiles/:id',
      {
        schema: {
          summary: "Erase a person from every store (events, identifiers, traits, log, warehouse) and keep a tombstone of their hashed identifiers",
          tags: ['profiles'],
          params: Id,
          response: { 200: Type.Object({ profile: Type.String(), erased: Counts }) },
        },
      },
      async (req) => privacy.erase(req.workspaceId, req.params.id, 'admin'),
    );

    app.get<{ Params: { id: string } }>(
      '/profiles/:id/export',
      { schema: { summary: 'Everything held about the person (data subject access request); personal data masked for viewers', tags: ['profiles'], params: Id, response: { 200: Type.Object({}, { additionalProperties: true }) } } },
      async (req) => {
        const exported = await privacy.export(req.workspaceId, req.params.id, 'admin');
        const mask = await deps.mask?.forExport(req);
        return mask ? mask(exported) : exported;
      },
    );

    app.get<{ Params: { id: string } }>(
      '/profiles/:id/subscriptions',
      { schema: { summary: 'Subscription and consent state per group', tags: ['profiles'], params: Id, response: { 200: Type.Object({ data: Subscriptions }) } } },
      async (req) => ({ data: await privacy.subscriptionsOf(req.workspaceId, req.params.id) }),
    );

    app.put<{ Params: { id: string; group: string }; Body: { status: string } }>(
      '/profiles/:id/subscriptions/:group',
      {
        schema: {
          summary: "Set the person's subscription to a group (recorded with the time and source 'api')",
          tags: ['profiles'],
          params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }), group: Type.String({ minLength: 1, maxLength: 200 }) }),
          body: Type.Object({ status: Type.Union([Type.Literal('subscribed'), Type.Literal('unsubscribed')]) }),
          response: { 200: Type.Object({ data: Subscriptions }) },
        },
      },
      async (req) => ({ data: await privacy.setSubscription(req.workspaceId, req.params.id, req.params.group, req.body.status, 'admin') }),
    );

    app.get<{ Params: { key: string } }>(
      '/privacy/:key',
      { schema: { summary: "The workspace's privacy settings (key 'default')", tags: ['privacy'], params: Type.Object({ key: Type.String() }), response: { 200: Settings } } },
      async (req) => {
        if (req.params.key !== PRIVACY_KEY) throw badRequest('unknown_key', `privacy settings have one key, '${PRIVACY_KEY}'`, 'key');
        return privacy.settingsFor(req.workspaceId);
      },
    );

    app.put<{ Params: { key: string }; Body: PrivacySettings }>(
      '/privacy/:key',
      { schema: { summary: "Set the workspace's privacy settings (a new version)", tags: ['privacy'], params: Type.Object({ key: Type.String() }), body: Settings, response: { 200: Settings } } },
      async (req) => {
        if (req.params.key !== PRIVACY_KEY || req.body.key !== PRIVACY_KEY) throw badRequest('unknown_key', `privacy settings have one key, '${PRIVACY_KEY}'`, 'key');
        const body: PrivacySettings = { key: PRIVACY_KEY, afterDeletion: req.body.afterDeletion };
        await store.definitions.put(req.workspaceId, PRIVACY_KIND, PRIVACY_KEY, body);
        privacy.invalidate(req.workspaceId);
        await store.audit.add({ workspaceId: req.workspaceId, actor: 'admin', action: 'privacy.put', target: PRIVACY_KEY, detail: body }, clock.now());
        return body;
      },
    );
  };
}
