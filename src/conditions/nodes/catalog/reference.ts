import { compareValue, readComparison } from '../../comparison.js';
import type { CatalogLookup, EventRecord, ProfileView, ReferenceInput } from '../../model.js';
import { compareCodePoints, pathSegments, valueAt } from '../../values.js';
import type { CatalogNode, RowFilter } from './schema.js';

/** The key an event offers, if it is the named event and carries the property as a string. */
export function eventKey(node: CatalogNode, event: EventRecord): string | undefined {
  if (!('last_event' in node.key_from) || event.event !== node.key_from.last_event) return undefined;
  const key = valueAt(event.properties, pathSegments(node.key_from.property));
  return typeof key === 'string' ? key : undefined;
}

/** Later wins; at the same instant the greater key wins. */
export const isLater = (a: { ts: number; key: string }, b: { ts: number; key: string }): boolean =>
  a.ts > b.ts || (a.ts === b.ts && compareCodePoints(a.key, b.key) > 0);

export function traitKey(node: CatalogNode, profile: ProfileView): string | undefined {
  if (!('trait' in node.key_from)) return undefined;
  const key = valueAt(profile.traits, pathSegments(node.key_from.trait));
  return typeof key === 'string' ? key : undefined;
}

export function rowMatches(node: CatalogNode, key: string | undefined, catalogs: CatalogLookup, now: number): boolean {
  if (key === undefined) return false;
  const row = catalogs.get(node.catalog, key);
  if (row === undefined) return false;
  return (node.where ?? []).every((filter: RowFilter) => compareValue(valueAt(row, pathSegments(filter.field)), readComparison(filter), now));
}

export function catalogReference(node: CatalogNode, input: ReferenceInput): boolean {
  let latest: { ts: number; key: string } | undefined;
  if ('last_event' in node.key_from) {
    for (const event of input.events) {
      const key = eventKey(node, event);
      if (key === undefined || event.timestamp > input.now) continue;
      const candidate = { ts: event.timestamp, key };
      if (latest === undefined || isLater(candidate, latest)) latest = candidate;
    }
  }
  const key = 'trait' in node.key_from ? traitKey(node, input.profile) : latest?.key;
  return rowMatches(node, key, input.catalogs, input.now);
}
