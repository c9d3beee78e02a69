import type { NodeKind, StreamingState } from '../../node-kind.js';
import { catalogReference } from './reference.js';
import { CatalogNodeSchema, checkCatalog, type CatalogNode } from './schema.js';
import { catalogSql } from './sql.js';
import { catalogStreaming, type CatalogState } from './streaming.js';

export type { CatalogNode } from './schema.js';

export const catalogKind: NodeKind<CatalogNode, CatalogState & StreamingState> = {
  key: 'catalog',
  schema: () => CatalogNodeSchema,
  check: checkCatalog,
  reference: catalogReference,
  streaming: catalogStreaming,
  sql: catalogSql,
};
