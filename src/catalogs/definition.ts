import { Type, type Static } from '@sinclair/typebox';

export const CATALOG_KIND = 'catalogs';

export const DefinitionKey = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$', description: 'Unique key (letters, digits, `_`, `.`, `-`).' });

/** A catalog: a keyed table of business data (products, stores, stock), the body of /api/v1/catalogs. */
export const CatalogBody = Type.Object(
  {
    key: DefinitionKey,
    name: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
    keyField: Type.String({ minLength: 1, description: 'Field of each row that holds its key (e.g. sku); string or number values, stored as strings.' }),
    schema: Type.Optional(
      Type.Object({}, { additionalProperties: true, description: 'JSON Schema (2020-12) every row must satisfy; CSV values are converted to the types it declares.' }),
    ),
  },
  { additionalProperties: false },
);
export type Catalog = Static<typeof CatalogBody>;
