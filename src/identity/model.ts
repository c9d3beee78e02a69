/** The identity graph's vocabulary, shared by the resolver, the profile assembly and the storage adapters. */

/** One identifier of a person: `{ type: 'email', value: 'ada@example.com' }`. Values are normalised. */
export interface Identifier {
  type: string;
  value: string;
}

export const USER_ID = 'user_id';
export const ANONYMOUS_ID = 'anonymous_id';
export const EMAIL = 'email';
export const PHONE = 'phone';
export const DEVICE_ID = 'device_id';

/** A map key for an identifier (types never contain NUL). */
export const identifierKey = (i: Identifier): string => `${i.type}\u0000${i.value}`;

export const sameIdentifier = (a: Identifier, b: Identifier): boolean => a.type === b.type && a.value === b.value;

/** What the resolver needs to know about an event: its identifiers, in the order the message gave them. */
export interface EventIdentity {
  eventId: number;
  identifiers: Identifier[];
  /** An alias call's previousId: an anonymous id, or a user id the graph already knows (decided at resolution). */
  previousId?: string;
}

/** An event the resolver refused to let merge profiles past a limit, with the evidence. */
export interface MergeConflict {
  /** Why the first attempt was refused, e.g. `user_id limit 1 would be exceeded (2)`. */
  reason: string;
  /** The event's full linking set before anything was dropped. */
  identifiers: Identifier[];
  /** The identifiers dropped from the linking set, lowest priority first. */
  dropped: Identifier[];
  /** Profiles the full linking set would have merged. */
  profiles: string[];
}

/** The outcome of resolving one event. */
export interface Resolution {
  eventId: number;
  /** Profile the event belongs to after resolution; null when it carried no usable identifier. */
  profileId: string | null;
  /** Set when the event created its profile. `age` orders profiles: the older one survives a merge. */
  created?: { id: string; age: number };
  /** Profiles merged into `profileId` by this event, in order. */
  merges: { winner: string; loser: string }[];
  /** The linking set kept after the limits: linked to `profileId` (first / last seen refreshed). */
  identifiers: Identifier[];
  conflict?: MergeConflict;
}
