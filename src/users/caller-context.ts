import { AsyncLocalStorage } from 'node:async_hooks';
import type { Store } from '../core/ports/store.js';

/**
 * The signed-in caller of the admin request being handled, carried through its async work. Route code written
 * before users existed records `actor: 'admin'` in the audit log; the audit adapter below puts the caller's
 * name there instead, so "who changed what" is true without every route passing the caller down.
 */
const callerContext = new AsyncLocalStorage<{ actor: string }>();

/** Runs `continueRequest` (a Fastify hook's `done`) with the caller as the current context. */
export function runAsCaller(actor: string, continueRequest: () => void): void {
  callerContext.run({ actor }, continueRequest);
}

export const currentActor = (): string | undefined => callerContext.getStore()?.actor;

/** Wraps the audit log in place: entries written with the placeholder actor `admin` during a request name its caller. */
export function attributeAuditToCaller(audit: Store['audit']): void {
  const add = audit.add.bind(audit);
  audit.add = (entry, at) => {
    const actor = currentActor();
    return add(actor && entry.actor === 'admin' ? { ...entry, actor } : entry, at);
  };
}
