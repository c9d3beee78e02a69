/** Forward-only migrations of the catalog tables in store.db (component `catalog`). Append; never edit a released entry. */
export const CATALOG_MIGRATIONS: readonly string[] = [
  `CREATE TABLE catalog_rows (
     workspace_id TEXT NOT NULL, catalog TEXT NOT NULL, key TEXT NOT NULL, row TEXT NOT NULL, updated_at INTEGER NOT NULL,
     PRIMARY KEY (workspace_id, catalog, key)
   ) WITHOUT ROWID;`,
];
