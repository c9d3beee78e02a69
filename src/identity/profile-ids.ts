import { randomUUID } from 'node:crypto';

/**
 * A new profile id: a UUID in the version 7 layout (RFC 9562), whose first 48 bits are the creation time in
 * milliseconds and the rest random, so ids sort by creation. Every index keyed by profile id (identifiers by
 * profile, the timeline, trait sightings, account links) then receives new profiles at its end and recent
 * profiles near it, instead of at random pages of the whole index: a resolve batch dirties fewer pages
 * (docs/benchmarks.md, identity). The order is a locality hint, not a promise: ids made in one millisecond are in
 * random order, a clock stepping back breaks it, and ids issued before this scheme (random version 4 UUIDs) stay
 * valid. Nothing reads the time back out of an id.
 */
export function newProfileId(now: number): string {
  const time = Math.max(0, Math.floor(now)).toString(16).padStart(12, '0').slice(-12);
  // randomUUID() is `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`: keep its random bits and variant, replace the rest.
  const random = randomUUID();
  // join() makes one flat string (a template would make a rope of parts, larger in memory where ids are kept).
  return [time.slice(0, 8), '-', time.slice(8), '-7', random.slice(15)].join('');
}
