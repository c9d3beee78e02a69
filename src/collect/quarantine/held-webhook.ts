import type { Source } from '../../core/ports/store.js';
import type { Message, Violation } from '../message.js';

/** The `type` of a quarantine item that holds a webhook payload rather than a message. */
export const HELD_WEBHOOK_TYPE = 'webhook';

/**
 * A webhook payload the source's webhook function could not map (it threw, ran out of time or memory, or returned
 * invalid messages), held in the quarantine as it arrived so that nothing acknowledged is lost. A replay runs the
 * source's current webhook function on `payload` again (after the replay's mapping and patch, whose paths start
 * at this object: `/payload/...`).
 */
export interface HeldWebhook {
  type: typeof HELD_WEBHOOK_TYPE;
  /** `webhook-` and a hash of the raw body: a sender's retry of the same payload refreshes the same item. */
  messageId: string;
  timestamp: string;
  receivedAt: string;
  /** The function that failed on it, and the request headers it saw as ctx.headers (credentials left out). */
  webhook: { function: string; version: number; headers: Record<string, string> };
  payload: unknown;
}

export const isHeldWebhook = (message: Message | HeldWebhook): message is HeldWebhook => (message as { type: string }).type === HELD_WEBHOOK_TYPE;

/** Runs the source's current webhook function on a held payload: the raw messages it returned, or why it failed. */
export type WebhookRerun = (source: Source, held: HeldWebhook) => Promise<{ ok: true; messages: unknown[] } | { ok: false; violation: Violation }>;
