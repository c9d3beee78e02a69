import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { badRequest, notFound, TandemError } from '../core/errors.js';
import type { EvidenceEvent, IdentityStore, Store } from '../core/ports/store.js';
import { identifierKey, type Identifier } from '../identity/model.js';
import type { IdentityGraphEditor, RecomputeOutcome } from '../identity/graph-edits.js';
import { ACTIVE_RULES_KEY, compileIdentityRules, defaultIdentityRules, IDENTITY_RULES_KIND, withConstraints, type ActiveIdentityRules, type IdentityRules, type IdentityRulesBody } from '../identity/rules.js';
import { Simulation } from '../identity/simulate.js';

const Iso = Type.String({ format: 'date-time' });
const IdentifierView = Type.Object({ type: Type.String(), value: Type.String() });
const Evidence = Type.Object(
  {
    eventId: Type.Integer(),
    messageId: Type.Optional(Type.String()),
    type: Type.Optional(Type.String()),
    timestamp: Type.Optional(Iso),
    source: Type.Optional(Type.String({ description: 'Source key.' })),
    erased: Type.Optional(Type.Boolean({ description: 'The event is no longer stored (privacy deletion).' })),
  },
  { description: 'The event behind a link, merge or conflict.' },
);
const nodeId = (i: Identifier) => `${i.type}:${i.value}`;
const TypeName = Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$', description: 'Identifier type: user_id, anonymous_id, email, phone, device_id or a custom type.' });
const IdentifierInput = Type.Object({ type: TypeName, value: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false });
const UnmergeRecordView = Type.Object({
  id: Type.Integer(),
  profile: Type.String({ description: 'The profile that was recomputed.' }),
  kind: Type.String({ description: 'identifier: one was removed (and blocked); link: two identifiers were separated; block: a blocked identifier was split out.' }),
  identifiers: Type.Array(IdentifierView),
  profiles: Type.Array(Type.String(), { description: "The profiles the recomputed profile's events form now, its own id first." }),
  events: Type.Integer({ description: 'Events re-resolved.' }),
  at: Iso,
});
const RecomputeView = Type.Object({
  unmerge: UnmergeRecordView,
  profiles: Type.Array(Type.Object({ id: Type.String(), identifiers: Type.Array(IdentifierView), events: Type.Integer() })),
  unresolved: Type.Integer({ description: 'Events left with no usable identifier: they belong to no profile now.' }),
});
const BlockedView = Type.Object({
  type: Type.String(),
  value: Type.String(),
  reason: Type.String({ description: 'block: by this API; unmerge: an unmerge removed it from a profile.' }),
  profile: Type.Union([Type.String(), Type.Null()], { description: 'The profile it was removed from (unmerge) or split (block with split).' }),
  at: Iso,
});
const UnmergeBody = Type.Object(
  {
    identifier: Type.Optional(IdentifierInput),
    link: Type.Optional(Type.Object({ from: IdentifierInput, to: IdentifierInput }, { additionalProperties: false })),
  },
  { additionalProperties: false, description: 'Exactly one of `identifier` (removed from the profile and blocked) or `link` (its two ends are kept apart from now on).' },
);
interface UnmergeBody {
  identifier?: Identifier;
  link?: { from: Identifier; to: Identifier };
}
const BlockBody = Type.Object(
  {
    type: TypeName,
    value: Type.String({ minLength: 1, maxLength: 1024 }),
    split: Type.Optional(Type.Boolean({ default: false, description: 'Also recompute the profile holding the identifier without it, so the people it joined come apart.' })),
  },
  { additionalProperties: false },
);
const iso = (ms: number) => new Date(ms).toISOString();
const recomputeView = (o: RecomputeOutcome) => {
  const { profileId, actor: _actor, at, ...rest } = o.unmerge;
  return { unmerge: { ...rest, profile: profileId, at: iso(at) }, profiles: o.profiles, unresolved: o.unresolved };
};

const GraphView = Type.Object({
  profile: Type.String(),
  nodes: Type.Array(
    Type.Object({
      id: Type.String({ description: '`type:value`, referenced by edges.' }),
      type: Type.String(),
      value: Type.String(),
      firstSeen: Iso,
      lastSeen: Iso,
      eventId: Type.Integer({ description: 'The event that first linked the identifier to its profile.' }),
    }),
  ),
  edges: Type.Array(
    Type.Object({
      from: Type.String(),
      to: Type.String(),
      events: Type.Array(Evidence, { description: 'The events that created the link.' }),
      merged: Type.Boolean({ description: 'The link was made by an event that merged profiles.' }),
    }),
  ),
  merges: Type.Array(Type.Object({ winner: Type.String(), loser: Type.String(), identifiers: Type.Array(IdentifierView), event: Evidence, at: Iso })),
  conflicts: Type.Array(
    Type.Object({
      id: Type.Integer(),
      reason: Type.String(),
      identifiers: Type.Array(IdentifierView),
      dropped: Type.Array(IdentifierView),
      profiles: Type.Array(Type.String()),
      profileId: Type.Union([Type.String(), Type.Null()]),
      event: Evidence,
      at: Iso,
    }),
  ),
  unmerges: Type.Array(UnmergeRecordView, { description: 'Unmerges and splits that concerned the profile, oldest first.' }),
});

const SimulatedProfileView = Type.Object({
  profiles: Type.Array(Type.String(), { description: 'Stored profiles holding these events today.' }),
  identifiers: Type.Array(IdentifierView),
  events: Type.Array(Type.Integer()),
});
const Side = Type.Object({ rules: Type.String(), profiles: Type.Integer(), conflicts: Type.Integer() });
const SimulationView = Type.Object({
  sample: Type.Object({ events: Type.Integer(), firstEventId: Type.Optional(Type.Integer()), lastEventId: Type.Optional(Type.Integer()), from: Type.Optional(Iso), to: Type.Optional(Iso), limit: Type.Integer() }),
  current: Side,
  candidate: Side,
  unchanged: Type.Integer(),
  identifiersChanged: Type.Integer(),
  merges: Type.Object({ profiles: Type.Integer({ description: 'Current profiles that would join another.' }), into: Type.Integer({ description: 'Profiles those joins give.' }) }),
  splits: Type.Object({ profiles: Type.Integer({ description: 'Current profiles that would split.' }), into: Type.Integer({ description: 'Profiles those splits give.' }) }),
  affectedGroups: Type.Integer(),
  affected: Type.Array(Type.Object({ change: Type.String(), current: Type.Array(SimulatedProfileView), candidate: Type.Array(SimulatedProfileView) })),
});

const SimulateBody = Type.Object(
  {
    rules: Type.Optional(Type.Unknown({ description: 'A draft identity-rules body to simulate instead of the saved rules with this key.' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, default: 10_000, description: 'Most events to replay, oldest first.' })),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Only events with a timestamp at or after this.' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Only events with a timestamp before this.' })),
    sample: Type.Optional(Type.Integer({ minimum: 0, maximum: 200, default: 20, description: 'How many affected groups to describe.' })),
  },
  { additionalProperties: false },
);
interface SimulateBody {
  rules?: unknown;
  limit?: number;
  from?: string;
  to?: string;
  sample?: number;
}

export interface IdentityGraphRouteDeps {
  store: Store;
  identity: IdentityStore;
  rules: ActiveIdentityRules;
  editor: IdentityGraphEditor;
}

// Stored history is replayed in pages so that only identities, not messages, stay in memory.
const PAGE = 1000;

/**
 * The identity graph: a profile's graph, simulations of candidate rules over history (read-only), and the edits
 * people make to it: unmerge and blocked identifiers (docs/decisions/0007).
 */
export function identityGraphRoutes(deps: IdentityGraphRouteDeps) {
  const { store, identity } = deps;

  const evidenceOf = async (workspaceId: string, eventIds: number[]) => {
    const keys = new Map((await store.sources.list(workspaceId)).map((s) => [s.id, s.key]));
    const found = new Map((await identity.evidence(workspaceId, eventIds)).map((e): [number, EvidenceEvent] => [e.eventId, e]));
    return (eventId: number, messageId?: string) => {
      const e = found.get(eventId);
      if (!e) return { eventId, ...(messageId !== undefined ? { messageId } : {}), erased: true };
      return { eventId, messageId: e.messageId, type: e.type, timestamp: new Date(e.timestamp).toISOString(), source: keys.get(e.sourceId) ?? e.sourceId };
    };
  };

  const candidateRules = async (workspaceId: string, key: string, draft: unknown): Promise<IdentityRules> => {
    if (draft !== undefined) {
      const body = typeof draft === 'object' && draft !== null && !Array.isArray(draft) ? { key, ...draft } : draft;
      try {
        return compileIdentityRules(body);
      } catch (error) {
        // Name the field as the caller wrote it: inside `rules`.
        if (error instanceof TandemError) throw new TandemError(error.code, error.message, error.status, error.path ? `rules.${error.path}` : 'rules');
        throw error;
      }
    }
    const saved = await store.definitions.get<IdentityRulesBody>(workspaceId, IDENTITY_RULES_KIND, key);
    if (saved) return compileIdentityRules(saved.body);
    if (key === ACTIVE_RULES_KEY) return defaultIdentityRules();
    throw notFound('identity rules', key);
  };

  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get<{ Params: { id: string } }>(
      '/profiles/:id/graph',
      {
        schema: {
          summary: "A profile's identity graph: identifiers as nodes, links with the events that made them, the merges that formed it and its conflicts",
          tags: ['profiles'],
          params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }),
          response: { 200: GraphView },
        },
      },
      async (req) => {
        const ws = req.workspaceId;
        const canonical = await identity.canonical(ws, req.params.id);
        const profile = canonical === undefined ? undefined : await identity.profile(ws, canonical);
        if (!profile) throw notFound('profile', req.params.id);
        const graph = await identity.graph(ws, profile.id);
        const conflicts = await identity.conflicts(ws, { profileId: profile.id, limit: 100 });
        const unmerges = await identity.unmerges(ws, profile.id);
        const evidence = await evidenceOf(ws, [...graph.links.map((l) => l.eventId), ...graph.merges.map((m) => m.eventId), ...conflicts.map((c) => c.eventId)]);
        const mergingEvents = new Set(graph.merges.map((m) => m.eventId));
        const held = new Set(profile.identifiers.map(identifierKey));
        return {
          profile: profile.id,
          nodes: profile.identifiers.map((i) => ({ id: nodeId(i), type: i.type, value: i.value, firstSeen: new Date(i.firstSeen).toISOString(), lastSeen: new Date(i.lastSeen).toISOString(), eventId: i.eventId })),
          // Only links whose both ends are drawn, so a console never meets a dangling edge.
          edges: graph.links
            .filter((l) => held.has(identifierKey(l.from)) && held.has(identifierKey(l.to)))
            .map((l) => ({ from: nodeId(l.from), to: nodeId(l.to), events: [evidence(l.eventId)], merged: mergingEvents.has(l.eventId) })),
          merges: graph.merges.map((m) => ({ winner: m.winner, loser: m.loser, identifiers: m.identifiers, event: evidence(m.eventId, m.messageId), at: new Date(m.at).toISOString() })),
          conflicts: conflicts.map((c) => ({
            id: c.id,
            reason: c.reason,
            identifiers: c.identifiers,
            dropped: c.dropped,
            profiles: c.profiles,
            profileId: c.profileId,
            event: evidence(c.eventId, c.messageId),
            at: new Date(c.at).toISOString(),
          })),
          unmerges: unmerges.map((u) => ({ id: u.id, profile: u.profileId, kind: u.kind, identifiers: u.identifiers, profiles: u.profiles, events: u.events, at: iso(u.at) })),
        };
      },
    );

    app.post<{ Params: { id: string }; Body: UnmergeBody }>(
      '/profiles/:id/unmerge',
      {
        schema: {
          summary: "Unmerge a profile by removing an identifier (which is then blocked) or a link (whose ends then never share a profile); its events are re-resolved in order and may form several profiles",
          tags: ['profiles'],
          params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }),
          body: UnmergeBody,
          response: { 200: RecomputeView },
        },
      },
      async (req) => {
        const { identifier, link } = req.body;
        if ((identifier === undefined) === (link === undefined)) throw badRequest('invalid_body', 'give exactly one of `identifier` or `link`', identifier === undefined ? 'identifier' : 'link');
        const outcome = identifier
          ? await deps.editor.unmergeIdentifier(req.workspaceId, req.params.id, identifier, 'admin')
          : await deps.editor.unmergeLink(req.workspaceId, req.params.id, link!, 'admin');
        return recomputeView(outcome);
      },
    );

    app.get('/blocked-identifiers', { schema: { summary: 'Identifiers that no event links any more', tags: ['identity-rules'], response: { 200: Type.Object({ data: Type.Array(BlockedView) }) } } }, async (req) => ({
      data: (await deps.editor.blocked(req.workspaceId)).map((b) => ({ type: b.type, value: b.value, reason: b.reason, profile: b.profileId, at: iso(b.at) })),
    }));

    app.post<{ Body: { type: string; value: string; split?: boolean } }>(
      '/blocked-identifiers',
      {
        schema: {
          summary: 'Block an identifier from now on (a kiosk device id); with split, the profile it joined is recomputed without it',
          tags: ['identity-rules'],
          body: BlockBody,
          response: { 200: Type.Object({ blocked: BlockedView, split: Type.Optional(RecomputeView) }), 201: Type.Object({ blocked: BlockedView, split: Type.Optional(RecomputeView) }) },
        },
      },
      async (req, reply) => {
        const outcome = await deps.editor.block(req.workspaceId, { type: req.body.type, value: req.body.value }, req.body.split ?? false, 'admin');
        const b = outcome.blocked;
        return reply.status(outcome.created ? 201 : 200).send({
          blocked: { type: b.type, value: b.value, reason: b.reason, profile: b.profileId, at: iso(b.at) },
          ...(outcome.split ? { split: recomputeView(outcome.split) } : {}),
        });
      },
    );

    app.delete<{ Params: { type: string; value: string } }>(
      '/blocked-identifiers/:type/:value',
      {
        schema: {
          summary: 'Unblock an identifier: later events link it again (profiles already split stay apart)',
          tags: ['identity-rules'],
          params: Type.Object({ type: TypeName, value: Type.String({ minLength: 1, maxLength: 1024 }) }),
        },
      },
      async (req, reply) => {
        await deps.editor.unblock(req.workspaceId, { type: req.params.type, value: req.params.value }, 'admin');
        return reply.status(204).send();
      },
    );

    app.post<{ Params: { key: string }; Body: SimulateBody | undefined }>(
      '/identity-rules/:key/simulate',
      {
        schema: {
          summary: 'Replay stored history with candidate rules (saved, or a draft in the body) and compare with the rules in force; nothing is changed',
          tags: ['identity-rules'],
          params: Type.Object({ key: Type.String() }),
          body: SimulateBody,
          response: { 200: SimulationView },
        },
        // The body is optional: a bare POST simulates the saved rules over the default sample.
        preValidation: async (req) => {
          req.body ??= {};
        },
      },
      async (req) => {
        const ws = req.workspaceId;
        const body = req.body ?? {};
        const limit = body.limit ?? 10_000;
        const from = body.from === undefined ? undefined : Date.parse(body.from);
        const to = body.to === undefined ? undefined : Date.parse(body.to);
        if (from !== undefined && to !== undefined && to <= from) throw badRequest('invalid_range', '`to` must be after `from`', 'to');
        // Both sides respect the blocked identifiers and separations, so the differences come from the rules alone.
        const candidate = withConstraints(await candidateRules(ws, req.params.key, body.rules), await identity.constraints(ws));
        const simulation = new Simulation(await deps.rules.for(ws), candidate);
        const eventIds: number[] = [];
        for (let afterId = 0; eventIds.length < limit; ) {
          const page = await identity.history(ws, { afterId, from, to, limit: Math.min(PAGE, limit - eventIds.length) });
          for (const e of page) (simulation.add(e), eventIds.push(e.id));
          if (page.length === 0) break;
          afterId = page[page.length - 1].id;
        }
        const report = simulation.report(await identity.eventProfiles(ws, eventIds), body.sample ?? 20);
        return {
          ...report,
          sample: {
            events: report.events,
            ...(eventIds.length ? { firstEventId: eventIds[0], lastEventId: eventIds[eventIds.length - 1] } : {}),
            ...(body.from !== undefined ? { from: new Date(from!).toISOString() } : {}),
            ...(body.to !== undefined ? { to: new Date(to!).toISOString() } : {}),
            limit,
          },
          current: { rules: ACTIVE_RULES_KEY, ...report.current },
          candidate: { rules: body.rules !== undefined ? 'draft' : req.params.key, ...report.candidate },
        };
      },
    );
  };
}
