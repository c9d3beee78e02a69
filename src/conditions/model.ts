/**
 * The inputs the condition evaluators read. They are deliberately minimal and owned by this library, so the
 * condition language can be built, tested and proven without the identity or profile stages: the integration maps
 * real profiles, events and catalogs onto these shapes (and, for SQL, onto the relational inputs described below).
 */

/** A JSON value as stored in traits, event properties and catalog rows. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** What a condition may read of one profile, as it is now. */
export interface ProfileView {
  /** The canonical profile id (after merges); the random `bucket` node hashes it. */
  id: string;
  traits: Record<string, unknown>;
  /** Computed-trait values by key. */
  computed: Record<string, unknown>;
  identifiers: { type: string; value: string }[];
  /** Keys of the audiences the profile is a member of. */
  audiences: string[];
  /** Subscription / consent status per group; a group that is absent counts as not subscribed. */
  subscriptions: Record<string, 'subscribed' | 'unsubscribed'>;
}

/** One event of the profile's history. */
export interface EventRecord {
  /** Segment message type: track, page, screen, identify, ... */
  type: string;
  /** The event name; `performed` matches on it. */
  event?: string;
  /** When the event happened, in milliseconds since the Unix epoch. */
  timestamp: number;
  properties: Record<string, unknown>;
}

/** Business data (products, stores, stock) keyed per catalog; keys are unique within a catalog. */
export interface CatalogLookup {
  get(catalog: string, key: string): Record<string, unknown> | undefined;
}

export const emptyCatalogs: CatalogLookup = { get: () => undefined };

/** Everything the reference interpreter reads: the profile, its raw history, and the instant of evaluation. */
export interface ReferenceInput {
  profile: ProfileView;
  /** The profile's events in any order; events after `now` are ignored (the answer is "as of now"). */
  events: EventRecord[];
  /** Evaluation instant, ms since the epoch (integer). Time is a parameter, never read from the system. */
  now: number;
  catalogs: CatalogLookup;
}

/** What the streaming evaluator reads besides its own state (which summarises the events). */
export interface StreamingInput {
  profile: ProfileView;
  now: number;
  catalogs: CatalogLookup;
}

/**
 * The SQL compiler's relational inputs, as tables or views in the warehouse. The integration maps real storage
 * onto these names (for example with `CREATE VIEW c_events AS SELECT ... FROM events`).
 *
 *   c_profiles(profile_id VARCHAR, traits JSON, computed JSON)   -- one row per profile: the universe of answers
 *   c_events(profile_id VARCHAR, type VARCHAR, event VARCHAR, ts BIGINT, properties JSON)   -- ts in ms
 *   c_identifiers(profile_id VARCHAR, type VARCHAR, value VARCHAR)
 *   c_memberships(profile_id VARCHAR, audience VARCHAR)           -- memberships as of T
 *   c_subscriptions(profile_id VARCHAR, grp VARCHAR, status VARCHAR)   -- 'subscribed' | 'unsubscribed'
 *   c_catalog_rows(catalog VARCHAR, key VARCHAR, row JSON)        -- (catalog, key) unique
 *
 * In PostgreSQL the JSON columns are JSONB.
 */
export const SQL_INPUTS = {
  profiles: 'c_profiles',
  events: 'c_events',
  identifiers: 'c_identifiers',
  memberships: 'c_memberships',
  subscriptions: 'c_subscriptions',
  catalogRows: 'c_catalog_rows',
} as const;
