import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, normalize, sep } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import { BUILD_ERROR_FILE, CONSOLE_DIST } from './console-build.js';

/** Paths that belong to the API, collection, tracking links and operations: never answered with the console. */
const NOT_CONSOLE = /^\/(?:api|v1|u|o|c|metrics|healthz|readyz)(?:\/|$|\?)/;
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
};

const escape = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);

function notBuiltPage(errorFile: string): string {
  const detail = existsSync(errorFile) ? readFileSync(errorFile, 'utf8').slice(-4000) : 'The build has not run yet.';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Tandem: console not built</title></head><body>
<main><h1>The Tandem console is not built</h1>
<p>The API is running (<a href="/api/v1/openapi.json">/api/v1/openapi.json</a>). The web console is built by <code>npm install</code>
and by <code>tandem start</code> when <code>console/dist</code> is missing or stale; the last build failed or did not run. Restart <code>tandem start</code> to try again.</p>
<pre>${escape(detail)}</pre></main></body></html>`;
}

/**
 * The console at `/` (console/dist, built by Vite): files as they are, hashed assets cached for a year, and
 * index.html for any other path outside the API so that the app's own routes survive a reload.
 */
export async function consoleRoutes(app: FastifyInstance, options: { dist?: string; errorFile?: string } = {}): Promise<void> {
  const dist = options.dist ?? CONSOLE_DIST;
  const errorFile = options.errorFile ?? BUILD_ERROR_FILE;
  await app.register(fastifyStatic, { root: dist, serve: false });

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const path = decodeURIComponent(req.url.split('?')[0]);
    if (NOT_CONSOLE.test(path)) return reply.callNotFound();
    const index = join(dist, 'index.html');
    if (!existsSync(index)) return reply.status(503).headers(SECURITY_HEADERS).type('text/html; charset=utf-8').send(notBuiltPage(errorFile));
    const file = normalize(join(dist, path));
    const inside = file.startsWith(dist + sep);
    if (inside && path !== '/' && existsSync(file) && statSync(file).isFile()) {
      const immutable = path.startsWith('/assets/');
      return reply.headers(SECURITY_HEADERS).sendFile(file.slice(dist.length + 1), dist, { immutable, maxAge: immutable ? 31_536_000_000 : 0, cacheControl: true });
    }
    // A missing asset is a 404 (a stale tab asking for an old bundle must not get HTML as JavaScript).
    if (/\.[a-z0-9]+$/i.test(path)) return reply.callNotFound();
    return reply.headers({ ...SECURITY_HEADERS, 'cache-control': 'no-cache' }).sendFile('index.html', dist, { cacheControl: false });
  };
  app.get('/', { schema: { hide: true } }, handler);
  app.get('/*', { schema: { hide: true } }, handler);
}
