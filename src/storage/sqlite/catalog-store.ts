import type { CatalogRow, CatalogStore } from '../../catalogs/ports.js';
import { migrate, type Sqlite } from './database.js';
import { CATALOG_MIGRATIONS } from './catalog-schema.js';

/** Catalog rows in store.db: synchronous, because condition evaluation looks rows up synchronously. */
export function openSqliteCatalogStore(db: Sqlite): CatalogStore {
  migrate(db, 'catalog', CATALOG_MIGRATIONS);
  const s = {
    get: db.prepare('SELECT row FROM catalog_rows WHERE workspace_id = ? AND catalog = ? AND key = ?').pluck(),
    put: db.prepare(
      `INSERT INTO catalog_rows (workspace_id, catalog, key, row, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (workspace_id, catalog, key) DO UPDATE SET row = excluded.row, updated_at = excluded.updated_at`,
    ),
    del: db.prepare('DELETE FROM catalog_rows WHERE workspace_id = ? AND catalog = ? AND key = ?'),
    page: db.prepare('SELECT key, row, updated_at FROM catalog_rows WHERE workspace_id = ? AND catalog = ? AND key > ? ORDER BY key LIMIT ?'),
    count: db.prepare('SELECT COUNT(*) FROM catalog_rows WHERE workspace_id = ? AND catalog = ?').pluck(),
    clear: db.prepare('DELETE FROM catalog_rows WHERE workspace_id = ? AND catalog = ?'),
  };
  const get = (ws: string, catalog: string, key: string) => {
    const text = s.get.get(ws, catalog, key) as string | undefined;
    return text === undefined ? undefined : (JSON.parse(text) as Record<string, unknown>);
  };
  return {
    get,
    write(ws, catalog, changes, at, within) {
      return db.transaction(() => {
        const out = changes.map((c) => {
          const before = get(ws, catalog, c.key);
          if (c.row === undefined) s.del.run(ws, catalog, c.key);
          else s.put.run(ws, catalog, c.key, JSON.stringify(c.row), at);
          return { key: c.key, before, after: c.row };
        });
        within?.(out);
        return out;
      })();
    },
    page(ws, catalog, after, limit) {
      return (s.page.all(ws, catalog, after, limit) as { key: string; row: string; updated_at: number }[]).map(
        (r): CatalogRow => ({ key: r.key, row: JSON.parse(r.row) as Record<string, unknown>, updatedAt: r.updated_at }),
      );
    },
    count: (ws, catalog) => s.count.get(ws, catalog) as number,
    clear: (ws, catalog) => s.clear.run(ws, catalog).changes,
  };
}
