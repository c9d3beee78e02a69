import { identifierKey, type Identifier } from './model.js';

/** A profile as the resolver sees it: its age (the id of the event that created it) and its identifiers. */
export interface GraphProfile {
  id: string;
  age: number;
  identifiers: Identifier[];
}

interface Node {
  id: string;
  age: number;
  byType: Map<string, Set<string>>;
}

/**
 * The part of the identity graph a batch of events can touch, held in memory while the batch resolves: every
 * profile that owns one of the batch's identifiers, with all of that profile's identifiers (limits are checked
 * against the whole profile). Profiles created or merged during the batch are kept here too.
 */
export class WorkingGraph {
  private readonly owners = new Map<string, string>();
  private readonly nodes = new Map<string, Node>();

  constructor(profiles: Iterable<GraphProfile> = []) {
    for (const p of profiles) {
      this.nodes.set(p.id, { id: p.id, age: p.age, byType: new Map() });
      for (const i of p.identifiers) this.attach(p.id, i);
    }
  }

  ownerOf(identifier: Identifier): string | undefined {
    return this.owners.get(identifierKey(identifier));
  }

  age(profileId: string): number {
    return this.node(profileId).age;
  }

  /** The profile's identifiers grouped by type. */
  identifiersOf(profileId: string): ReadonlyMap<string, ReadonlySet<string>> {
    return this.node(profileId).byType;
  }

  create(id: string, age: number): void {
    if (this.nodes.has(id)) throw new Error(`profile id ${id} was issued twice`);
    this.nodes.set(id, { id, age, byType: new Map() });
  }

  attach(profileId: string, identifier: Identifier): void {
    const node = this.node(profileId);
    let values = node.byType.get(identifier.type);
    if (!values) node.byType.set(identifier.type, (values = new Set()));
    values.add(identifier.value);
    this.owners.set(identifierKey(identifier), profileId);
  }

  /** Moves every identifier of `loser` to `winner`; the loser leaves the graph. */
  merge(winner: string, loser: string): void {
    for (const [type, values] of this.node(loser).byType) for (const value of values) this.attach(winner, { type, value });
    this.nodes.delete(loser);
  }

  /** The profiles in the graph (survivors of its merges) with their ages and identifiers. */
  profiles(): GraphProfile[] {
    return [...this.nodes.values()].map((n) => ({ id: n.id, age: n.age, identifiers: [...n.byType].flatMap(([type, values]) => [...values].map((value) => ({ type, value }))) }));
  }

  /** Partition of all identifiers into profiles (for tests and simulation). */
  partition(): Identifier[][] {
    return [...this.nodes.values()].map((n) => [...n.byType].flatMap(([type, values]) => [...values].map((value) => ({ type, value }))));
  }

  private node(id: string): Node {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`profile ${id} is not in the working graph`);
    return n;
  }
}
