import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { badRequest, notFound } from '../core/errors.js';
import type { IdentityStore, StoredEvent } from '../core/ports/store.js';
import { ProfileSummary, ProfileView, type Profiles, type SourceKeys } from '../profiles/profiles.js';
import type { PersonalDataMask } from '../metadata/metadata.js';

const Id = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
const Limit = Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 }));
const EventView = Type.Object({
  id: Type.Integer(),
  source: Type.String(),
  violations: Type.Array(Type.Object({ kind: Type.String(), path: Type.String(), message: Type.String() })),
  message: Type.Object({}, { additionalProperties: true }),
});
const Identifier = Type.Object({ type: Type.String(), value: Type.String() });
const MergeView = Type.Object({ profile: Type.String({ description: 'The profile merged in.' }), eventId: Type.Integer(), messageId: Type.String(), identifiers: Type.Array(Identifier), at: Type.String() });

export interface ProfilesRouteDeps {
  profiles: Profiles;
  identity: IdentityStore;
  sources: SourceKeys;
  /** Masks personal data for roles without the right (src/metadata). */
  mask?: PersonalDataMask;
}

/** /api/v1/profiles: unified profiles by id (following merges), by identifier, their timelines, and search. */
export function profilesRoutes(deps: ProfilesRouteDeps) {
  const { profiles, identity } = deps;
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get<{ Querystring: { q?: string; after?: string; limit?: number } }>(
      '/profiles',
      {
        schema: {
          summary:
            'Search profiles by identifier prefix or trait value, or list them all; paged by `after` (the `next` of the previous page). Each profile is a summary read with the whole page: without computed traits, audiences, accounts and subscriptions (GET /profiles/{id} has them)',
          tags: ['profiles'],
          querystring: Type.Object({
            q: Type.Optional(Type.String({ maxLength: 1024, description: 'Identifier prefix, or a trait value to match exactly; without it, every profile in id order.' })),
            after: Type.Optional(Type.String({ maxLength: 4096, description: 'Paging: the `next` of the previous page.' })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
          }),
          response: { 200: Type.Object({ data: Type.Array(ProfileSummary), next: Type.Optional(Type.String({ description: 'Cursor of the next page; absent on the last.' })) }) },
        },
      },
      async (req) => {
        const mask = await deps.mask?.forRequest(req);
        const page = await profiles.page(req.workspaceId, { q: req.query.q, after: req.query.after, limit: req.query.limit ?? 20 });
        return { data: mask ? page.data.map((p) => mask.profile(p)) : page.data, ...(page.next ? { next: page.next } : {}) };
      },
    );

    app.get<{ Querystring: { type: string; value: string } }>(
      '/profiles/lookup',
      {
        schema: {
          summary: 'The profile holding an identifier (any type; values are normalised as on collection)',
          tags: ['profiles'],
          querystring: Type.Object({ type: Type.String({ minLength: 1, description: 'user_id, anonymous_id, email, phone, device_id or a custom type.' }), value: Type.String({ minLength: 1 }) }),
          response: { 200: ProfileView },
        },
      },
      async (req) => {
        const profile = await profiles.lookup(req.workspaceId, req.query.type, req.query.value);
        if (!profile) throw notFound(`profile with ${req.query.type}`, req.query.value);
        const mask = await deps.mask?.forRequest(req);
        return mask ? mask.profile(profile) : profile;
      },
    );

    app.get<{ Params: { id: string } }>(
      '/profiles/:id',
      { schema: { summary: 'A profile; the id of a profile merged into another answers with the survivor', tags: ['profiles'], params: Id, response: { 200: ProfileView } } },
      async (req) => {
        const profile = await profiles.require(req.workspaceId, req.params.id);
        const mask = await deps.mask?.forRequest(req);
        return mask ? mask.profile(profile) : profile;
      },
    );

    app.get<{ Params: { id: string }; Querystring: { before?: number; limit?: number } }>(
      '/profiles/:id/events',
      {
        schema: {
          summary: "The profile's events, newest first, including those of profiles merged into it",
          tags: ['profiles'],
          params: Id,
          querystring: Type.Object({ before: Type.Optional(Type.Integer({ description: 'Paging: only events with an id below this.' })), limit: Limit }),
          response: { 200: Type.Object({ data: Type.Array(EventView), next: Type.Optional(Type.Integer()) }) },
        },
      },
      async (req) => {
        const limit = req.query.limit ?? 100;
        const events = await profiles.timeline(req.workspaceId, req.params.id, { before: req.query.before, limit });
        const keys = new Map((await deps.sources.list(req.workspaceId)).map((s) => [s.id, s.key]));
        const mask = await deps.mask?.forRequest(req);
        const data = events.map((e: StoredEvent) => ({ id: e.id, source: keys.get(e.sourceId) ?? e.sourceId, violations: e.violations, message: mask ? mask.message(e.message as unknown as Record<string, unknown>) : e.message }));
        return events.length === limit ? { data, next: events[events.length - 1].id } : { data };
      },
    );

    app.get<{ Params: { id: string } }>(
      '/profiles/:id/merges',
      { schema: { summary: 'Profiles merged into this one, with the event that merged each', tags: ['profiles'], params: Id, response: { 200: Type.Object({ data: Type.Array(MergeView) }) } } },
      async (req) => {
        const canonical = await identity.canonical(req.workspaceId, req.params.id);
        if (canonical === undefined) throw notFound('profile', req.params.id);
        const merges = await identity.merges(req.workspaceId, canonical);
        return { data: merges.map((m) => ({ profile: m.loser, eventId: m.eventId, messageId: m.messageId, identifiers: m.identifiers, at: new Date(m.at).toISOString() })) };
      },
    );

    app.get<{ Querystring: { profile?: string; before?: number; limit?: number } }>(
      '/identity-conflicts',
      {
        schema: {
          summary: 'Merges refused because they would break an identity limit, newest first, with the evidence',
          tags: ['profiles'],
          querystring: Type.Object({ profile: Type.Optional(Type.String({ description: 'Only conflicts that concern this profile.' })), before: Type.Optional(Type.Integer()), limit: Limit }),
          response: {
            200: Type.Object({
              data: Type.Array(
                Type.Object({
                  id: Type.Integer(),
                  eventId: Type.Integer(),
                  messageId: Type.String(),
                  profileId: Type.Union([Type.String(), Type.Null()], { description: 'Where the event went after identifiers were dropped.' }),
                  reason: Type.String(),
                  identifiers: Type.Array(Identifier),
                  dropped: Type.Array(Identifier),
                  profiles: Type.Array(Type.String(), { description: 'Profiles the full linking set would have merged.' }),
                  at: Type.String(),
                }),
              ),
              next: Type.Optional(Type.Integer()),
            }),
          },
        },
      },
      async (req) => {
        const limit = req.query.limit ?? 100;
        let profileId: string | undefined;
        if (req.query.profile !== undefined) {
          profileId = await identity.canonical(req.workspaceId, req.query.profile);
          if (profileId === undefined) throw badRequest('unknown_profile', `profile '${req.query.profile}' does not exist`, 'profile');
        }
        const rows = await identity.conflicts(req.workspaceId, { profileId, before: req.query.before, limit });
        const data = rows.map((c) => ({ ...c, at: new Date(c.at).toISOString() }));
        return rows.length === limit ? { data, next: rows[rows.length - 1].id } : { data };
      },
    );
  };
}
