import { isIP } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Collector } from '../collect/collector.js';
import type { Clock } from '../core/clock.js';
import type { ErrorObject } from 'ajv';
import { badRequest, notFound, pointerToPath, TandemError } from '../core/errors.js';
import { describeAjvErrors } from '../core/json-schema.js';
import type { Log } from '../core/ports/log.js';
import type { Source, Store } from '../core/ports/store.js';
import type { LoadShare } from '../core/stage-loop.js';
import { checkDecision, DECISION_KIND, DecisionBody } from '../personalize/definition.js';
import { checkExposure, PERSONALIZATION_KIND, PersonalizationBody } from '../personalize/exposure.js';
import type { Personalizer } from '../personalize/personalizer.js';
import { definitionRoutes } from './channels-routes.js';
import { sourceOf, writeKeyFromHeader } from './collect-routes.js';

const Id = Type.String({ minLength: 1, maxLength: 512 });
const Loose = Type.Object({}, { additionalProperties: true });

export const PersonalizeRequestBody = Type.Object(
  {
    writeKey: Type.Optional(Type.String({ description: 'The write key, when the Authorization header cannot be sent (a request with a text/plain body needs no CORS preflight).' })),
    userId: Type.Optional(Id),
    anonymousId: Type.Optional(Id),
    context: Type.Optional(
      Type.Object(
        {
          ip: Type.Optional(Type.String({ description: 'The visitor address (default: the request address).' })),
          userAgent: Type.Optional(Type.String({ maxLength: 2048, description: 'Default: the User-Agent header.' })),
          timezone: Type.Optional(Type.String({ maxLength: 64, description: 'IANA zone of the visitor (default: the geo database zone, else UTC).' })),
          locale: Type.Optional(Type.String({ maxLength: 64 })),
          page: Type.Optional(Loose),
          screen: Type.Optional(Loose),
        },
        { additionalProperties: true, description: "Segment's context object; extra keys are readable as context.<key>." },
      ),
    ),
    decisions: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { maxItems: 20, uniqueItems: true, description: 'Decision point keys to decide.' })),
    event: Type.Optional(
      Type.Object(
        {
          type: Type.Union([Type.Literal('track'), Type.Literal('page'), Type.Literal('screen')]),
          event: Type.Optional(Type.String({ minLength: 1, description: 'track: the event name.' })),
          name: Type.Optional(Type.String({ description: 'page or screen: its name.' })),
          properties: Type.Optional(Loose),
          messageId: Type.Optional(Type.String({ minLength: 1 })),
          timestamp: Type.Optional(Type.String()),
        },
        { additionalProperties: false, description: 'An event recorded in the same call, with the same ids and context (as POST /v1/<type> would).' },
      ),
    ),
  },
  { additionalProperties: false },
);
type PersonalizeRequestBody = Static<typeof PersonalizeRequestBody>;

const Answer = Type.Object({
  known: Type.Boolean({ description: 'Whether a profile holds this userId or anonymousId yet.' }),
  audiences: Type.Array(Type.String(), { description: 'Exposable audiences the profile is in.' }),
  traits: Type.Object({}, { additionalProperties: true, description: 'Exposable profile traits (only with allowPersonalData).' }),
  computed: Type.Object({}, { additionalProperties: true, description: 'Exposable computed traits.' }),
  context: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'The request context as derived: geo, time, device, page.' })),
  decisions: Type.Record(
    Type.String(),
    Type.Object({
      id: Type.Optional(Type.String({ description: 'Send it as the property decision_id of a reward event (click, purchase).' })),
      offer: Type.Union([Type.Null(), Type.Object({ key: Type.String(), content: Type.Object({}, { additionalProperties: true }) })]),
      group: Type.Optional(Type.Union([Type.Literal('policy'), Type.Literal('holdout')])),
      reason: Type.Optional(Type.String()),
    }),
  ),
  recorded: Type.Optional(Type.Object({ accepted: Type.Integer(), quarantined: Type.Integer() })),
});

export interface PersonalizeRouteDeps {
  personalizer: Personalizer;
  collector: Collector;
  log: Pick<Log, 'append'>;
  clock: Clock;
  load: LoadShare;
  sourceByWriteKey(writeKey: string): Promise<Source | undefined>;
}

const PRIVATE = /^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|169\.254\.|::1$|f[cd][0-9a-f]{2}:|fe80:|::ffff:(127|10|192\.168)\.)/i;

/**
 * The visitor's address: the rightmost public address among X-Forwarded-For and the connection (the front thread
 * and reverse proxies on the private network append theirs). Spoofing it only changes a visitor's own geo.
 */
export function clientAddress(request: FastifyRequest): string | undefined {
  const chain = String(request.headers['x-forwarded-for'] ?? '').split(',').map((s) => s.trim()).filter((s) => isIP(s) !== 0);
  chain.push(request.socket.remoteAddress ?? '');
  for (let i = chain.length - 1; i >= 0; i--) if (chain[i] && !PRIVATE.test(chain[i])) return chain[i];
  return chain.find((s) => s !== '');
}

/** POST /v1/personalize: write-key auth, CORS (preflight answered by the collect routes' CORS), never cached. */
export function personalizeRoutes(deps: PersonalizeRouteDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    // text/plain carries JSON too: a browser sends it without a CORS preflight (with writeKey in the body).
    app.addContentTypeParser('text/plain', { parseAs: 'string' }, (_req, body, done) => {
      try {
        done(null, JSON.parse(body as string));
      } catch {
        done(badRequest('invalid_json', 'the body must be a JSON object'), undefined);
      }
    });
    app.addHook('onRequest', async (request, reply) => {
      deps.load.requestSeen();
      const origin = request.headers.origin;
      if (origin) void reply.header('access-control-allow-origin', origin);
      // Per visitor and moment: no shared cache may keep it, and the browser must not reuse it.
      void reply.header('cache-control', 'private, no-store').header('vary', 'Origin, Authorization');
    });

    app.post<{ Body: PersonalizeRequestBody }>(
      '/v1/personalize',
      {
        // Validation errors are answered here, so that an unknown field is named (the shared handler names its parent).
        attachValidation: true,
        schema: {
          summary: "A visitor's exposable audiences and traits and a decision per decision point, from the fast loop's state",
          tags: ['personalize'],
          body: PersonalizeRequestBody,
          response: { 200: Answer },
        },
      },
      async (req) => {
        if (req.validationError) throw validationProblem(req.validationError as unknown as { validation?: ErrorObject[] });
        const body = req.body;
        const source = await sourceOf(writeKeyFromHeader(req) ?? body.writeKey, deps);
        if (!body.userId && !body.anonymousId) throw badRequest('missing_id', 'userId or anonymousId is required', 'anonymousId');
        const receivedAt = deps.clock.now();
        // The event is checked before anything is decided: a bad one refuses the call, naming its field.
        const prepared = body.event ? prepareEvent(deps.collector, source, body, receivedAt) : undefined;
        const answer = await deps.personalizer.personalize(source.workspaceId, body, { ip: clientAddress(req), userAgent: req.headers['user-agent'] });
        if (prepared) await deps.log.append(prepared.batches);
        return prepared ? { ...answer, recorded: { accepted: prepared.accepted, quarantined: prepared.quarantined } } : answer;
      },
    );
  };
}

function validationProblem(error: { validation?: ErrorObject[] }): TandemError {
  const errors = error.validation ?? [];
  const extra = errors.find((e) => e.keyword === 'additionalProperties');
  if (extra) {
    const parent = pointerToPath(extra.instancePath);
    const path = `${parent ? `${parent}.` : ''}${(extra.params as { additionalProperty: string }).additionalProperty}`;
    return badRequest('unknown_field', `${path}: is not a known field here`, path);
  }
  const p = describeAjvErrors(errors);
  return badRequest(p.code, p.message, p.path);
}

function prepareEvent(collector: Collector, source: Source, body: PersonalizeRequestBody, receivedAt: number) {
  const e = body.event!;
  const { ip: _ip, ...context } = body.context ?? {};
  const raw: Record<string, unknown> = {
    type: e.type,
    ...(body.userId ? { userId: body.userId } : {}),
    ...(body.anonymousId ? { anonymousId: body.anonymousId } : {}),
    ...(e.event !== undefined ? { event: e.event } : {}),
    ...(e.name !== undefined ? { name: e.name } : {}),
    properties: e.properties ?? {},
    context,
    ...(e.messageId ? { messageId: e.messageId } : {}),
    ...(e.timestamp ? { timestamp: e.timestamp } : {}),
  };
  try {
    return collector.prepare(source, { kind: 'single', type: e.type }, raw, receivedAt);
  } catch (error) {
    if (error instanceof TandemError) throw new TandemError(error.code, `event: ${error.message}`, error.status, error.path ? `event.${error.path.replace(/^\./, '')}` : 'event', error.details);
    throw error;
  }
}

export interface PersonalizeAdminDeps {
  store: Store;
  clock: Clock;
  personalizer: Personalizer;
}

const Key = Type.Object({ key: Type.String() });

/** /api/v1/decisions (CRUD, results, log) and /api/v1/personalization (what a page may see). */
export function personalizeAdminRoutes(deps: PersonalizeAdminDeps) {
  const { store, clock, personalizer } = deps;
  return async (app: FastifyInstance): Promise<void> => {
    definitionRoutes<DecisionBody>(app, store, clock, {
      kind: DECISION_KIND,
      noun: 'decision',
      schema: DecisionBody,
      prepare: async (_ws, body) => checkDecision(body),
      changed: (ws, key, deleted) => personalizer.changed(ws, DECISION_KIND, key, deleted),
    });

    const known = async (ws: string, key: string) => {
      if (!(await store.definitions.get(ws, DECISION_KIND, key))) throw notFound('decision', key);
    };

    app.get<{ Params: { key: string }; Querystring: { since?: string } }>(
      '/decisions/:key/results',
      {
        schema: {
          summary: 'Rewards per group and offer, and the lift of the policy over the holdout',
          tags: [DECISION_KIND],
          params: Key,
          querystring: Type.Object({ since: Type.Optional(Type.String({ description: 'ISO-8601 instant or ms: only decisions from then on.' })) }),
        },
      },
      async (req) => {
        await known(req.workspaceId, req.params.key);
        const raw = req.query.since;
        const since = raw === undefined ? 0 : /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
        if (!Number.isFinite(since)) throw badRequest('invalid_time', 'since must be an ISO-8601 instant or milliseconds since the epoch', 'since');
        return personalizer.results(req.workspaceId, req.params.key, since);
      },
    );

    app.get<{ Params: { key: string }; Querystring: { limit?: number } }>(
      '/decisions/:key/log',
      {
        schema: {
          summary: 'Recent decisions, newest first, with the features and scores that chose them',
          tags: [DECISION_KIND],
          params: Key,
          querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })) }),
        },
      },
      async (req) => {
        await known(req.workspaceId, req.params.key);
        return { data: personalizer.log(req.workspaceId, req.params.key, req.query.limit ?? 100).map((r) => ({ ...r, at: new Date(r.at).toISOString(), rewardedAt: r.rewardedAt === null ? null : new Date(r.rewardedAt).toISOString() })) };
      },
    );

    app.get('/personalization', { schema: { summary: 'What POST /v1/personalize may return about a visitor', tags: ['personalize'], response: { 200: PersonalizationBody } } }, async (req) => {
      return (await store.definitions.get<PersonalizationBody>(req.workspaceId, PERSONALIZATION_KIND, 'default'))?.body ?? {};
    });

    app.put<{ Body: PersonalizationBody }>(
      '/personalization',
      { schema: { summary: 'Replace what POST /v1/personalize may return (a new version)', tags: ['personalize'], body: PersonalizationBody, response: { 200: PersonalizationBody } } },
      async (req, reply) => {
        const audiences = new Set((await store.definitions.list(req.workspaceId, 'audiences')).map((a) => a.key));
        const body = checkExposure(req.body, audiences);
        const version = await store.definitions.put(req.workspaceId, PERSONALIZATION_KIND, 'default', body);
        personalizer.changed(req.workspaceId, PERSONALIZATION_KIND, 'default');
        await store.audit.add({ workspaceId: req.workspaceId, actor: 'admin', action: 'personalization.update', target: 'default', detail: { version } }, clock.now());
        return reply.header('tandem-version', version).send(body);
      },
    );
  };
}
