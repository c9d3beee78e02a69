import type { GraphProfile } from './graph.js';
import type { Identifier } from './model.js';

interface Entry {
  /** The profile id, one string shared by every identifier that points at it. */
  id: string;
  age: number;
  /** The profile's identifiers as [type, value, type, value, ...]: type strings are shared, values are the map's keys. */
  identifiers: string[];
}

/**
 * One workspace's identifier-to-profile map, held in memory by the resolve stage between batches so a batch reads
 * no graph from the store (docs/profiles.md, "Resolution in memory"). It is a cache of the committed store, never
 * ahead of it: loaded whole from the store on first use, updated only after a batch has committed, and dropped
 * by the stage whenever anything else may have written the graph (its exclusive turn). After a restart it is
 * loaded again from the store, so a crash can never leave it disagreeing with what was committed.
 *
 * Kept small on purpose (the benchmark reports its heap per profile): one map per identifier type keyed by the
 * value string itself (no `type\0value` key strings, which would be a second copy of every value), and per
 * profile one small object with a flat array of its identifiers. No map by profile id: a profile is found
 * through any of its identifiers, and one whose identifiers all moved to another is garbage.
 */
export class ResidentGraph {
  private readonly byType = new Map<string, Map<string, Entry>>();
  private profiles = 0;
  private identifiers = 0;
  /** Only while loading: rows come in identifier order, not grouped by profile. */
  private loading: Map<string, Entry> | undefined = new Map();

  /** Adds one stored identifier row while loading (rows of one profile carry the same age). */
  load(profileId: string, age: number, type: string, value: string): void {
    const loading = this.loading!;
    let entry = loading.get(profileId);
    if (!entry) (loading.set(profileId, (entry = { id: profileId, age, identifiers: [] })), this.profiles++);
    this.attach(entry, type, value);
  }

  /** Ends loading (frees the map by profile id that loading needed). */
  loaded(): this {
    // Arrays grown by push keep spare capacity (17 slots at least): copies hold exactly what they need.
    for (const entry of this.loading!.values()) entry.identifiers = entry.identifiers.slice();
    this.loading = undefined;
    return this;
  }

  /** The profiles owning any of these identifiers, each with all its identifiers (what IdentityStore.slice answers). */
  slice(identifiers: Identifier[]): GraphProfile[] {
    const out = new Map<string, GraphProfile>();
    for (const i of identifiers) {
      const entry = this.owner(i);
      if (!entry || out.has(entry.id)) continue;
      const list: Identifier[] = [];
      for (let k = 0; k < entry.identifiers.length; k += 2) list.push({ type: entry.identifiers[k], value: entry.identifiers[k + 1] });
      out.set(entry.id, { id: entry.id, age: entry.age, identifiers: list });
    }
    return [...out.values()];
  }

  /**
   * Applies a committed batch: the batch's working graph's profiles (survivors, with all their identifiers) and
   * how many profiles its merges removed (their identifiers are among the survivors'). Within a batch a
   * profile's identifiers only grow, so an unchanged count means an unchanged profile.
   */
  update(profiles: GraphProfile[], removed: number): void {
    this.profiles -= removed;
    for (const p of profiles) {
      let entry: Entry | undefined;
      for (const i of p.identifiers) {
        const owner = this.owner(i);
        if (owner?.id === p.id) {
          entry = owner;
          break;
        }
      }
      if (entry && entry.identifiers.length === p.identifiers.length * 2) continue;
      if (!entry) {
        entry = { id: p.id, age: p.age, identifiers: [] };
        this.profiles++;
      }
      for (const i of p.identifiers) if (this.owner(i) !== entry) this.attach(entry, i.type, i.value);
      entry.identifiers = entry.identifiers.slice();
    }
  }

  get size(): { profiles: number; identifiers: number } {
    return { profiles: this.profiles, identifiers: this.identifiers };
  }

  private owner(i: Identifier): Entry | undefined {
    return this.byType.get(i.type)?.get(i.value);
  }

  private attach(entry: Entry, type: string, value: string): void {
    let values = this.byType.get(type);
    if (!values) this.byType.set(type, (values = new Map()));
    const before = values.get(value);
    if (before === undefined) this.identifiers++;
    values.set(value, entry);
    // The type string the map holds, so every identifier of a type shares one.
    entry.identifiers.push(typeOf(this.byType, type), value);
  }
}

function typeOf(byType: Map<string, unknown>, type: string): string {
  for (const t of byType.keys()) if (t === type) return t;
  return type;
}
