import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TandemError, unauthorized } from '../core/errors.js';
import { sha256 } from '../core/ids.js';
import type { Store } from '../core/ports/store.js';
import { runAsCaller } from '../users/caller-context.js';
import { refusal, type Role } from '../users/roles.js';
import { TOKEN_ACTOR, type Caller } from '../users/users.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Workspace of the authenticated admin caller; every admin query filters by it. */
    workspaceId: string;
    /** The caller's role (admin for the admin token); read it to mask personal data for viewers. */
    role: Role;
    /** Who the caller is, as the audit log records it: a user name, or `admin` for the admin token. */
    actor: string;
  }
}

/** The console's session cookie (HttpOnly, SameSite=Strict); scripts send the same token as a bearer instead. */
export const SESSION_COOKIE = 'tandem_session';

/** Session tokens (src/users/users.ts); without it only the admin token is accepted. */
export interface SessionResolver {
  resolve(token: string): Caller | undefined;
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return undefined;
}

/**
 * Admin calls send `Authorization: Bearer <token>` (the admin token, or a session token), or the console's session
 * cookie; admin tokens are stored hashed and compared by hash. The caller's role is enforced here, for every route
 * (src/users/roles.ts), so no route can forget it. Signing in (POST /api/v1/session) is the one open route.
 */
export function adminAuth(app: FastifyInstance, store: Store, sessions?: SessionResolver): void {
  const cache = new Map<string, string>();
  app.decorateRequest('workspaceId', '');
  app.decorateRequest('role', 'viewer');
  app.decorateRequest('actor', '');
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const route = request.routeOptions.url ?? '';
    if (request.method === 'POST' && route === '/api/v1/session') return;
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    const token = match?.[1] ?? (sessions ? cookieValue(request.headers.cookie, SESSION_COOKIE) : undefined);
    if (!token) throw unauthorized('send the admin token as Authorization: Bearer <token>, or sign in (POST /api/v1/session)');
    const caller = await identify(token);
    if (!caller) throw unauthorized(match ? 'the admin token is not valid' : 'the session has ended or expired; sign in again');
    const refused = refusal(caller.role, request.method, route);
    if (refused) throw new TandemError('forbidden', refused, 403);
    request.workspaceId = caller.workspaceId;
    request.role = caller.role;
    request.actor = caller.actor;
  });
  // After the body is read, so that the handler and everything it awaits see the caller (audit attribution).
  app.addHook('preValidation', (request, _reply, done) => (request.actor ? runAsCaller(request.actor, done) : done()));

  async function identify(token: string): Promise<Caller | undefined> {
    const hash = sha256(token);
    let workspaceId = cache.get(hash);
    if (!workspaceId) {
      workspaceId = await store.tokens.workspaceOf(hash);
      if (workspaceId) cache.set(hash, workspaceId);
    }
    if (workspaceId) return { workspaceId, role: 'admin', actor: TOKEN_ACTOR };
    return sessions?.resolve(token);
  }
}
