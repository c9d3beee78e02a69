import { TandemError } from '../core/errors.js';
import type { EventRecord, JsonValue } from '../conditions/model.js';
import type { StreamingState } from '../conditions/node-kind.js';
import { earliest } from '../conditions/values.js';
import { computeOf, isSqlTrait, windowOf, type Compute, type EventTraitDefinition, type TraitDefinition } from './definition.js';
import type { TraitEvaluator } from './evaluator.js';
import { aggregate, type Contribution } from './reference.js';
import { addToPartials, compareScalars, contributionOf, eventMatches, finiteOrNull, scalarKey, sumOfPartials, type TraitScalar } from './values.js';

/**
 * The streaming evaluator of an event trait: a plain JSON state per profile, folded one event at a time, merged on
 * identity merges, read at any `now` no earlier than the events fed (the apply stage clamps future timestamps).
 *
 * State and its bound, all time (no `within`):
 *   count                        n                                   one number
 *   sum, avg                     { n, p }: count and exact partials  1 + a handful of numbers (values.ts addToPartials)
 *   min, max                     the extreme or null                 one number
 *   first, last                  [ts, value] or null                 one pair
 *   since_first, since_last      the earliest / latest ts or null    one number
 *   most_frequent                [[value, count]], the `limit` first distinct values in value order   <= limit pairs
 *   unique, unique_count         [value], the `limit` first distinct values in value order            <= limit values
 * A distinct value left out of the `limit` first can never come back in (the set of smaller values only grows), so
 * these states are exact for the capped definitions (reference.ts applies the same cap).
 *
 * State with `within: D`: the entries [ts, value, multiplicity] of the matching events that can still be in a
 * window, sorted by (ts, value). Entries at or before (newest ts - D) are pruned: every later `now` is at least the
 * newest ts, so they have left every window that can still be asked. Per kind:
 *   last, since_last             only the greatest entry (it leaves the window last)        1 entry
 *   min, max                     only entries no later, better entry dominates (a monotone queue)
 *   every other kind             every entry in (newest - D, newest]
 * and at most WINDOW_ENTRY_CAP entries in all cases: past it the oldest are dropped and the streaming value reads
 * only the newest WINDOW_ENTRY_CAP entries (a burst of more distinct matching events within one window; the batch
 * SQL stays exact and a backfill repairs the value).
 */
export const WINDOW_ENTRY_CAP = 1000;

type Entry = [number, TraitScalar | null, number];

/** The instants at which the value changes by the passage of time are integers (ms): windows exits and unit ticks. */
export function createTraitEvaluator(definition: TraitDefinition): TraitEvaluator<EventTraitDefinition> {
  if (isSqlTrait(definition)) {
    throw new TandemError('batch_only_trait', `trait ${definition.key} is an SQL trait: it is computed by its scheduled query, never in streaming`, 400, 'sql');
  }
  const def = definition;
  const c = computeOf(def);
  const window = windowOf(def);
  const kind = window === undefined ? allTime(c) : windowed(c, window);
  return {
    definition: def,
    key: def.key,
    init: kind.init,
    onEvent(state, event) {
      if (!eventMatches(def, event)) return state;
      const v = contributionOf(c, event);
      return v === undefined ? state : kind.add(state, event.timestamp, v);
    },
    merge: kind.merge,
    value: kind.value,
    nextChange: kind.nextChange,
  };
}

interface Kind {
  init(): StreamingState;
  add(state: StreamingState, ts: number, v: TraitScalar | null): StreamingState;
  merge(a: StreamingState, b: StreamingState): StreamingState;
  value(state: StreamingState, now: number): JsonValue;
  nextChange(state: StreamingState, now: number): number | undefined;
}

/** The first instant after `now` at which floor((t - at) / unit) steps up. */
const nextTick = (at: number, now: number, unit: number): number => at + (Math.floor((now - at) / unit) + 1) * unit;

const byValue = (a: TraitScalar | null, b: TraitScalar | null): number => (a === null || b === null ? 0 : compareScalars(a, b));

/** Keeps the `limit` first distinct values in value order, with their counts summed. */
function capCounts(pairs: [TraitScalar, number][], limit: number): [TraitScalar, number][] {
  const byKey = new Map<string, [TraitScalar, number]>();
  for (const [v, n] of pairs) {
    const key = scalarKey(v);
    const seen = byKey.get(key);
    byKey.set(key, [v, (seen?.[1] ?? 0) + n]);
  }
  return [...byKey.values()].sort((a, b) => compareScalars(a[0], b[0])).slice(0, limit);
}

function allTime(c: Compute): Kind {
  const nothing: Kind = { init: () => null, add: (s) => s, merge: (a) => a, value: () => null, nextChange: () => undefined };
  switch (c.kind) {
    case 'count':
      return { ...nothing, init: () => 0, add: (s) => (s as number) + 1, merge: (a, b) => (a as number) + (b as number), value: (s) => s as number };
    case 'sum':
    case 'avg': {
      type S = { n: number; p: number[] };
      return {
        ...nothing,
        init: () => ({ n: 0, p: [] }),
        add: (s, _ts, v) => ({ n: (s as S).n + 1, p: addToPartials((s as S).p, v as number) }),
        merge: (a, b) => ({ n: (a as S).n + (b as S).n, p: (b as S).p.reduce(addToPartials, (a as S).p) }),
        value(s) {
          const { n, p } = s as S;
          if (n === 0) return null;
          return finiteOrNull(c.kind === 'sum' ? sumOfPartials(p) : sumOfPartials(p) / n);
        },
      };
    }
    case 'min':
    case 'max':
    case 'since_first':
    case 'since_last': {
      const low = c.kind === 'min' || c.kind === 'since_first';
      const pick = (a: StreamingState, b: StreamingState): StreamingState =>
        a === null ? b : b === null ? a : low ? Math.min(a as number, b as number) : Math.max(a as number, b as number);
      const since = c.kind === 'since_first' || c.kind === 'since_last';
      return {
        ...nothing,
        add: (s, ts, v) => pick(s, since ? ts : (v as number)),
        merge: pick,
        value: (s, now) => (s === null ? null : since ? Math.floor((now - (s as number)) / c.unit) : (s as number)),
        nextChange: (s, now) => (s === null || !since ? undefined : nextTick(s as number, now, c.unit)),
      };
    }
    case 'first':
    case 'last': {
      type S = [number, TraitScalar] | null;
      const sign = c.kind === 'first' ? 1 : -1;
      const pick = (a: S, b: S): S => (a === null ? b : b === null ? a : sign * (a[0] - b[0] || compareScalars(a[1], b[1])) <= 0 ? a : b);
      return {
        ...nothing,
        add: (s, ts, v) => pick(s as S, [ts, v as TraitScalar]),
        merge: (a, b) => pick(a as S, b as S),
        value: (s) => (s === null ? null : (s as [number, TraitScalar])[1]),
      };
    }
    case 'most_frequent':
      return {
        ...nothing,
        init: () => [],
        add: (s, _ts, v) => capCounts([...(s as [TraitScalar, number][]), [v as TraitScalar, 1]], c.limit),
        merge: (a, b) => capCounts([...(a as [TraitScalar, number][]), ...(b as [TraitScalar, number][])], c.limit),
        value(s) {
          const pairs = s as [TraitScalar, number][];
          if (pairs.length === 0) return null;
          // Sorted by value, so keeping the first of equal counts is the documented tie-break.
          return pairs.reduce((best, x) => (x[1] > best[1] ? x : best))[0];
        },
      };
    case 'unique':
    case 'unique_count': {
      const cap = (values: TraitScalar[]) => capCounts(values.map((v) => [v, 1]), c.limit).map(([v]) => v);
      return {
        ...nothing,
        init: () => [],
        add: (s, _ts, v) => cap([...(s as TraitScalar[]), v as TraitScalar]),
        merge: (a, b) => cap([...(a as TraitScalar[]), ...(b as TraitScalar[])]),
        value: (s) => (c.kind === 'unique_count' ? (s as TraitScalar[]).length : (s as TraitScalar[]).length === 0 ? null : (s as TraitScalar[])),
      };
    }
  }
}

function windowed(c: Compute, window: number): Kind {
  const latestOnly = c.kind === 'last' || c.kind === 'since_last';
  const dominance = c.kind === 'min' ? 1 : c.kind === 'max' ? -1 : 0;

  function normalise(entries: Entry[]): Entry[] {
    if (entries.length === 0) return entries;
    const newest = Math.max(...entries.map((e) => e[0]));
    const merged = new Map<string, Entry>();
    for (const [ts, v, k] of entries) {
      if (ts <= newest - window) continue;
      const key = `${ts}:${v === null ? '' : scalarKey(v)}`;
      const seen = merged.get(key);
      merged.set(key, [ts, v, (seen?.[2] ?? 0) + k]);
    }
    let kept = [...merged.values()].sort((a, b) => a[0] - b[0] || byValue(a[1], b[1]));
    if (latestOnly) kept = [[...kept[kept.length - 1].slice(0, 2), 1] as Entry];
    if (dominance !== 0) {
      // Newest first: an entry survives only if it beats every entry at or after its instant.
      const out: Entry[] = [];
      let best: number | undefined;
      for (const [ts, v] of [...kept].sort((a, b) => b[0] - a[0] || dominance * byValue(a[1], b[1]))) {
        if (best === undefined || dominance * ((v as number) - best) < 0) {
          out.push([ts, v, 1]);
          best = v as number;
        }
      }
      kept = out.reverse();
    }
    return kept.length > WINDOW_ENTRY_CAP ? kept.slice(kept.length - WINDOW_ENTRY_CAP) : kept;
  }

  const inWindow = (entries: Entry[], now: number): Contribution[] =>
    entries.filter((e) => e[0] > now - window).map(([ts, v, k]) => ({ ts, v, k }));
  const valueAt = (state: StreamingState, now: number): JsonValue => aggregate(c, inWindow(state as Entry[], now), now);

  return {
    init: () => [],
    add: (s, ts, v) => normalise([...(s as Entry[]), [ts, v, 1]]),
    merge: (a, b) => normalise([...(a as Entry[]), ...(b as Entry[])]),
    value: valueAt,
    nextChange(state, now) {
      const entries = state as Entry[];
      // A count drops whenever an entry leaves: the first exit is the answer.
      if (c.kind === 'count') return earliest(...entries.map((e) => e[0] + window).filter((x) => x > now));
      const current = JSON.stringify(valueAt(state, now));
      // Between two candidate instants (an entry leaving the window, a unit tick of since_*) the value is constant.
      let t = now;
      for (;;) {
        const exit = earliest(...entries.map((e) => e[0] + window).filter((x) => x > t));
        let tick: number | undefined;
        if (c.kind === 'since_first' || c.kind === 'since_last') {
          const inside = inWindow(entries, t).map((e) => e.ts);
          if (inside.length > 0) tick = nextTick(c.kind === 'since_first' ? Math.min(...inside) : Math.max(...inside), t, c.unit);
        }
        const next = earliest(exit, tick);
        if (next === undefined) return undefined;
        if (JSON.stringify(valueAt(state, next)) !== current) return next;
        t = next;
      }
    },
  };
}
