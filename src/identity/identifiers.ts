import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import type { Message } from '../collect/message.js';
import { ANONYMOUS_ID, DEVICE_ID, EMAIL, identifierKey, PHONE, USER_ID, type EventIdentity, type Identifier } from './model.js';
import type { IdentityRules } from './rules.js';

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A scalar as an identifier string; objects, arrays, booleans and absent values are not identifiers. */
function asText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

function at(message: Message, path: string): unknown {
  let node: unknown = message;
  for (const part of path.split('.')) {
    if (!isObject(node)) return undefined;
    node = node[part];
  }
  return node;
}

/**
 * Normalises a raw value of a type into its stored form, or undefined when it cannot identify anyone
 * (blocked, or a phone number that is not possible in any region).
 */
export function normaliseIdentifier(type: string, raw: string, rules: IdentityRules): string | undefined {
  const value = raw.trim();
  if (rules.isBlocked(value)) return undefined;
  switch (type) {
    case EMAIL: {
      const email = value.toLowerCase();
      return rules.isBlocked(email) ? undefined : email;
    }
    case PHONE: {
      const phone = parsePhoneNumberFromString(value, rules.body.phoneRegion as CountryCode);
      return phone?.isPossible() ? phone.number : undefined;
    }
    default:
      return value;
  }
}

/**
 * Every identifier a message carries, normalised, without blocked values (the rules' and the workspace's
 * blocked-identifiers list), each once, in this order:
 * userId, anonymousId, email, phone, context.device.id, context.externalIds, configured trait paths.
 * Email and phone come from traits (identify) or context.traits (any call). An alias's previousId is returned
 * apart: whether it names an anonymous id or a user id depends on the graph.
 */
export function extractIdentity(eventId: number, message: Message, rules: IdentityRules): EventIdentity {
  const out: Identifier[] = [];
  const seen = new Set<string>();
  const add = (type: string, raw: unknown) => {
    const text = asText(raw);
    if (text === undefined) return;
    const value = normaliseIdentifier(type, text, rules);
    if (value === undefined || rules.isBlockedIdentifier(type, value)) return;
    const id = { type, value };
    const key = identifierKey(id);
    if (seen.has(key)) return;
    seen.add(key);
    out.push(id);
  };
  const traits = message.type === 'identify' && isObject(message.traits) ? message.traits : {};
  const contextTraits = isObject(message.context.traits) ? message.context.traits : {};

  add(USER_ID, message.userId);
  add(ANONYMOUS_ID, message.anonymousId);
  add(EMAIL, traits.email ?? contextTraits.email);
  add(PHONE, traits.phone ?? contextTraits.phone);
  add(DEVICE_ID, isObject(message.context.device) ? message.context.device.id : undefined);
  const external = message.context.externalIds;
  if (Array.isArray(external)) {
    for (const e of external) {
      if (!isObject(e) || typeof e.type !== 'string') continue;
      const type = e.type.trim().toLowerCase();
      if (/^[a-z][a-z0-9_]{0,63}$/.test(type)) add(type, e.id);
    }
  }
  for (const { path, type } of rules.body.traitIdentifiers) add(type, at(message, path));

  const identity: EventIdentity = { eventId, identifiers: out };
  if (message.type === 'alias' && message.previousId !== undefined) {
    const previous = normaliseIdentifier(ANONYMOUS_ID, message.previousId, rules);
    // A previousId blocked under either reading (anonymous or user id) links nothing.
    if (previous !== undefined && !rules.isBlockedIdentifier(ANONYMOUS_ID, previous) && !rules.isBlockedIdentifier(USER_ID, previous)) identity.previousId = previous;
  }
  return identity;
}
