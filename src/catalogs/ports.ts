/** Catalog rows as the Store keeps them (embedded: src/storage/sqlite/catalog-store.ts). Synchronous on purpose. */
export interface CatalogRow {
  key: string;
  row: Record<string, unknown>;
  updatedAt: number;
}

export interface RowChange {
  key: string;
  before: Record<string, unknown> | undefined;
  after: Record<string, unknown> | undefined;
}

export interface CatalogStore {
  get(workspaceId: string, catalog: string, key: string): Record<string, unknown> | undefined;
  /** Upserts (row set) and deletes (row undefined) in one transaction; returns each row before and after. `within` runs inside that transaction (a throw rolls it back). */
  write(workspaceId: string, catalog: string, changes: { key: string; row: Record<string, unknown> | undefined }[], at: number, within?: (changes: RowChange[]) => void): RowChange[];
  /** Rows with a key after `after`, in key order. */
  page(workspaceId: string, catalog: string, after: string, limit: number): CatalogRow[];
  count(workspaceId: string, catalog: string): number;
  clear(workspaceId: string, catalog: string): number;
}
