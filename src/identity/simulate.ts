import type { Message } from '../collect/message.js';
import { WorkingGraph } from './graph.js';
import { extractIdentity } from './identifiers.js';
import { identifierKey, type Identifier } from './model.js';
import { resolveEvent } from './resolver.js';
import type { IdentityRules } from './rules.js';

/**
 * Rule simulation: replays a sample of history through the pure resolver twice, over in-memory graphs (the real
 * graph is never read or written), once with the rules in force and once with candidate rules, and compares the
 * two partitions of the sample's events into profiles.
 *
 * Both sides replay the same sample, so a difference comes from the rules alone: comparing the candidate with the
 * stored profiles instead would report every profile joined by an event outside the sample as a split.
 */

export interface SimulatedEvent {
  id: number;
  message: Message;
}

/** One profile of a side of an affected group. */
export interface SimulatedProfile {
  /** Stored profiles the profile's events belong to today (empty for events not resolved yet). */
  profiles: string[];
  identifiers: Identifier[];
  /** Ids of the sample's events in this profile. */
  events: number[];
}

export interface AffectedGroup {
  /**
   * merge: several current profiles become one; split: one becomes several; identifiers: the same events but not
   * the same identifiers (an identifier left out or kept); regroup: anything else.
   */
  change: 'merge' | 'split' | 'identifiers' | 'regroup';
  current: SimulatedProfile[];
  candidate: SimulatedProfile[];
}

export interface SimulationReport {
  events: number;
  current: { profiles: number; conflicts: number };
  candidate: { profiles: number; conflicts: number };
  /** Current profiles whose events form exactly one candidate profile, with nothing else and the same identifiers. */
  unchanged: number;
  /** Current profiles with the same events under the candidate rules but other identifiers. */
  identifiersChanged: number;
  /** profiles: current profiles that would join another; into: candidate profiles formed by such joins. */
  merges: { profiles: number; into: number };
  /** profiles: current profiles whose events would spread over several; into: the candidate profiles they give. */
  splits: { profiles: number; into: number };
  /** Number of affected groups (connected sets of changed profiles); `affected` holds the first of them. */
  affectedGroups: number;
  affected: AffectedGroup[];
}

/** One replay of the sample with one set of rules. */
class Replay {
  private readonly graph = new WorkingGraph();
  private readonly profileAt = new Map<number, string>();
  private readonly mergedInto = new Map<string, string>();
  private next = 0;
  conflicts = 0;

  constructor(readonly rules: IdentityRules) {}

  add(event: SimulatedEvent): void {
    const r = resolveEvent(this.graph, extractIdentity(event.id, event.message, this.rules), this.rules, () => `s${++this.next}`);
    for (const m of r.merges) this.mergedInto.set(m.loser, m.winner);
    if (r.conflict) this.conflicts++;
    if (r.profileId !== null) this.profileAt.set(event.id, r.profileId);
  }

  /** The surviving simulated profile of each resolved event. */
  partition(): Map<number, string> {
    const out = new Map<number, string>();
    for (const [eventId, at] of this.profileAt) out.set(eventId, this.survivor(at));
    return out;
  }

  identifiers(profile: string): Identifier[] {
    return [...this.graph.identifiersOf(profile)]
      .sort(([a], [b]) => this.rules.rank(a) - this.rules.rank(b) || (a < b ? -1 : a > b ? 1 : 0))
      .flatMap(([type, values]) => [...values].sort().map((value) => ({ type, value })));
  }

  private survivor(profile: string): string {
    let p = profile;
    for (let next = this.mergedInto.get(p); next !== undefined; next = this.mergedInto.get(p)) p = next;
    return p;
  }
}

/** Feed the sample's events in id order with add(), then ask for the report. */
export class Simulation {
  private readonly current: Replay;
  private readonly candidate: Replay;
  private count = 0;

  constructor(currentRules: IdentityRules, candidateRules: IdentityRules) {
    this.current = new Replay(currentRules);
    this.candidate = new Replay(candidateRules);
  }

  add(event: SimulatedEvent): void {
    this.count++;
    this.current.add(event);
    this.candidate.add(event);
  }

  /**
   * @param stored the stored profile of each event, to name the real profiles behind each simulated one
   * @param sampleSize how many affected groups to describe
   */
  report(stored: ReadonlyMap<number, string> = new Map(), sampleSize = 20): SimulationReport {
    const cur = this.current.partition();
    const cand = this.candidate.partition();
    // Nodes of a bipartite graph: 'c' + current profile, 'k' + candidate profile; each event is an edge.
    const eventsOf = new Map<string, number[]>();
    const neighbours = new Map<string, Set<string>>();
    const node = (n: string) => {
      if (!eventsOf.has(n)) (eventsOf.set(n, []), neighbours.set(n, new Set()));
    };
    const eventIds = [...new Set([...cur.keys(), ...cand.keys()])].sort((a, b) => a - b);
    for (const id of eventIds) {
      const c = cur.get(id);
      const k = cand.get(id);
      if (c !== undefined) (node(`c${c}`), eventsOf.get(`c${c}`)!.push(id));
      if (k !== undefined) (node(`k${k}`), eventsOf.get(`k${k}`)!.push(id));
      if (c !== undefined && k !== undefined) (neighbours.get(`c${c}`)!.add(`k${k}`), neighbours.get(`k${k}`)!.add(`c${c}`));
    }
    const currentNodes = [...eventsOf.keys()].filter((n) => n.startsWith('c'));
    const candidateNodes = [...eventsOf.keys()].filter((n) => n.startsWith('k'));

    const sameIdentifiers = (c: string, k: string) =>
      JSON.stringify(this.current.identifiers(c.slice(1)).map(identifierKey).sort()) === JSON.stringify(this.candidate.identifiers(k.slice(1)).map(identifierKey).sort());
    let unchanged = 0;
    let identifiersChanged = 0;
    const merges = { profiles: 0, into: 0 };
    const splits = { profiles: 0, into: 0 };
    for (const c of currentNodes) {
      const ks = neighbours.get(c)!;
      if (ks.size > 1) (splits.profiles++, (splits.into += ks.size));
      if ([...ks].some((k) => neighbours.get(k)!.size > 1)) merges.profiles++;
      else if (ks.size === 1 && eventsOf.get([...ks][0])!.length === eventsOf.get(c)!.length) {
        if (sameIdentifiers(c, [...ks][0])) unchanged++;
        else identifiersChanged++;
      }
    }
    for (const k of candidateNodes) if (neighbours.get(k)!.size > 1) merges.into++;

    // Affected groups: connected components that are not a plain one-to-one pair with the same events.
    const seen = new Set<string>();
    const groups: { nodes: string[]; first: number }[] = [];
    for (const start of [...eventsOf.keys()].sort((a, b) => eventsOf.get(a)![0] - eventsOf.get(b)![0])) {
      if (seen.has(start)) continue;
      const nodes: string[] = [];
      const stack = [start];
      seen.add(start);
      while (stack.length) {
        const n = stack.pop()!;
        nodes.push(n);
        for (const m of neighbours.get(n)!) if (!seen.has(m)) (seen.add(m), stack.push(m));
      }
      const cs = nodes.filter((n) => n.startsWith('c'));
      const ks = nodes.filter((n) => n.startsWith('k'));
      const same = cs.length === 1 && ks.length === 1 && eventsOf.get(cs[0])!.length === eventsOf.get(ks[0])!.length;
      if (!same || !sameIdentifiers(cs[0], ks[0])) groups.push({ nodes, first: eventsOf.get(start)![0] });
    }
    groups.sort((a, b) => a.first - b.first);

    const describe = (n: string): SimulatedProfile => {
      const events = eventsOf.get(n)!;
      const replay = n.startsWith('c') ? this.current : this.candidate;
      const profiles = [...new Set(events.map((e) => stored.get(e)).filter((p): p is string => p !== undefined))].sort();
      return { profiles, identifiers: replay.identifiers(n.slice(1)), events };
    };
    const byFirstEvent = (a: string, b: string) => eventsOf.get(a)![0] - eventsOf.get(b)![0];
    const affected = groups.slice(0, sampleSize).map(({ nodes }): AffectedGroup => {
      const cs = nodes.filter((n) => n.startsWith('c')).sort(byFirstEvent);
      const ks = nodes.filter((n) => n.startsWith('k')).sort(byFirstEvent);
      const change =
        cs.length > 1 && ks.length === 1 ? 'merge'
        : cs.length === 1 && ks.length > 1 ? 'split'
        : cs.length === 1 && ks.length === 1 && eventsOf.get(cs[0])!.length === eventsOf.get(ks[0])!.length ? 'identifiers'
        : 'regroup';
      return { change, current: cs.map(describe), candidate: ks.map(describe) };
    });

    return {
      events: this.count,
      current: { profiles: currentNodes.length, conflicts: this.current.conflicts },
      candidate: { profiles: candidateNodes.length, conflicts: this.candidate.conflicts },
      unchanged,
      identifiersChanged,
      merges,
      splits,
      affectedGroups: groups.length,
      affected,
    };
  }
}

/** Simulates candidate rules over events given in id order (pure; the route feeds stored history page by page). */
export function simulateRules(events: Iterable<SimulatedEvent>, currentRules: IdentityRules, candidateRules: IdentityRules, stored?: ReadonlyMap<number, string>, sampleSize?: number): SimulationReport {
  const s = new Simulation(currentRules, candidateRules);
  for (const e of events) s.add(e);
  return s.report(stored, sampleSize);
}
