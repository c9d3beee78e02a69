import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../core/ports/store.js';
import { distinctOf, fieldsOf, MAX_ELEMENTS, ObservedSchema, parseTimestamp, SAMPLES, scaleDistinct, SKETCH_ALL, SKETCH_EVERY, settleDay, type EntityNode, type FieldNode } from './observed.js';

const DAY = 86_400_000;
const START = Date.parse('2026-03-01T00:00:00.000Z');

function track(properties: Record<string, unknown>, at: number, event = 'E'): StoredEvent {
  return { id: 0, workspaceId: 'w', sourceId: 's', message: { type: 'track', event, properties, timestamp: new Date(at).toISOString(), messageId: 'm' } } as unknown as StoredEvent;
}

function field(schema: ObservedSchema, path: string, event = 'E'): FieldNode {
  const entity = [...schema.entities.values()].find((e) => e.event === event) as EntityNode;
  const found = [...fieldsOf(entity)].find(({ field: f }) => f.path === path);
  if (!found) throw new Error(`no field ${path}`);
  return found.field;
}

describe('parseTimestamp', () => {
  it('reads collector timestamps as Date.parse does, over four centuries and every leap day', () => {
    const times = [0, Date.UTC(2000, 1, 29, 23, 59, 59, 999), Date.UTC(2024, 1, 29), Date.UTC(2100, 2, 1), Date.UTC(1999, 11, 31, 12, 30, 15, 5), Date.UTC(9999, 11, 31, 23, 59, 59, 999)];
    let x = 12345;
    for (let i = 0; i < 2000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      times.push(Math.floor((x / 2 ** 32) * Date.UTC(2400, 0, 1)));
    }
    for (const t of times) {
      const text = new Date(t).toISOString();
      expect(parseTimestamp(text), text).toBe(t);
      expect(parseTimestamp(text)).toBe(Date.parse(text));
    }
  });

  it('hands any other form to Date.parse (impossible dates, other offsets, garbage)', () => {
    for (const text of ['2026-02-30T00:00:00.000Z', '2026-13-01T00:00:00.000Z', '2026-03-15T12:00:00Z', '2026-03-15T12:00:00.000+01:00', '2026-03-1xT12:00:00.000Z', 'yesterday', '']) {
      expect(Object.is(parseTimestamp(text), Date.parse(text)), text).toBe(true);
    }
  });
});

describe('exact counts under sampled sketches', () => {
  it('keeps types, first and last seen, volume per day and null rate exact; sketches about one in SKETCH_EVERY', () => {
    const schema = new ObservedSchema();
    const n = 6000;
    for (let i = 0; i < n; i++) {
      const at = START + (i % 10) * DAY + i * 1000;
      const value = i % 7 === 0 ? null : i % 5 === 0 ? i : `v${i}`;
      schema.observe([track(i % 3 === 0 ? { other: true } : { x: value, other: true }, at)]);
    }
    const x = field(schema, 'x');
    const present = [...Array(n).keys()].filter((i) => i % 3 !== 0);
    const expectedNulls = present.filter((i) => i % 7 === 0).length;
    const expectedInts = present.filter((i) => i % 7 !== 0 && i % 5 === 0).length;
    expect(x.types).toEqual([present.length - expectedNulls - expectedInts, expectedInts, 0, 0, expectedNulls, 0, 0]);
    settleDay(x);
    const xDays = new Map<number, number>();
    for (const i of present) {
      const d = Math.floor((START + (i % 10) * DAY + i * 1000) / DAY);
      xDays.set(d, (xDays.get(d) ?? 0) + 1);
    }
    expect(new Map([...x.days].sort())).toEqual(new Map([...xDays].sort()));
    expect(x.firstSeen).toBe(Math.min(...present.map((i) => START + (i % 10) * DAY + i * 1000)));
    expect(x.lastSeen).toBe(Math.max(...present.map((i) => START + (i % 10) * DAY + i * 1000)));
    // Sketches: all of the first SKETCH_ALL scalars, then about one in SKETCH_EVERY (random gaps, mean SKETCH_EVERY).
    const scalars = present.length - expectedNulls;
    const expected = SKETCH_ALL + (scalars - SKETCH_ALL) / SKETCH_EVERY;
    expect(x.scalars).toBe(scalars);
    expect(Math.abs(x.sampled - expected)).toBeLessThan(expected * 0.15);
  });

  it('estimates distinct values from the sampled sketch: unique ids, equally frequent values, a few values', () => {
    const schema = new ObservedSchema();
    const n = 30_000;
    for (let i = 0; i < n; i++) schema.observe([track({ id: `order-${i}`, sku: `sku-${(i * 7919) % 400}`, currency: ['EUR', 'USD', 'GBP'][i % 3] }, START + i)]);
    expect(Math.abs(distinctOf(field(schema, 'id')) - n) / n).toBeLessThan(0.1);
    expect(Math.abs(distinctOf(field(schema, 'sku')) - 400) / 400).toBeLessThan(0.1);
    expect(Math.round(distinctOf(field(schema, 'currency')))).toBe(3);
  });

  it('scaleDistinct inverts the expected distinct count of r draws from D equally frequent values', () => {
    for (const [D, r] of [[1000, 500], [50, 2000], [20_000, 3000]]) {
      const d = D * (1 - (1 - 1 / D) ** r);
      expect(Math.abs(scaleDistinct(d, r, 10 ** 7) - D) / D).toBeLessThan(1e-4);
    }
    // Everything sketched: the estimate as is. All sampled values distinct: every occurrence distinct.
    expect(scaleDistinct(42, 100, 100)).toBe(42);
    expect(scaleDistinct(300, 300, 5000)).toBe(5000);
  });

  it('keeps a uniform sample of all occurrences, not only of the sketched ones', () => {
    const schema = new ObservedSchema();
    const n = 4000;
    const fields = 300;
    for (let i = 0; i < n; i++) {
      const props: Record<string, number> = {};
      for (let f = 0; f < fields; f++) props[`f${f}`] = i;
      schema.observe([track(props, START + i)]);
    }
    const samples = Array.from({ length: fields }, (_, f) => field(schema, `f${f}`).samples.map(Number)).flat();
    expect(samples).toHaveLength(fields * SAMPLES);
    // Under a uniform sample each quarter of the stream holds a quarter of the samples (binomial sd about 24).
    const quarters = [0, 0, 0, 0];
    for (const s of samples) quarters[Math.floor((s / n) * 4)]++;
    for (const q of quarters) expect(Math.abs(q - samples.length / 4)).toBeLessThan(110);
    // The first SKETCH_ALL occurrences (all sketched) are not over-represented: expected share 256 / 4000.
    const early = samples.filter((s) => s < SKETCH_ALL).length;
    expect(Math.abs(early - (samples.length * SKETCH_ALL) / n)).toBeLessThan(60);
  });
});

describe('walk', () => {
  it('counts every array element for x[] but walks the contents of the first MAX_ELEMENTS per message', () => {
    const schema = new ObservedSchema();
    for (let i = 0; i < 5; i++) schema.observe([track({ items: Array.from({ length: 20 }, (_, k) => ({ price: k })) }, START + i)]);
    expect(field(schema, 'items[]').types[5]).toBe(100);
    expect(field(schema, 'items[].price').types[1]).toBe(5 * MAX_ELEMENTS);
  });

  it('follows changing shapes: key order, new keys, and a field that is an object or an array', () => {
    const schema = new ObservedSchema();
    const messages = [{ a: 1, b: 'x' }, { b: 'y', a: 2 }, { c: true }, { x: { k: 1 } }, { x: [1, 2, 3] }, { x: { k: 2 } }, { a: 3, b: 'z', c: false }];
    messages.forEach((m, i) => schema.observe([track(m, START + i)]));
    expect(field(schema, 'a').types[1]).toBe(3);
    expect(field(schema, 'b').types[0]).toBe(3);
    expect(field(schema, 'c').types[3]).toBe(2);
    expect(field(schema, 'x').types).toEqual([0, 0, 0, 0, 0, 2, 1]);
    expect(field(schema, 'x.k').types[1]).toBe(2);
    expect(field(schema, 'x[]').types[1]).toBe(3);
    const entity = [...schema.entities.values()][0];
    expect(entity.root.types[5]).toBe(messages.length);
  });

  it('counts occurrences beyond MAX_DEPTH as untracked, message after message', () => {
    const schema = new ObservedSchema();
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let d = 0; d < 9; d++) deep = { n: deep };
    for (let i = 0; i < 3; i++) schema.observe([track(deep, START + i)]);
    const entity = [...schema.entities.values()][0];
    expect(entity.untracked).toBe(3);
    expect(entity.fields).toBe(8);
  });
});
