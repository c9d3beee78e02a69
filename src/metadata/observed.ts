import type { StoredEvent } from '../core/ports/store.js';
import { HyperLogLog, murmur3, murmur3Number } from './hyperloglog.js';

/**
 * The observed schema (docs/metadata.md): what the data actually contains, per source, event and property path,
 * kept by sketches in memory as events go by (no scans): types with counts, first and last seen (event time),
 * volume per day, null rate, a distinct-count estimate (HyperLogLog) and a few sample values (reservoir). Counts
 * are exact; the sketches take every occurrence of a field up to SKETCH_ALL, then about one in SKETCH_EVERY.
 *
 * An entity is one (workspace, source, message type, event) — the event name for track calls, the message type for
 * the others — or the computed traits of a workspace (type `computed`). Its fields are a tree that mirrors the
 * values: `address.city`, and `items[]` for the elements of an array (`items[].price`).
 */

export const VALUE_TYPES = ['string', 'integer', 'number', 'boolean', 'null', 'object', 'array'] as const;
export type ValueType = (typeof VALUE_TYPES)[number];
const T_STRING = 0, T_INTEGER = 1, T_NUMBER = 2, T_BOOLEAN = 3, T_NULL = 4, T_OBJECT = 5, T_ARRAY = 6;

/** Samples kept per field (the API shows the distinct ones). */
export const SAMPLES = 8;
const SAMPLE_CHARS = 120;
/** Beyond these, fields of an entity are not tracked (dynamic keys would grow the tree without bound). */
export const MAX_FIELDS_PER_ENTITY = 1000;
export const MAX_DEPTH = 8;
/** The elements of an array whose contents are walked per message; later elements count for `x[]` only. */
export const MAX_ELEMENTS = 8;
/** Every scalar occurrence of a field feeds its sketches (HLL, samples) up to this many ... */
export const SKETCH_ALL = 256;
/** ... then one occurrence in this many, on average (random gaps of 1 to 2 × SKETCH_EVERY - 1). */
export const SKETCH_EVERY = 16;
/** The per-field cache of an object's keys in order (the shape of the last messages), up to this many keys. */
const SHAPE_KEYS = 64;
/** Days counted in a field's array before they reach its `days` map (a window that follows the data). */
const PENDING_DAYS = 64;
const HLL_P = 12;
const DAY = 86_400_000;
export const ARRAY_SEGMENT = '[]';

export interface FieldNode {
  /** Path segments from the entity root (`['items', '[]', 'price']`); empty for the root. */
  segments: string[];
  path: string;
  /** Occurrences by type, in VALUE_TYPES order (exact). */
  types: number[];
  firstSeen: number;
  lastSeen: number;
  days: Map<number, number>;
  changedDays: Set<number>;
  /** Counts not yet in `days`, for the PENDING_DAYS days from `pendingBase` (settleDay moves them). */
  pendingBase: number;
  pending: Int32Array | undefined;
  hll?: HyperLogLog;
  samples: string[];
  /** Scalar occurrences that fed the sketches (HLL and samples): all of the first SKETCH_ALL, then about one in SKETCH_EVERY. */
  sampled: number;
  /** Scalar occurrences (string, integer, number, boolean), exact. */
  scalars: number;
  /** Scalar occurrences still to pass before the next one feeds the sketches, and the gap that one closes. */
  skip: number;
  gap: number;
  children: Map<string, FieldNode>;
  /** The keys of this object in the order last seen and their child fields (undefined: not tracked): a walk of the same shape needs no lookups. */
  shapeKeys: string[];
  shapeFields: (FieldNode | undefined)[];
  dirty: boolean;
}

export interface EntityNode {
  workspaceId: string;
  sourceId: string;
  type: string;
  event: string;
  /** The entity itself: types.object counts its messages. */
  root: FieldNode;
  fields: number;
  /** Field occurrences not tracked because of MAX_FIELDS_PER_ENTITY or MAX_DEPTH. */
  untracked: number;
}

export const pathOf = (segments: string[]): string => segments.reduce((p, s) => (s === ARRAY_SEGMENT ? `${p}[]` : p ? `${p}.${s}` : s), '');
export const entityId = (workspaceId: string, sourceId: string, type: string, event: string): string => `${workspaceId}\u0000${sourceId}\u0000${type}\u0000${event}`;

export function newField(segments: string[]): FieldNode {
  return {
    segments, path: pathOf(segments), types: [0, 0, 0, 0, 0, 0, 0], firstSeen: Infinity, lastSeen: -Infinity, days: new Map(), changedDays: new Set(), pendingBase: 0, pending: undefined,
    samples: [], sampled: 0, scalars: 0, skip: 0, gap: 1, children: new Map(), shapeKeys: [], shapeFields: [], dirty: false,
  };
}

export const totalOf = (f: FieldNode): number => f.types.reduce((a, b) => a + b, 0);
export const scalarsOf = (f: FieldNode): number => f.types[T_STRING] + f.types[T_INTEGER] + f.types[T_NUMBER] + f.types[T_BOOLEAN];

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The digit at i, or a large negative number for any other character. */
function digit(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >>> 0 > 9 ? -100_000 : c;
}

/**
 * Milliseconds of an ISO 8601 UTC timestamp as the collector writes them (`2026-03-15T12:00:00.000Z`), read digit
 * by digit (a tenth of Date.parse's cost); any other form goes to Date.parse.
 */
export function parseTimestamp(s: string): number {
  if (s.length !== 24 || s.charCodeAt(23) !== 90 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58 || s.charCodeAt(19) !== 46) return Date.parse(s);
  const y = digit(s, 0) * 1000 + digit(s, 1) * 100 + digit(s, 2) * 10 + digit(s, 3);
  const mo = digit(s, 5) * 10 + digit(s, 6);
  const d = digit(s, 8) * 10 + digit(s, 9);
  const h = digit(s, 11) * 10 + digit(s, 12);
  const mi = digit(s, 14) * 10 + digit(s, 15);
  const sec = digit(s, 17) * 10 + digit(s, 18);
  const ms = digit(s, 20) * 100 + digit(s, 21) * 10 + digit(s, 22);
  // A character that is not a digit makes its number negative.
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 || ms < 0) return Date.parse(s);
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (d > (mo === 2 && leap ? 29 : MONTH_DAYS[mo - 1])) return Date.parse(s);
  return daysFromCivil(y, mo, d) * DAY + h * 3_600_000 + mi * 60_000 + sec * 1000 + ms;
}

/**
 * The distinct-count estimate of a field. While every scalar occurrence fed the HLL, its estimate. Once sketching
 * is sampled, the HLL holds the `d` distinct values among the `r` sampled occurrences of `n`; the estimate is the
 * D that r uniform draws from D equally frequent values would show d of (D(1 - (1 - 1/D)^r) = d, the
 * method-of-moments estimator of Haas, Naughton, Seshadri and Stokes 1995), capped at n. It is right for
 * values of equal frequency (ids, and few values seen many times) and low for skewed ones.
 */
export function distinctOf(f: Pick<FieldNode, 'hll' | 'sampled' | 'types'>): number {
  if (!f.hll) return 0;
  const d = f.hll.estimate();
  const n = scalarsOf(f as FieldNode);
  return scaleDistinct(d, f.sampled, n);
}

/** D such that D(1 - (1 - 1/D)^r) = d, in [d, n]; d itself when r covers all n occurrences. */
export function scaleDistinct(d: number, r: number, n: number): number {
  if (r >= n || d <= 0) return d;
  if (d >= r) return n;
  const expected = (D: number) => -D * Math.expm1(r * Math.log1p(-1 / D));
  if (expected(n) <= d) return n;
  let lo = Math.max(d, 1);
  let hi = n;
  for (let i = 0; i < 60 && hi - lo > 1e-6 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (expected(mid) < d) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** What stays in memory between flushes: every entity of every workspace (loaded from the store at start). */
export class ObservedSchema {
  readonly entities = new Map<string, EntityNode>();
  /** workspace -> source -> message type -> event name -> entity (no key string built per event). */
  private readonly index = new Map<string, Map<string, Map<string, Map<string, EntityNode>>>>();
  private readonly dirtyEntities = new Set<EntityNode>();
  private lastWorkspace: string | undefined;
  private lastSource: string | undefined;
  private lastByType: Map<string, Map<string, EntityNode>> | undefined;
  private seed = 0x2545f491;

  /** Observes stored events (the events stage's listener): a walk of each message's properties or traits. */
  observe(events: StoredEvent[]): void {
    for (const e of events) {
      const m = e.message;
      const at = typeof m.timestamp === 'string' ? parseTimestamp(m.timestamp) : NaN;
      if (Number.isNaN(at)) continue;
      const entity = this.entity(e.workspaceId, e.sourceId, m.type, m.type === 'track' ? (m.event ?? '') : m.type);
      const body = m.type === 'identify' || m.type === 'group' ? m.traits : m.type === 'alias' ? undefined : m.properties;
      const day = Math.floor(at / DAY);
      if (body === undefined || body === null) this.count(entity, entity.root, T_OBJECT, at, day);
      else this.record(entity, entity.root, body, at, day, 0);
    }
  }

  /** Observes computed-trait values as the apply stage commits them (undefined: the value was removed). */
  observeComputed(workspaceId: string, key: string, value: unknown, at: number): void {
    const entity = this.entity(workspaceId, '', 'computed', '');
    const day = Math.floor(at / DAY);
    this.count(entity, entity.root, T_OBJECT, at, day);
    let f = entity.root.children.get(key);
    if (!f) {
      f = newField([key]);
      entity.root.children.set(key, f);
      entity.fields++;
    }
    this.record(entity, f, value === undefined ? null : value, at, day, 1);
  }

  entity(workspaceId: string, sourceId: string, type: string, event: string): EntityNode {
    // Events of a batch mostly share their workspace and source: remember the last pair's map.
    let byType = this.lastByType;
    if (workspaceId !== this.lastWorkspace || sourceId !== this.lastSource) {
      let bySource = this.index.get(workspaceId);
      if (!bySource) this.index.set(workspaceId, (bySource = new Map()));
      byType = bySource.get(sourceId);
      if (!byType) bySource.set(sourceId, (byType = new Map()));
      this.lastWorkspace = workspaceId;
      this.lastSource = sourceId;
      this.lastByType = byType;
    }
    let byEvent = byType!.get(type);
    if (!byEvent) byType!.set(type, (byEvent = new Map()));
    let entity = byEvent.get(event);
    if (!entity) {
      entity = { workspaceId, sourceId, type, event, root: newField([]), fields: 0, untracked: 0 };
      byEvent.set(event, entity);
      this.entities.set(entityId(workspaceId, sourceId, type, event), entity);
    }
    return entity;
  }

  /** Entities with changes since the last call (their dirty fields carry `dirty` and `changedDays`). */
  takeDirty(): EntityNode[] {
    const out = [...this.dirtyEntities];
    this.dirtyEntities.clear();
    return out;
  }

  private count(entity: EntityNode, f: FieldNode, type: number, at: number, day: number): void {
    f.types[type]++;
    if (at < f.firstSeen) f.firstSeen = at;
    if (at > f.lastSeen) f.lastSeen = at;
    const i = day - f.pendingBase;
    if (f.pending !== undefined && i >= 0 && i < PENDING_DAYS) f.pending[i]++;
    else countDay(f, day);
    if (!f.dirty) {
      f.dirty = true;
      this.dirtyEntities.add(entity);
    }
  }

  private record(entity: EntityNode, f: FieldNode, value: unknown, at: number, day: number, depth: number): void {
    switch (typeof value) {
      case 'string':
        this.count(entity, f, T_STRING, at, day);
        if (this.due(f)) this.sketch(f, value, murmur3(value.length > 1024 ? value.slice(0, 1024) : value));
        return;
      case 'number':
        this.count(entity, f, Number.isInteger(value) ? T_INTEGER : T_NUMBER, at, day);
        if (this.due(f)) this.sketch(f, value, murmur3Number(value));
        return;
      case 'boolean':
        this.count(entity, f, T_BOOLEAN, at, day);
        if (this.due(f)) this.sketch(f, value, value ? 0x9e3779b9 : 0x7f4a7c15);
        return;
      case 'object':
        break;
      default:
        return;
    }
    if (value === null) return this.count(entity, f, T_NULL, at, day);
    if (Array.isArray(value)) {
      this.count(entity, f, T_ARRAY, at, day);
      if (value.length === 0) return;
      // The element field sits at position 0 of the shape cache (an object's first key when the field is one).
      let element: FieldNode | undefined;
      if (f.shapeKeys[0] === ARRAY_SEGMENT) {
        element = f.shapeFields[0];
        if (!element) entity.untracked++;
      } else element = this.cacheChild(entity, f, 0, ARRAY_SEGMENT, depth);
      if (!element) return;
      const n = value.length;
      for (let i = 0; i < n; i++) {
        const v = value[i];
        // Beyond MAX_ELEMENTS, an element counts for `x[]` (its type) but its contents are not walked.
        if (i < MAX_ELEMENTS || v === null || typeof v !== 'object') this.record(entity, element, v, at, day, depth + 1);
        else this.count(entity, element, Array.isArray(v) ? T_ARRAY : T_OBJECT, at, day);
      }
      return;
    }
    this.count(entity, f, T_OBJECT, at, day);
    const obj = value as Record<string, unknown>;
    const keys = f.shapeKeys;
    const fields = f.shapeFields;
    let i = 0;
    for (const k in obj) {
      let child: FieldNode | undefined;
      if (i < keys.length && keys[i] === k) {
        child = fields[i];
        if (!child) entity.untracked++;
      } else child = i < SHAPE_KEYS ? this.cacheChild(entity, f, i, k, depth) : this.child(entity, f, k, depth);
      i++;
      if (child) this.record(entity, child, obj[k], at, day, depth + 1);
    }
  }

  /** The child at position i of the shape cache, looked up (or created) and cached. */
  private cacheChild(entity: EntityNode, f: FieldNode, i: number, key: string, depth: number): FieldNode | undefined {
    const child = this.child(entity, f, key, depth);
    f.shapeKeys[i] = key;
    f.shapeFields[i] = child;
    return child;
  }

  private child(entity: EntityNode, f: FieldNode, key: string, depth: number): FieldNode | undefined {
    let child = f.children.get(key);
    if (child) return child;
    if (depth >= MAX_DEPTH || entity.fields >= MAX_FIELDS_PER_ENTITY) {
      entity.untracked++;
      return undefined;
    }
    child = newField([...f.segments, key]);
    f.children.set(key, child);
    entity.fields++;
    return child;
  }

  /** Whether this scalar occurrence feeds the sketches: all of the first SKETCH_ALL, then random gaps averaging SKETCH_EVERY. */
  private due(f: FieldNode): boolean {
    f.scalars++;
    if (f.skip > 0) {
      f.skip--;
      return false;
    }
    return true;
  }

  private random(): number {
    // xorshift32: cheap, and sampling needs no cryptographic quality.
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    return this.seed;
  }

  /**
   * Feeds one occurrence to the HLL and the reservoir. The reservoir is Algorithm R over all scalar occurrences:
   * an occurrence that stands for a gap of g (itself and the g - 1 skipped before it) replaces a sample with
   * probability g·SAMPLES/n, the chance that one of the g would have under Algorithm R, so every occurrence ends up
   * in the sample with the same probability.
   */
  private sketch(f: FieldNode, value: string | number | boolean, hash: number): void {
    (f.hll ??= new HyperLogLog(HLL_P)).addHash(hash);
    f.sampled++;
    const gap = f.gap;
    if (f.scalars >= SKETCH_ALL) {
      f.skip = this.random() % (2 * SKETCH_EVERY - 1);
      f.gap = f.skip + 1;
    }
    if (f.samples.length < SAMPLES) {
      f.samples.push(typeof value === 'string' ? value.slice(0, SAMPLE_CHARS) : String(value));
      return;
    }
    const j = this.random() % f.scalars;
    if (j < gap * SAMPLES) f.samples[j % SAMPLES] = typeof value === 'string' ? value.slice(0, SAMPLE_CHARS) : String(value);
  }
}

/** A day outside the pending window: settle the window and move it to start a few days before this one. */
function countDay(f: FieldNode, day: number): void {
  settleDay(f);
  f.pending ??= new Int32Array(PENDING_DAYS);
  f.pendingBase = day - 7;
  f.pending[7]++;
}

/** Moves the pending day counts into `days` (before reading or saving them). */
export function settleDay(f: FieldNode): void {
  const p = f.pending;
  if (p === undefined) return;
  for (let i = 0; i < PENDING_DAYS; i++) {
    if (p[i] === 0) continue;
    const day = f.pendingBase + i;
    f.days.set(day, (f.days.get(day) ?? 0) + p[i]);
    f.changedDays.add(day);
    p[i] = 0;
  }
}

/** Every field of an entity below the root, depth first in insertion order. */
export function* fieldsOf(entity: EntityNode): Generator<{ field: FieldNode; parent: FieldNode }> {
  const walk = function* (parent: FieldNode): Generator<{ field: FieldNode; parent: FieldNode }> {
    for (const field of parent.children.values()) {
      yield { field, parent };
      yield* walk(field);
    }
  };
  yield* walk(entity.root);
}

/** Types seen with their counts (only those seen). */
export function typesOf(f: FieldNode): Partial<Record<ValueType, number>> {
  const out: Partial<Record<ValueType, number>> = {};
  VALUE_TYPES.forEach((t, i) => {
    if (f.types[i]) out[t] = f.types[i];
  });
  return out;
}

/**
 * Share of the parent's occurrences where the field is missing or null: for `a.b`, of the times `a` was an object;
 * for a top-level field, of the entity's messages; for `items[]`, the share of null elements.
 */
export function nullRateOf(f: FieldNode, parent: FieldNode): number {
  const total = totalOf(f);
  if (f.segments[f.segments.length - 1] === ARRAY_SEGMENT) return total ? f.types[T_NULL] / total : 0;
  const denominator = parent.types[T_OBJECT];
  if (!denominator) return 0;
  return Math.max(0, denominator - (total - f.types[T_NULL])) / denominator;
}
