import cors from '@fastify/cors';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { decodeBody } from '../collect/body.js';
import { Collector, type CollectCall } from '../collect/collector.js';
import { MessageTypes, RawBatch, RawMessageSchemas } from '../collect/message.js';
import type { RateLimiter } from '../collect/rate-limit.js';
import type { LoadShare } from '../core/stage-loop.js';
import type { Clock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import { TandemError, unauthorized } from '../core/errors.js';
import type { Source } from '../core/ports/store.js';
import { publicCode } from './errors.js';
import type { Metrics } from './metrics.js';

export interface CollectRouteDeps {
  collector: Collector;
  limiter: RateLimiter;
  /** Told of each request, so background stages yield to collection. */
  load: LoadShare;
  clock: Clock;
  config: Config['collect'];
  metrics: Metrics;
  sourceByWriteKey(writeKey: string): Promise<Source | undefined>;
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

  app.addHook('onError', async (_request, _reply, error) => {
    deps.metrics.rejected.inc({ reason: publicCode(error) });
  });

  const handle = (call: CollectCall) => async (request: FastifyRequest, reply: FastifyReply) => {
    const receivedAt = deps.clock.now();
    const body = decodeBody(request.body as Buffer, request.headers['content-encoding'] as string | undefined, deps.config.maxRequestBytes);
    const source = await authenticate(request, body, deps);
    const cost = Collector.count(call, body);
    const rate = source.settings.rateLimit ?? deps.config.rateLimit;
    const burst = rate.burst ?? rate.eventsPerSecond * 2;
    const decision = deps.limiter.take(source.id, cost, rate.eventsPerSecond, burst);
    void reply.header('RateLimit-Limit', decision.limit).header('RateLimit-Remaining', decision.remaining).header('RateLimit-Reset', decision.resetSeconds);
    if (!decision.allowed) {
      deps.metrics.rateLimited.inc();
      void reply.header('Retry-After', decision.retryAfterSeconds);
      throw new TandemError('rate_limited', `write key '${source.key}' is over its limit of ${rate.eventsPerSecond} events per second; retry after ${decision.retryAfterSeconds} s`, 429);
    }
    const result = await deps.collector.collect(source, call, body, receivedAt);
    return { success: true, ...result };
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

async function authenticate(request: FastifyRequest, body: Record<string, unknown>, deps: CollectRouteDeps): Promise<Source> {
  let writeKey: string | undefined;
  const header = request.headers.authorization;
  if (header) {
    const [scheme, encoded] = header.split(' ');
    if (scheme?.toLowerCase() !== 'basic' || !encoded) throw unauthorized('Authorization must be HTTP Basic with the write key as user name and an empty password');
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    writeKey = decoded.includes(':') ? decoded.slice(0, decoded.indexOf(':')) : decoded;
  } else if (typeof body.writeKey === 'string') writeKey = body.writeKey;
  if (!writeKey) throw unauthorized('missing write key: send HTTP Basic auth with the write key as user name, or writeKey in the body');
  const source = await deps.sourceByWriteKey(writeKey);
  if (!source) throw unauthorized('the write key is not valid');
  return source;
}
