import { Type, type Static } from '@sinclair/typebox';
import { checkComparison, RelativeOperators } from '../../comparison.js';
import type { NodeProblem } from '../../node-kind.js';
import { FieldPath, Name } from '../../schema-parts.js';

/** A filter on a field of the catalog row: `{ field: stock, gt: 0 }`. */
export const RowFilterSchema = Type.Object({ field: FieldPath, ...RelativeOperators }, { additionalProperties: false });
export type RowFilter = Static<typeof RowFilterSchema>;

/**
 * Where the row's key comes from: a trait of the profile (`{ trait: favorite_store }`), or a property of the
 * profile's most recent event of a name that carries it as a string (`{ last_event: Product Viewed, property: sku }`).
 * Among several such events at the same instant, the greatest key (by code point) wins, so every evaluator picks the same.
 */
export const KeyFromSchema = Type.Union(
  [
    Type.Object({ trait: FieldPath }, { additionalProperties: false }),
    Type.Object({ last_event: Name, property: FieldPath }, { additionalProperties: false }),
  ],
  { 'x-expected': '{ trait: <path> } or { last_event: <event name>, property: <path> }' },
);
export type KeyFrom = Static<typeof KeyFromSchema>;

/**
 * `{ catalog: products, key_from: { last_event: Product Viewed, property: sku }, where: [{ field: stock, gt: 0 }] }`:
 * the row exists and every filter holds on it. Catalogs are read as they are at evaluation (current business data);
 * a key that is not a string, or a row that does not exist, makes the condition false.
 */
export const CatalogNodeSchema = Type.Object(
  {
    catalog: Name,
    key_from: KeyFromSchema,
    where: Type.Optional(Type.Array(RowFilterSchema, { 'x-expected': 'a list of row filters' })),
  },
  { additionalProperties: false, description: 'A business-data row looked up by a key from the profile or its last event satisfies filters.' },
);
export type CatalogNode = Static<typeof CatalogNodeSchema>;

export function checkCatalog(node: CatalogNode): NodeProblem | undefined {
  for (const [i, filter] of (node.where ?? []).entries()) {
    const problem = checkComparison(filter, `where[${i}]`);
    if (problem) return problem;
  }
  return undefined;
}
