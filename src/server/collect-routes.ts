import cors from '@fastify/cors';
import { limitByIp } from './ip-rate-limit.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { decodeBody } from '../collect/body.js';
import { Collector, type CollectCall, type PreparedBatch } from '../collect/collector.js';
import type { CollectPool } from '../collect/collect-pool.js';
import type { Log } from '../core/ports/log.js';
import { MessageTypes, RawBatch, RawMessageSchemas } from '../collect/message.js';
import type { RateLimiter } from '../collect/rate-limit.js';
import type { BacklogGuard } from '../collect/backlog.js';
import type { LoadShare } from '../core/stage-loop.js';
import type { Clock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import { TandemError, unauthorized } from '../core/errors.js';
import type { Source } from '../core/ports/store.js';
import { publicCode } from './errors.js';
import type { Metrics } from './metrics.js';

export interface CollectRouteDeps {
  collector: Collector;
  /** Collect threads; without them (or for a write key sent in the body) the event loop prepares batches itself. */
  pool?: CollectPool;
  log: Pick<Log, 'append'>;
  limiter: RateLimiter;
  /** Told of each request, so background stages yield to collection. */
  load: LoadShare;
  clock: Clock;
  config: Config['collect'];
  metrics: Metrics;
  sourceByWriteKey(writeKey: string): Promise<Source | undefined>;
  /** Refuses collection with 503 while the pipeline's backlog is over collect.maxBacklog (absent: no bound). */
  backlog?: BacklogGuard;
}

const Accepted = Type.Object({
  success: Type.Boolean(),
  accepted: Type.Integer({ description: 'Messages written durably to the log.' }),
  quarantined: Type.Integer({ description: 'Messages blocked by the tracking plan and held in quarantine.' }),
  errors: Type.Array(
    Type.Object({ index: Type.Integer(), messageId: Type.Optional(Type.String()), code: Type.String(), path: Type.String(), message: Type.String() }),
    { description: 'Messages refused, each with the field and the problem; the others were kept.' },
  ),
});

/**
 * Bodies up to this size are prepared on the event loop: a single message costs less to check than the two thread
 * hand-overs of a collect thread, and answering it without them keeps its latency low.
 */
const INLINE_BYTES = 4096;

/** The /v1 collection API, with the Segment HTTP Tracking API's semantics. */
export async function collectRoutes(app: FastifyInstance, deps: CollectRouteDeps): Promise<void> {
  await app.register(cors, { origin: true, methods: ['POST', 'OPTIONS'], allowedHeaders: ['Content-Type', 'Authorization', 'Content-Encoding'], maxAge: 86400 });

  // Bodies are read raw so that gzip, UTF-8 and prototype keys are checked by decodeBody with clear errors.
  app.removeAllContentTypeParsers();
  // The route schemas below document the API; the checks themselves run in decodeBody and checkMessage,
  // which know the batch position of each message and report it.
  app.setValidatorCompiler(() => () => true);
  // The body is always JSON whatever the label: the RudderStack Node SDK posts its gzipped batches as
  // application/x-www-form-urlencoded (axios' default for a Buffer), and so does `curl -d`.
  app.addContentTypeParser(['application/json', 'text/plain', 'application/x-www-form-urlencoded'], { parseAs: 'buffer', bodyLimit: deps.config.maxRequestBytes }, (_req, body, done) => done(null, body));

  app.addHook('onRequest', async () => deps.load.requestSeen());
  // Per client address, before the body is read (docs/reliability.md); the write key's own limit follows.
  app.addHook('onRequest', async (request, reply) => {
    try {
      limitByIp(deps.limiter, 'collection', request, reply, deps.config.ipRateLimit);
    } catch (error) {
      deps.metrics.rateLimited.inc();
      throw error;
    }
  });
  // Backpressure on the pipeline's backlog, also before the body is read: a refused request costs next to nothing.
  if (deps.backlog) app.addHook('onRequest', async (request) => {
    if (request.method === 'POST') await deps.backlog!.check();
  });

  app.addHook('onError', async (_request, _reply, error) => {
    // A request refused because of its messages counts each message's reason; any other refusal counts once.
    const details = error instanceof TandemError ? (error.details as { code?: string }[] | undefined) : undefined;
    if (details) for (const d of details) deps.metrics.rejected.inc({ reason: d.code ?? 'invalid' });
    else deps.metrics.rejected.inc({ reason: publicCode(error) });
  });

  /** Takes `cost` tokens from the source's bucket, or refuses with 429; sets the rate-limit headers either way. */
  const limit = (source: Source, cost: number, reply: FastifyReply) => {
    const rate = source.settings.rateLimit ?? deps.config.rateLimit;
    const burst = rate.burst ?? rate.eventsPerSecond * 2;
    const decision = deps.limiter.take(source.id, cost, rate.eventsPerSecond, burst);
    void reply.header('RateLimit-Limit', decision.limit).header('RateLimit-Remaining', decision.remaining).header('RateLimit-Reset', decision.resetSeconds);
    if (!decision.allowed) {
      deps.metrics.rateLimited.inc();
      void reply.header('Retry-After', decision.retryAfterSeconds);
      throw new TandemError('rate_limited', `write key '${source.key}' is over its limit of ${rate.eventsPerSecond} events per second; retry after ${decision.retryAfterSeconds} s`, 429);
    }
  };

  const handle = (call: CollectCall) => async (request: FastifyRequest, reply: FastifyReply) => {
    const receivedAt = deps.clock.now();
    const raw = request.body as Buffer;
    const encoding = request.headers['content-encoding'] as string | undefined;
    const headerKey = writeKeyFromHeader(request);
    let source: Source | undefined;
    let prepared: PreparedBatch;
    try {
      if (headerKey !== undefined && deps.pool && raw.length > INLINE_BYTES) {
        // The usual case for batches: the body is decoded and checked on a collect thread. The message count is known only
        // then, so the rate limit is applied to the prepared request (a refused one costs that work, nothing more).
        source = await sourceOf(headerKey, deps);
        prepared = await deps.pool.prepare(source, call, raw, encoding, receivedAt);
        limit(source, prepared.received, reply);
      } else {
        const body = decodeBody(raw, encoding, deps.config.maxRequestBytes);
        source = await sourceOf(headerKey ?? bodyWriteKey(body), deps);
        limit(source, Collector.count(call, body), reply);
        prepared = deps.collector.prepare(source, call, body, receivedAt);
      }
    } catch (error) {
      // Messages refused one by one are still messages received.
      if (error instanceof TandemError && error.details) deps.metrics.received.inc({ source: source?.key ?? 'unknown' }, error.details.length);
      throw error;
    }
    await deps.log.append(prepared.batches);
    const labels = { source: source.key };
    deps.metrics.received.inc(labels, prepared.received);
    deps.metrics.accepted.inc(labels, prepared.accepted);
    if (prepared.quarantined) deps.metrics.quarantined.inc(labels, prepared.quarantined);
    if (prepared.flagged) deps.metrics.flagged.inc(labels, prepared.flagged);
    for (const e of prepared.errors) deps.metrics.rejected.inc({ reason: e.code });
    return { success: true, accepted: prepared.accepted, quarantined: prepared.quarantined, errors: prepared.errors };
  };

  const response = { 200: Accepted };
  // Also on each route, where the error handler can read it to name the limit in a 'request_too_large' answer.
  const bodyLimit = deps.config.maxRequestBytes;
  for (const type of MessageTypes) {
    app.post(`/v1/${type}`, { bodyLimit, schema: { summary: `Record one ${type} message`, tags: ['collect'], body: RawMessageSchemas[type], response } }, handle({ kind: 'single', type }));
  }
  app.post('/v1/batch', { bodyLimit, schema: { summary: 'Record a batch of messages (at most 2,500, 500 KB)', tags: ['collect'], body: RawBatch, response } }, handle({ kind: 'batch' }));
  app.post('/v1/import', { bodyLimit, schema: { summary: 'Import historical messages; timestamps are kept as sent', tags: ['collect'], body: RawBatch, response } }, handle({ kind: 'import' }));
}

/** The write key from HTTP Basic auth, if the request has an Authorization header. */
export function writeKeyFromHeader(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const [scheme, encoded] = header.split(' ');
  if (scheme?.toLowerCase() !== 'basic' || !encoded) throw unauthorized('Authorization must be HTTP Basic with the write key as user name and an empty password');
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  return decoded.includes(':') ? decoded.slice(0, decoded.indexOf(':')) : decoded;
}

function bodyWriteKey(body: Record<string, unknown>): string | undefined {
  return typeof body.writeKey === 'string' ? body.writeKey : undefined;
}

export async function sourceOf(writeKey: string | undefined, deps: Pick<CollectRouteDeps, 'sourceByWriteKey'>): Promise<Source> {
  if (!writeKey) throw unauthorized('missing write key: send HTTP Basic auth with the write key as user name, or writeKey in the body');
  const source = await deps.sourceByWriteKey(writeKey);
  if (!source) throw unauthorized('the write key is not valid');
  return source;
}
