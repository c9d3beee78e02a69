import type { StoredEvent } from '../core/ports/store.js';
import { HyperLogLog } from './hyperloglog.js';

/**
 * The observed schema (docs/metadata.md): what the data actually contains, per source, event and property path,
 * kept by sketches in memory as events go by (no scans): types with counts, first and last seen (event time),
 * volume per day, null rate, a distinct-count estimate (HyperLogLog) and a few sample values (reservoir).
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
const HLL_P = 12;
const DAY = 86_400_000;
export const ARRAY_SEGMENT = '[]';

export interface FieldNode {
  /** Path segments from the entity root (`['items', '[]', 'price']`); empty for the root. */
  segments: string[];
  path: string;
  /** Occurrences by type, in VALUE_TYPES order. */
  types: number[];
  firstSeen: number;
  lastSeen: number;
  days: Map<number, number>;
  changedDays: Set<number>;
  /** The day being counted and its count not yet in `days` (most events of a field fall on the same day). */
  day: number;
  dayCount: number;
  hll?: HyperLogLog;
  samples: string[];
  /** Scalar values offered to the reservoir. */
  sampled: number;
  children: Map<string, FieldNode>;
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
  return { segments, path: pathOf(segments), types: [0, 0, 0, 0, 0, 0, 0], firstSeen: Infinity, lastSeen: -Infinity, days: new Map(), changedDays: new Set(), day: -1, dayCount: 0, samples: [], sampled: 0, children: new Map(), dirty: false };
}

export const totalOf = (f: FieldNode): number => f.types.reduce((a, b) => a + b, 0);

/** What stays in memory between flushes: every entity of every workspace (loaded from the store at start). */
export class ObservedSchema {
  readonly entities = new Map<string, EntityNode>();
  private readonly dirtyEntities = new Set<EntityNode>();
  private seed = 0x2545f491;

  /** Observes stored events (the events stage's listener): a walk of each message's properties or traits. */
  observe(events: StoredEvent[]): void {
    for (const e of events) {
      const m = e.message;
      const event = m.type === 'track' ? (m.event ?? '') : m.type;
      const at = Date.parse(m.timestamp);
      if (Number.isNaN(at)) continue;
      const entity = this.entity(e.workspaceId, e.sourceId, m.type, event);
      const body = m.type === 'identify' || m.type === 'group' ? m.traits : m.type === 'alias' ? undefined : m.properties;
      this.record(entity, entity.root, body ?? {}, at, Math.floor(at / DAY), 0);
    }
  }

  /** Observes computed-trait values as the apply stage commits them (undefined: the value was removed). */
  observeComputed(workspaceId: string, key: string, value: unknown, at: number): void {
    const entity = this.entity(workspaceId, '', 'computed', '');
    const day = Math.floor(at / DAY);
    this.count(entity.root, T_OBJECT, at, day);
    let f = entity.root.children.get(key);
    if (!f) {
      f = newField([key]);
      entity.root.children.set(key, f);
      entity.fields++;
    }
    this.record(entity, f, value === undefined ? null : value, at, day, 1);
  }

  entity(workspaceId: string, sourceId: string, type: string, event: string): EntityNode {
    const id = entityId(workspaceId, sourceId, type, event);
    let entity = this.entities.get(id);
    if (!entity) {
      entity = { workspaceId, sourceId, type, event, root: newField([]), fields: 0, untracked: 0 };
      this.entities.set(id, entity);
    }
    return entity;
  }

  /** Entities with changes since the last call (their dirty fields carry `dirty` and `changedDays`). */
  takeDirty(): EntityNode[] {
    const out = [...this.dirtyEntities];
    this.dirtyEntities.clear();
    return out;
  }

  private count(f: FieldNode, type: number, at: number, day: number): void {
    f.types[type]++;
    if (at < f.firstSeen) f.firstSeen = at;
    if (at > f.lastSeen) f.lastSeen = at;
    if (day === f.day) f.dayCount++;
    else {
      settleDay(f);
      f.day = day;
      f.dayCount = 1;
    }
    f.dirty = true;
  }

  private record(entity: EntityNode, f: FieldNode, value: unknown, at: number, day: number, depth: number): void {
    if (!f.dirty) this.dirtyEntities.add(entity);
    switch (typeof value) {
      case 'string':
        this.count(f, T_STRING, at, day);
        (f.hll ??= new HyperLogLog(HLL_P)).addString(value.length > 1024 ? value.slice(0, 1024) : value);
        this.sample(f, value);
        return;
      case 'number':
        this.count(f, Number.isInteger(value) ? T_INTEGER : T_NUMBER, at, day);
        (f.hll ??= new HyperLogLog(HLL_P)).addNumber(value);
        this.sample(f, value);
        return;
      case 'boolean':
        this.count(f, T_BOOLEAN, at, day);
        (f.hll ??= new HyperLogLog(HLL_P)).addHash(value ? 0x9e3779b9 : 0x7f4a7c15);
        this.sample(f, value);
        return;
      case 'object':
        break;
      default:
        return;
    }
    if (value === null) return this.count(f, T_NULL, at, day);
    if (Array.isArray(value)) {
      this.count(f, T_ARRAY, at, day);
      if (value.length === 0) return;
      const element = this.child(entity, f, ARRAY_SEGMENT, depth);
      if (element) for (const v of value) this.record(entity, element, v, at, day, depth + 1);
      return;
    }
    this.count(f, T_OBJECT, at, day);
    const obj = value as Record<string, unknown>;
    for (const k in obj) {
      const child = this.child(entity, f, k, depth);
      if (child) this.record(entity, child, obj[k], at, day, depth + 1);
    }
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

  /** Reservoir sampling (Algorithm R): each scalar seen so far is in the sample with equal probability. */
  private sample(f: FieldNode, value: string | number | boolean): void {
    f.sampled++;
    if (f.samples.length < SAMPLES) {
      f.samples.push(typeof value === 'string' ? value.slice(0, SAMPLE_CHARS) : String(value));
      return;
    }
    // xorshift32: cheap, and the reservoir needs no cryptographic quality.
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    const j = this.seed % f.sampled;
    if (j < SAMPLES) f.samples[j] = typeof value === 'string' ? value.slice(0, SAMPLE_CHARS) : String(value);
  }
}

/** Moves the pending day count into `days` (before reading or saving them). */
export function settleDay(f: FieldNode): void {
  if (f.dayCount === 0) return;
  f.days.set(f.day, (f.days.get(f.day) ?? 0) + f.dayCount);
  f.changedDays.add(f.day);
  f.dayCount = 0;
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
