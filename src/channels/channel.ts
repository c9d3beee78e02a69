import type { SecretSource } from '../secrets/reference.js';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import type { Clock } from '../core/clock.js';
import { DestinationRefused, STRICT_GUARD, type DestinationGuard } from '../network/destination-guard.js';
import type { DeliveryStore } from '../delivery/ports.js';
import type { TrackingLinks } from '../delivery/links.js';
import type { RenderedContent } from '../templates/render.js';
import type { ChannelDefinition, ChannelType } from './definition.js';

/** What a channel needs to know about the recipient (a subset of the profile view). */
export interface Recipient {
  id: string;
  traits: Record<string, unknown>;
  identifiers: { type: string; value: string }[];
  subscriptions?: Record<string, { status: string }>;
}

/** One message, rendered, handed to a channel. */
export interface OutgoingMessage {
  /** The message id (also in events as message_id). */
  id: string;
  /** Passed to the sink (header or provider field) so that a repeat after a crash can be recognised. */
  idempotencyKey: string;
  workspaceId: string;
  profile: Recipient;
  /** The template's output, when the message has a template. */
  content?: RenderedContent;
  payload: Record<string, unknown>;
  journey: string | null;
  node: string | null;
}

/** The outcome of one attempt. `failed` with retryable true is tried again with backoff, until the attempts run out. */
export type SendOutcome =
  | { status: 'sent' | 'delivered'; providerId?: string; detail?: Record<string, unknown> }
  | { status: 'failed'; retryable: boolean; reason: string; retryAfterMs?: number; detail?: Record<string, unknown> }
  | { status: 'bounced'; reason: string }
  | { status: 'suppressed'; reason: string };

/** A Channel port: send one message, report the outcome (ARCHITECTURE.md section 4). Must not throw for delivery failures. */
export interface Channel {
  send(message: OutgoingMessage): Promise<SendOutcome>;
  close?(): Promise<void>;
}

export interface ChannelDeps {
  /** Where `{ env }` and `{ secret }` references are read at send time. */
  secrets: SecretSource;
  links: TrackingLinks;
  store: DeliveryStore;
  clock: Clock;
  /** Where ad-audience files go when a channel names no directory. */
  exportDir: string;
  /** The SSRF guard HTTP channels send through (config network.allowPrivate); absent: every non-public address is refused. */
  destinations?: DestinationGuard;
}

export interface ChannelKind {
  type: ChannelType;
  create(workspaceId: string, definition: ChannelDefinition, deps: ChannelDeps): Channel;
}

/* ---- helpers shared by the kinds ---- */

const text = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

/** The recipient's e-mail: payload.to, else the email trait, else an email identifier. */
export function emailOf(m: OutgoingMessage): string | undefined {
  return text(m.payload.to) ?? text(m.profile.traits.email) ?? m.profile.identifiers.find((i) => i.type === 'email')?.value;
}

/** The recipient's phone: payload.to, else the phone trait, else a phone identifier. */
export function phoneOf(m: OutgoingMessage): string | undefined {
  return text(m.payload.to) ?? text(m.profile.traits.phone) ?? m.profile.identifiers.find((i) => i.type === 'phone')?.value;
}

/** E.164 (+33612345678), or undefined when the number is not valid. */
export function toE164(raw: string, region?: string): string | undefined {
  const parsed = parsePhoneNumberFromString(raw, region as CountryCode | undefined);
  return parsed?.isValid() ? parsed.number : undefined;
}

export const normaliseEmail = (raw: string): string => raw.trim().toLowerCase();

/** Whether the profile has unsubscribed from a group. */
export const unsubscribed = (p: Recipient, group: string | undefined): boolean => group !== undefined && p.subscriptions?.[group]?.status === 'unsubscribed';

/**
 * One HTTP request with a timeout, classified: 2xx delivered; 408, 425, 429 and 5xx retried (honouring Retry-After);
 * other 4xx failed for good; network errors and timeouts retried.
 */
export async function httpSend(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs: number; guard?: DestinationGuard },
): Promise<{ outcome: SendOutcome; body?: string }> {
  const { guard = STRICT_GUARD, ...rest } = init;
  const timeoutMs = init.timeoutMs;
  let res: Response;
  try {
    // Through the SSRF guard (src/network): a refused destination is never requested, and never retried.
    res = await guard.fetch(url, { ...rest, redirect: 'manual' });
  } catch (error) {
    if (error instanceof DestinationRefused) return { outcome: { status: 'failed', retryable: false, reason: error.message } };
    const e = error as Error & { cause?: { code?: string; message?: string } };
    const reason = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : `${e.cause?.code ?? e.name}: ${e.cause?.message ?? e.message}`;
    return { outcome: { status: 'failed', retryable: true, reason } };
  }
  const body = await res.text().catch(() => '');
  if (res.status >= 200 && res.status < 300) return { outcome: { status: 'delivered', detail: { httpStatus: res.status } }, body };
  const snippet = body.length > 300 ? `${body.slice(0, 300)}…` : body;
  const reason = `HTTP ${res.status}${snippet ? `: ${snippet}` : ''}`;
  const retryable = res.status === 408 || res.status === 425 || res.status === 429 || res.status >= 500;
  const after = res.headers.get('retry-after');
  const retryAfterMs = after && /^\d+$/.test(after) ? Number(after) * 1000 : undefined;
  return { outcome: { status: 'failed', retryable, reason, detail: { httpStatus: res.status }, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) }, body };
}
