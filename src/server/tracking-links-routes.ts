import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from '@sinclair/typebox';
import { TandemError } from '../core/errors.js';
import type { Delivery } from '../delivery/delivery.js';
import type { Privacy } from '../profiles/privacy.js';

export interface TrackingLinksRouteDeps {
  delivery: Delivery;
  privacy: Pick<Privacy, 'setSubscription'>;
}

const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
const invalid = () => new TandemError('invalid_token', 'this link is not valid (it was changed or is not one of ours)', 400, 'token');
const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const page = (reply: FastifyReply, title: string, body: string) =>
  reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(
    `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title></head><body style="font-family:sans-serif;max-width:32em;margin:3em auto">${body}</body></html>`,
  );
const Token = Type.Object({ token: Type.String() });

/**
 * Public links in messages (no admin token; the signed token is the authority): one-click unsubscribe
 * (RFC 8058: POST /u/<token>; GET shows a confirmation page, so link scanners do not unsubscribe anyone),
 * the open pixel and click redirects. Each emits its event into the loop.
 */
export async function trackingLinksRoutes(app: FastifyInstance, deps: TrackingLinksRouteDeps): Promise<void> {
  const { delivery, privacy } = deps;
  const tags = ['tracking links'];
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.addContentTypeParser('multipart/form-data', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.get<{ Params: { token: string } }>('/u/:token', { schema: { summary: 'Unsubscribe page (confirms with a POST)', tags, params: Token } }, async (req, reply) => {
    const found = delivery.resolve(req.params.token, 'u');
    if (!found) throw invalid();
    return page(reply, 'Unsubscribe', `<h1>Unsubscribe</h1><p>Stop receiving these emails?</p><form method="post" action="${escapeHtml(req.params.token)}"><button type="submit">Unsubscribe</button></form>`);
  });

  app.post<{ Params: { token: string } }>('/u/:token', { schema: { summary: 'One-click unsubscribe (List-Unsubscribe-Post)', tags, params: Token } }, async (req, reply) => {
    const found = delivery.resolve(req.params.token, 'u');
    if (!found || found.claims.k !== 'u') throw invalid();
    const { claims, message } = found;
    await privacy.setSubscription(claims.w, claims.p, claims.g, 'unsubscribed', 'unsubscribe-link');
    delivery.unsubscribed(message, claims.g);
    return page(reply, 'Unsubscribed', '<h1>You are unsubscribed</h1><p>You will not receive these emails any more.</p>');
  });

  app.get<{ Params: { token: string } }>('/o/:token', { schema: { summary: 'Open pixel: <token>.gif', tags, params: Token } }, async (req, reply) => {
    const token = req.params.token.replace(/\.gif$/, '');
    const found = delivery.resolve(token, 'o');
    if (!found) throw invalid();
    delivery.opened(found.message, { userAgent: req.headers['user-agent'] ?? null });
    return reply.type('image/gif').header('cache-control', 'no-store, max-age=0').send(PIXEL);
  });

  app.get<{ Params: { token: string }; Querystring: { u?: string } }>(
    '/c/:token',
    { schema: { summary: 'Click redirect: only to the URL the token was signed for', tags, params: Token, querystring: Type.Object({ u: Type.Optional(Type.String()) }) } },
    async (req, reply) => {
      const found = delivery.resolve(req.params.token, 'c');
      const url = req.query.u;
      if (!found || url === undefined || !delivery.clicked(found.message, found.claims, url, { userAgent: req.headers['user-agent'] ?? null })) throw invalid();
      return reply.header('cache-control', 'no-store').redirect(url, 302);
    },
  );
}
