import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { unauthorized } from '../core/errors.js';
import type { WebhookSources } from '../transforms/webhooks.js';

const WEBHOOK_BYTES = 1024 * 1024;

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
        summary: 'Receive a webhook (any JSON); the source\'s webhook function maps it to messages, logged like /v1/batch',
        tags: ['webhooks'],
        params: Type.Object({ source: Type.String({ description: 'Source key.' }) }),
        querystring: Type.Object({ writeKey: Type.Optional(Type.String({ description: 'The source write key, when the sender cannot send HTTP Basic auth.' })) }),
        response: {
          200: Type.Object({
            mapped: Type.Integer({ description: 'Messages the function returned.' }),
            accepted: Type.Integer(),
            quarantined: Type.Integer(),
            errors: Type.Array(Type.Object({ index: Type.Integer(), messageId: Type.Optional(Type.String()), code: Type.String(), path: Type.String(), message: Type.String() })),
          }),
        },
      },
    },
    async (req) => {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      return deps.webhooks.receive({ sourceKey: req.params.source, writeKey: writeKeyOf(req.headers.authorization, req.query.writeKey), body, headers: req.headers });
    },
  );
}
