import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { normaliseEmail, toE164 } from '../channels/channel.js';
import { describeTarget, isPersonal, type DictionaryEntry, type PiiType } from './dictionary.js';
import { usesOf } from './lineage.js';

/**
 * Governance hooks (docs/metadata.md): personal data masked for roles without the right, left out of what leaves
 * Tandem unless allowed, hashed for ad audiences; deprecation warnings for definitions that use a deprecated entry.
 */

export type Role = 'admin' | 'editor' | 'viewer';

/** The caller's role (src/server/admin-auth.ts sets `request.role`); none set means an admin token. */
export function roleOf(request: FastifyRequest): Role {
  const role = (request as unknown as { role?: unknown }).role;
  if (role === undefined || role === null || role === 'admin') return 'admin';
  if (role === 'editor') return 'editor';
  // An unknown role gets the least: it sees masked values.
  return 'viewer';
}

export const seesPersonalData = (role: Role): boolean => role !== 'viewer';

/** Identifier types that are personal data whatever the dictionary says. */
const PERSONAL_IDENTIFIERS: Record<string, PiiType> = { email: 'email', phone: 'phone' };

/** The dictionary's classified and deprecated entries, indexed for lookups by path. */
export class Classifications {
  readonly traits = new Map<string, DictionaryEntry>();
  readonly computed = new Map<string, DictionaryEntry>();
  readonly events = new Map<string, DictionaryEntry>();
  readonly properties = new Map<string, Map<string, DictionaryEntry>>();
  readonly anyEvent = new Map<string, DictionaryEntry>();

  constructor(readonly entries: DictionaryEntry[]) {
    for (const e of entries) {
      if (e.trait !== undefined) this.traits.set(e.trait, e);
      else if (e.computed !== undefined) this.computed.set(e.computed, e);
      else if (e.property !== undefined && e.event === undefined) this.anyEvent.set(e.property, e);
      else if (e.property !== undefined) {
        const m = this.properties.get(e.event!) ?? new Map<string, DictionaryEntry>();
        m.set(e.property, e);
        this.properties.set(e.event!, m);
      } else if (e.event !== undefined) this.events.set(e.event, e);
    }
  }

  property(event: string | undefined, path: string): DictionaryEntry | undefined {
    return (event !== undefined ? this.properties.get(event)?.get(path) : undefined) ?? this.anyEvent.get(path);
  }

  /** Whether anything is classified personal (when not, masking has nothing to do). */
  get hasPersonal(): boolean {
    return this.entries.some(isPersonal);
  }
}

/** A masked value that keeps enough shape to debug with: `j***@***.com`, `***67`, `J***`, `***`. */
export function maskValue(value: unknown, piiType?: PiiType): unknown {
  if (value === null || value === undefined) return value;
  if (typeof value !== 'string') return '***';
  if (piiType === 'email') {
    const at = value.lastIndexOf('@');
    const dot = value.lastIndexOf('.');
    return at > 0 ? `${value[0]}***@***${dot > at ? value.slice(dot) : ''}` : '***';
  }
  if (piiType === 'phone') return value.length > 4 ? `***${value.slice(-2)}` : '***';
  if (piiType === 'name') return value.length ? `${value[0]}***` : value;
  return '***';
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A copy of `value` with the paths that `entryAt` classifies personal masked (arrays as `[]` in paths). */
function maskTree(value: unknown, path: string, entryAt: (path: string) => DictionaryEntry | undefined): unknown {
  if (Array.isArray(value)) {
    const p = `${path}[]`;
    const e = entryAt(p);
    if (e && isPersonal(e)) return value.map((v) => (isObject(v) || Array.isArray(v) ? '***' : maskValue(v, e.piiType)));
    return value.map((v) => maskTree(v, p, entryAt));
  }
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const p = path ? `${path}.${k}` : k;
    const e = entryAt(p);
    if (e && isPersonal(e)) out[k] = isObject(v) || Array.isArray(v) ? '***' : maskValue(v, e.piiType);
    else out[k] = maskTree(v, p, entryAt);
  }
  return out;
}

/** A message with its personal properties and traits masked (the message itself is not changed). */
export function maskMessage<M extends Record<string, unknown>>(message: M, c: Classifications): M {
  const type = message.type as string | undefined;
  const event = type === 'track' ? (message.event as string | undefined) : type;
  const out: Record<string, unknown> = { ...message };
  if (isObject(message.properties)) out.properties = maskTree(message.properties, '', (p) => c.property(event, p));
  if (isObject(message.traits)) out.traits = maskTree(message.traits, '', (p) => (type === 'group' ? c.property('group', p) : c.traits.get(p)));
  if (isObject(message.context)) {
    const ctx: Record<string, unknown> = { ...message.context };
    if (isObject(ctx.traits)) ctx.traits = maskTree(ctx.traits, '', (p) => c.traits.get(p));
    if (Array.isArray(ctx.externalIds)) {
      ctx.externalIds = ctx.externalIds.map((x) => (isObject(x) && typeof x.type === 'string' && PERSONAL_IDENTIFIERS[x.type] ? { ...x, id: maskValue(x.id, PERSONAL_IDENTIFIERS[x.type]) } : x));
    }
    out.context = ctx;
  }
  return out as M;
}

/** A profile view with personal traits, computed traits and identifiers masked. */
export function maskProfile<P extends Record<string, unknown>>(profile: P, c: Classifications): P {
  const out: Record<string, unknown> = { ...profile };
  if (isObject(profile.traits)) out.traits = maskTree(profile.traits, '', (p) => c.traits.get(p));
  if (isObject(profile.computed)) out.computed = maskTree(profile.computed, '', (p) => c.computed.get(p));
  if (Array.isArray(profile.identifiers)) {
    out.identifiers = profile.identifiers.map((i) => {
      if (!isObject(i) || typeof i.type !== 'string') return i;
      const pii = PERSONAL_IDENTIFIERS[i.type] ?? (c.traits.get(i.type) && isPersonal(c.traits.get(i.type)!) ? c.traits.get(i.type)!.piiType ?? 'free_text' : undefined);
      return pii ? { ...i, value: maskValue(i.value, pii) } : i;
    });
  }
  return out as P;
}

/** What a channel needs to deliver at all: the address of an email or SMS channel, the match keys of an ad audience (which hashes them). */
export function neededBy(type: string): string[] {
  return type === 'email' ? ['email'] : type === 'sms' ? ['phone'] : type === 'audience_export' ? ['email', 'phone'] : [];
}

/** Whether a personal entry may go to a channel: its `allow` allows exports or names the channel. */
const allowedTo = (e: DictionaryEntry, channel: { key: string }): boolean => e.allow?.exports === true || (e.allow?.channels?.includes(channel.key) ?? false);

/**
 * A profile export (GET /profiles/<id>/export) as a caller without the right to personal data sees it: the
 * profile, its identifiers and trait history, its events and quarantined messages masked as the profile API and
 * the event debugger mask them.
 */
export function maskExport<E extends Record<string, unknown>>(exported: E, c: Classifications): E {
  const out: Record<string, unknown> = { ...exported };
  if (isObject(exported.profile)) out.profile = maskProfile(exported.profile, c);
  if (Array.isArray(exported.identifiers)) out.identifiers = (maskProfile({ identifiers: exported.identifiers }, c) as { identifiers: unknown[] }).identifiers;
  if (Array.isArray(exported.traits)) {
    out.traits = exported.traits.map((t) => {
      if (!isObject(t) || typeof t.name !== 'string') return t;
      return { ...t, value: (maskTree({ [t.name]: t.value }, '', (p) => c.traits.get(p)) as Record<string, unknown>)[t.name] };
    });
  }
  for (const list of ['events', 'quarantine'] as const) {
    const items = exported[list];
    if (Array.isArray(items)) out[list] = items.map((x) => (isObject(x) && isObject(x.message) ? { ...x, message: maskMessage(x.message, c) } : x));
  }
  return out as E;
}

/**
 * The traits a destination may receive: personal and sensitive ones are left out unless the entry allows exports
 * or names the channel, or the channel needs the value to deliver at all (the address of an email or SMS channel).
 */
export function traitsForDestination(traits: Record<string, unknown>, c: Classifications, channel: { key: string; type: string }): Record<string, unknown> {
  const needed = neededBy(channel.type);
  return maskTreeOut(traits, '', (p) => {
    const e = c.traits.get(p);
    if (!e || !isPersonal(e) || needed.includes(p)) return false;
    return !allowedTo(e, channel);
  }) as Record<string, unknown>;
}

/** The part of a profile a channel receives (traits, computed traits, identifiers), with `traitsForDestination`'s rule. */
export interface DestinationProfile {
  traits: Record<string, unknown>;
  computed?: Record<string, unknown>;
  identifiers: { type: string; value: string }[];
}

/**
 * A profile as a destination may see it: personal traits and computed traits left out unless allowed (see
 * traitsForDestination), and identifiers whose type is a trait classified personal (an `email` identifier when
 * the `email` trait is) left out on the same terms. Everything else is kept as is.
 */
export function profileForDestination<P extends DestinationProfile>(profile: P, c: Classifications, channel: { key: string; type: string }): P {
  if (!c.hasPersonal) return profile;
  const needed = neededBy(channel.type);
  const out: P = { ...profile, traits: traitsForDestination(profile.traits, c, channel) };
  if (isObject(profile.computed)) {
    out.computed = maskTreeOut(profile.computed, '', (p) => {
      const e = c.computed.get(p);
      return e !== undefined && isPersonal(e) && !allowedTo(e, channel);
    }) as Record<string, unknown>;
  }
  out.identifiers = profile.identifiers.filter((i) => {
    const e = c.traits.get(i.type);
    return !e || !isPersonal(e) || needed.includes(i.type) || allowedTo(e, channel);
  });
  return out;
}

/**
 * A message payload as a destination may see it: the properties of the triggering event it carries
 * (`payload.event`, flat or as `{ event, properties }`) without the personal ones, unless allowed.
 */
export function payloadForDestination(payload: Record<string, unknown>, c: Classifications, channel: { key: string; type: string }): Record<string, unknown> {
  const event = payload.event;
  if (!c.hasPersonal || !isObject(event)) return payload;
  const nested = isObject(event.properties);
  const name = typeof payload.event_name === 'string' ? payload.event_name : typeof event.event === 'string' ? event.event : undefined;
  const drop = (p: string) => {
    const e = c.property(name, p);
    return e !== undefined && isPersonal(e) && !allowedTo(e, channel);
  };
  return { ...payload, event: nested ? { ...event, properties: maskTreeOut(event.properties, '', drop) } : maskTreeOut(event, '', drop) };
}

/** A copy of `value` without the paths `drop` names (arrays as `[]` in paths: `items[].email`). */
function maskTreeOut(value: unknown, path: string, drop: (path: string) => boolean): unknown {
  if (Array.isArray(value)) return value.map((v) => maskTreeOut(v, `${path}[]`, drop));
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const p = path ? `${path}.${k}` : k;
    if (!drop(p)) out[k] = maskTreeOut(v, p, drop);
  }
  return out;
}

/**
 * The hash an ad platform matches on: SHA-256 (hex) of the value normalised for its kind (e-mail trimmed and
 * lower-cased; phone in E.164; names trimmed, lower-cased, without accents), as Google Customer Match and Meta
 * custom audiences specify. Undefined when the value cannot be normalised (a phone that is not valid).
 */
export function hashForAudience(value: string, piiType: PiiType, region?: string): string | undefined {
  let normalised: string | undefined;
  if (piiType === 'email') normalised = normaliseEmail(value);
  else if (piiType === 'phone') normalised = toE164(value, region);
  else normalised = value.normalize('NFD').replace(/[\u0300-\u036f]/g, '').trim().toLowerCase();
  if (!normalised) return undefined;
  return createHash('sha256').update(normalised).digest('hex');
}

export interface DeprecationWarning {
  /** Where the definition names it. */
  path: string;
  message: string;
}

/** Warnings for a definition that uses deprecated events, properties or traits. */
export function deprecationWarnings(kind: string, key: string, body: unknown, c: Classifications): DeprecationWarning[] {
  const out: DeprecationWarning[] = [];
  for (const u of usesOf(kind, key, body).uses) {
    const m = /^(event|property|trait|computed):(.*)$/s.exec(u.target);
    if (!m) continue;
    let entry: DictionaryEntry | undefined;
    if (m[1] === 'event') entry = c.events.get(m[2]);
    else if (m[1] === 'trait') entry = c.traits.get(m[2]);
    else if (m[1] === 'computed') entry = c.computed.get(m[2]);
    else {
      const i = m[2].indexOf(':');
      const event = m[2].slice(0, i);
      entry = c.property(event === '*' ? undefined : event, m[2].slice(i + 1));
    }
    if (entry?.status !== 'deprecated') continue;
    out.push({ path: u.path, message: `${u.path}: ${describeTarget(entry)} is deprecated (dictionary entry '${entry.key}')${entry.replacement ? `; use ${entry.replacement} instead` : ''}` });
  }
  return out;
}
