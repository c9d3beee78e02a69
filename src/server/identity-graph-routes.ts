import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { badRequest, notFound, TandemError } from '../core/errors.js';
import type { EvidenceEvent, IdentityStore, Store } from '../core/ports/store.js';
import { identifierKey, type Identifier } from '../identity/model.js';
import { ACTIVE_RULES_KEY, compileIdentityRules, defaultIdentityRules, IDENTITY_RULES_KIND, type ActiveIdentityRules, type IdentityRules, type IdentityRulesBody } from '../identity/rules.js';
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
}

// Stored history is replayed in pages so that only identities, not messages, stay in memory.
const PAGE = 1000;

/** Read-only views of the identity graph: a profile's graph, and simulations of candidate rules over history. */
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
        };
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
        const candidate = await candidateRules(ws, req.params.key, body.rules);
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
