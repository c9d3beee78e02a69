import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { unauthorized } from '../core/errors.js';
import type { WebhookSources } from '../transforms/webhooks.js';

const WEBHOOK_BYTES = 1024 * 1024;

const Answer = Type.Object({
  mapped: Type.Integer({ description: 'Messages the function returned.' }),
  accepted: Type.Integer(),
  quarantined: Type.Integer({ description: 'Messages held by a tracking plan, or 1 when the payload itself is held (see held).' }),
  errors: Type.Array(Type.Object({ index: Type.Integer(), messageId: Type.Optional(Type.String()), code: Type.String(), path: Type.String(), message: Type.String() })),
  held: Type.Optional(
    Type.Object(
      { reason: Type.String() },
      { description: 'Present (status 202) when the function threw, ran out of time or memory, or returned invalid messages: the payload is held in the quarantine, to replay once the function is fixed.' },
    ),
  ),
});

/** The write key from HTTP Basic auth or `?writeKey=` (webhook senders often can only configure a URL). */
function writeKeyOf(authorization: string | undefined, query: string | undefined): string | undefined {
  if (query) return query;
  if (!authorization) return undefined;
  const [scheme, encoded] = authorization.split(' ');
  if (scheme?.toLowerCase() !== 'basic' || !encoded) throw unauthorized('Authorization must be HTTP Basic with the write key as user name and an empty password');
  return Buffer.from(encoded, 'base64').toString('utf8').split(':')[0];
}

/** POST /v1/webhooks/<source>: any JSON, mapped to messages by the source's webhook function (docs/transformations.md). */
export async function webhooksRoutes(app: FastifyInstance, deps: { webhooks: WebhookSources }): Promise<void> {
  // The raw bytes are kept: the signature is an HMAC of the body exactly as sent.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: WEBHOOK_BYTES }, (_req, body, done) => done(null, body));
  app.post<{ Params: { source: string }; Querystring: { writeKey?: string } }>(
    '/v1/webhooks/:source',
    {
      schema: {
        summary: 'Receive a webhook (any JSON); the source\'s webhook function maps it to messages, logged like /v1/batch (202: the function failed on it and the payload is held in the quarantine)',
        tags: ['webhooks'],
        params: Type.Object({ source: Type.String({ description: 'Source key.' }) }),
        querystring: Type.Object({ writeKey: Type.Optional(Type.String({ description: 'The source write key, when the sender cannot send HTTP Basic auth.' })) }),
        response: { 200: Answer, 202: Answer },
      },
    },
    async (req, reply) => {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const answer = await deps.webhooks.receive({ sourceKey: req.params.source, writeKey: writeKeyOf(req.headers.authorization, req.query.writeKey), body, headers: req.headers });
      // 202: accepted, but held in the quarantine (the function failed on it); a sender must not retry, nothing is lost.
      return reply.code(answer.held ? 202 : 200).send(answer);
    },
  );
}
