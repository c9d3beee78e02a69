import type { FastifyInstance, FastifyRequest } from 'fastify';
import { unauthorized } from '../core/errors.js';
import { sha256 } from '../core/ids.js';
import type { Store } from '../core/ports/store.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Workspace of the authenticated admin caller; every admin query filters by it. */
    workspaceId: string;
  }
}

/** Admin calls send `Authorization: Bearer <token>`; tokens are stored hashed and compared by hash. */
export function adminAuth(app: FastifyInstance, store: Store): void {
  const cache = new Map<string, string>();
  app.decorateRequest('workspaceId', '');
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) throw unauthorized('send the admin token as Authorization: Bearer <token>');
    const hash = sha256(match[1]);
    let workspaceId = cache.get(hash);
    if (!workspaceId) {
      workspaceId = await store.tokens.workspaceOf(hash);
      if (!workspaceId) throw unauthorized('the admin token is not valid');
      cache.set(hash, workspaceId);
    }
    request.workspaceId = workspaceId;
  });
}
