import type { EventRecord, JsonValue } from '../conditions/model.js';
import { computeOf, isSqlTrait, windowOf, type Compute, type TraitDefinition } from './definition.js';
import { addToPartials, compareScalars, contributionOf, eventMatches, finiteOrNull, scalarKey, sumOfPartials, type TraitScalar } from './values.js';

/** One matching event's part in a trait: its instant, its value (null for kinds that read none), and how many times it counts. */
export interface Contribution {
  ts: number;
  v: TraitScalar | null;
  k: number;
}

/**
 * The oracle: a direct reading of an event trait over a profile's raw events as of `now`. Events after `now` are
 * ignored; `within: D` keeps the window (now - D, now]. See docs/computed-traits.md for each kind's value.
 */
export function traitReference(def: TraitDefinition, events: readonly EventRecord[], now: number): JsonValue {
  if (isSqlTrait(def)) throw new Error(`trait ${def.key} is an SQL trait: it has no evaluation over events`);
  const c = computeOf(def);
  const window = windowOf(def);
  const items: Contribution[] = [];
  for (const e of events) {
    if (e.timestamp > now || (window !== undefined && e.timestamp <= now - window) || !eventMatches(def, e)) continue;
    const v = contributionOf(c, e);
    if (v !== undefined) items.push({ ts: e.timestamp, v, k: 1 });
  }
  return aggregate(c, items, now);
}

/** The value of a trait over the contributions of the events in its window, as of `now`. */
export function aggregate(c: Compute, items: readonly Contribution[], now: number): JsonValue {
  const n = items.reduce((sum, item) => sum + item.k, 0);
  const numbers = () => items.map((item) => item.v as number);
  switch (c.kind) {
    case 'count':
      return n;
    case 'sum':
    case 'avg': {
      if (n === 0) return null;
      let partials: number[] = [];
      for (const item of items) for (let i = 0; i < item.k; i++) partials = addToPartials(partials, item.v as number);
      const sum = sumOfPartials(partials);
      return finiteOrNull(c.kind === 'sum' ? sum : sum / n);
    }
    case 'min':
      return n === 0 ? null : Math.min(...numbers());
    case 'max':
      return n === 0 ? null : Math.max(...numbers());
    case 'first':
    case 'last': {
      if (n === 0) return null;
      // The earliest (latest) event; at one instant, the least (greatest) value in the order of compareScalars.
      const order = (a: Contribution, b: Contribution) => a.ts - b.ts || compareScalars(a.v!, b.v!);
      const sorted = [...items].sort(order);
      return (c.kind === 'first' ? sorted[0] : sorted[sorted.length - 1]).v;
    }
    case 'since_first':
    case 'since_last': {
      if (n === 0) return null;
      const times = items.map((item) => item.ts);
      const at = c.kind === 'since_first' ? Math.min(...times) : Math.max(...times);
      return Math.floor((now - at) / c.unit);
    }
    case 'most_frequent':
    case 'unique':
    case 'unique_count': {
      const counts = new Map<string, { v: TraitScalar; n: number }>();
      for (const item of items) {
        const key = scalarKey(item.v!);
        counts.set(key, { v: item.v!, n: (counts.get(key)?.n ?? 0) + item.k });
      }
      // Only the `limit` first distinct values in the value order are considered (the cap of the streaming state).
      const kept = [...counts.values()].sort((a, b) => compareScalars(a.v, b.v)).slice(0, c.limit);
      if (c.kind === 'unique_count') return kept.length;
      if (kept.length === 0) return null;
      if (c.kind === 'unique') return kept.map((x) => x.v);
      // The highest count; a tie goes to the first value in the value order.
      return kept.reduce((best, x) => (x.n > best.n ? x : best)).v;
    }
  }
}
