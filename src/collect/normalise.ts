import { newId } from '../core/ids.js';
import type { Message, MessageType } from './message.js';

export interface BatchDefaults {
  context?: Record<string, unknown>;
  integrations?: Record<string, unknown>;
  sentAt?: string;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Batch-level context and integrations merged under the message's own, one level deep (the message wins). */
function mergeUnder(base: Record<string, unknown> | undefined, own: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!base) return own ?? {};
  const out: Record<string, unknown> = { ...base };
  for (const key in own) {
    const mine = own[key];
    const theirs = base[key];
    out[key] = isPlainObject(mine) && isPlainObject(theirs) ? { ...theirs, ...mine } : mine;
  }
  return out;
}

const MIN_TIME = Date.parse('0000-01-01T00:00:00.000Z');
const MAX_TIME = Date.parse('9999-12-31T23:59:59.999Z');

const asId = (v: unknown): string | undefined => (v === undefined || v === null || v === '' ? undefined : String(v));

/**
 * Produces the stored form of a validated message: ids as strings, a messageId, receivedAt, and the event time
 * corrected for client clock skew: timestamp = receivedAt - (sentAt - timestamp). Imports keep their timestamps.
 */
// The messages of one request share receivedAt and usually sentAt: convert each once, not once per message.
let isoOf = { at: NaN, iso: '' };
let sentOf = { text: '', ms: NaN };
const isoAt = (at: number) => (isoOf.at === at ? isoOf.iso : (isoOf = { at, iso: new Date(at).toISOString() }).iso);
const parseSent = (text: string) => (sentOf.text === text ? sentOf.ms : (sentOf = { text, ms: Date.parse(text) }).ms);

export function normalise(raw: Record<string, unknown>, type: MessageType, defaults: BatchDefaults, receivedAt: number, correctSkew: boolean): Message {
  const receivedIso = isoAt(receivedAt);
  const sentAt = (raw.sentAt as string | undefined) ?? defaults.sentAt;
  const clientTs = (raw.timestamp as string | undefined) ?? (raw.originalTimestamp as string | undefined);
  let timestamp = receivedIso;
  if (clientTs !== undefined) {
    const ts = Date.parse(clientTs);
    const corrected = correctSkew && sentAt !== undefined ? receivedAt - (parseSent(sentAt) - ts) : ts;
    // An absurd sentAt would push the event outside the years 0000-9999 that ISO-8601 (and our own validation)
    // accepts; then the client's clock is kept uncorrected rather than storing a time nothing can read back.
    timestamp = new Date(corrected >= MIN_TIME && corrected <= MAX_TIME ? corrected : ts).toISOString();
  }
  const m: Message = {
    type,
    messageId: (raw.messageId as string | undefined) ?? `tandem-${newId()}`,
    context: mergeUnder(defaults.context, raw.context as Record<string, unknown> | undefined),
    integrations: mergeUnder(defaults.integrations, raw.integrations as Record<string, unknown> | undefined),
    timestamp,
    receivedAt: receivedIso,
  };
  const userId = asId(raw.userId);
  const anonymousId = asId(raw.anonymousId);
  if (userId !== undefined) m.userId = userId;
  if (anonymousId !== undefined) m.anonymousId = anonymousId;
  if (clientTs !== undefined) m.originalTimestamp = clientTs;
  if (sentAt !== undefined) m.sentAt = sentAt;
  switch (type) {
    case 'track':
      m.event = raw.event as string;
      m.properties = (raw.properties as Record<string, unknown> | undefined) ?? {};
      break;
    case 'identify':
      m.traits = (raw.traits as Record<string, unknown> | undefined) ?? {};
      break;
    case 'page':
    case 'screen':
      if (typeof raw.name === 'string') m.name = raw.name;
      if (typeof raw.category === 'string') m.category = raw.category;
      m.properties = (raw.properties as Record<string, unknown> | undefined) ?? {};
      break;
    case 'group':
      m.groupId = String(raw.groupId);
      m.traits = (raw.traits as Record<string, unknown> | undefined) ?? {};
      break;
    case 'alias':
      m.previousId = String(raw.previousId);
      break;
  }
  return m;
}
