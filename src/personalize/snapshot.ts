import type { Sqlite } from '../storage/sqlite/database.js';

/**
 * What the front thread reads from store.db and may keep between personalize calls (catalog rows, the identity
 * rules), kept only while no other connection has committed: `PRAGMA data_version` on the front's own connection
 * changes when another connection (the core thread, the database's one writer) commits anything. `refresh()` at
 * the start of every call drops every kept value after any commit, so a row changed on the core (a stock level, a
 * setting) is read again by the very next call, with no message to miss between the threads.
 *
 * Any commit counts, the front's own decision-log writes too (the core commits them): what is kept lives between
 * two commits, a few dozen milliseconds under load (the decision writes go every `writeDelayMs`), which is enough
 * for the rows every call reads (a catalog's stock for the offers of a decision point, the weather per region).
 */
export class SnapshotCache {
  private readonly dataVersion: { get(): unknown };
  private version: number | undefined;
  private readonly maps: Map<string, unknown>[] = [];

  constructor(db: Sqlite, private readonly limit = 10_000) {
    this.dataVersion = db.prepare('PRAGMA data_version').pluck();
  }

  /** Drops what is kept when another connection has committed since the last refresh. */
  refresh(): void {
    const v = Number(this.dataVersion.get());
    if (v === this.version) return;
    this.version = v;
    for (const m of this.maps) m.clear();
  }

  /**
   * A map emptied on every change seen by refresh (and when it holds `limit` entries). Its values are shared by
   * the calls that read them: never change one.
   */
  map<V>(): { get(key: string, read: () => V): V; delete(key: string): void; readonly size: number } {
    const m = new Map<string, V>();
    this.maps.push(m as Map<string, unknown>);
    const limit = this.limit;
    return {
      get(key, read) {
        if (m.has(key)) return m.get(key) as V;
        const value = read();
        if (m.size >= limit) m.clear();
        m.set(key, value);
        return value;
      },
      delete(key) {
        m.delete(key);
      },
      get size() {
        return m.size;
      },
    };
  }
}
