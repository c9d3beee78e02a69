import { MessageTypes, type Message, type MessageType } from '../collect/message.js';
import { normalise } from '../collect/normalise.js';
import { checkMessage } from '../collect/validate.js';

const TYPES = new Set<string>(MessageTypes);
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export type OutputCheck = { ok: true; messages: Message[] } | { ok: false; path: string; message: string };

/** At most this many messages from one event (a split), so that a runaway function cannot flood the store. */
export const MAX_SPLIT = 100;

/**
 * What a function returned for `input`, as stored messages: null drops the event, an object replaces it, an array
 * splits it. Each result is checked as /v1 checks a message (its type defaults to the input's); missing ids and
 * times come from the input, and the second and later results of a split get `<messageId>:<n>` when they keep the
 * input's id, so a replay of the log produces the same ids and deduplicates.
 */
export function messagesFrom(result: unknown, input: Message, maxDepth: number): OutputCheck {
  if (result === null) return { ok: true, messages: [] };
  const list = Array.isArray(result) ? result : [result];
  if (list.length > MAX_SPLIT) return { ok: false, path: 'result', message: `the function returned ${list.length} events; at most ${MAX_SPLIT} per event` };
  const receivedAt = Date.parse(input.receivedAt);
  const messages: Message[] = [];
  for (let i = 0; i < list.length; i++) {
    const path = Array.isArray(result) ? `result[${i}]` : 'result';
    const raw = list[i];
    if (!isObject(raw)) return { ok: false, path, message: `${path} must be an event object (or return null to drop the event)` };
    const type = (raw.type ?? input.type) as string;
    if (!TYPES.has(type)) return { ok: false, path: `${path}.type`, message: `${path}.type must be one of ${MessageTypes.join(', ')}` };
    const problem = checkMessage(raw, type as MessageType, path, maxDepth);
    if (problem) return { ok: false, path: problem.path, message: problem.message };
    const messageId = typeof raw.messageId === 'string' && raw.messageId !== '' && !(i > 0 && raw.messageId === input.messageId) ? raw.messageId : i === 0 ? input.messageId : `${input.messageId}:${i}`;
    const m = normalise({ ...raw, messageId, timestamp: raw.timestamp ?? input.timestamp }, type as MessageType, {}, receivedAt, false);
    if (raw.originalTimestamp === undefined) {
      if (input.originalTimestamp !== undefined) m.originalTimestamp = input.originalTimestamp;
      else delete m.originalTimestamp;
    }
    m.receivedAt = input.receivedAt;
    messages.push(m);
  }
  return { ok: true, messages };
}
