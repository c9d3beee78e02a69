import { describe, expect, it } from 'vitest';
import { LruMap } from './lru.js';

describe('LruMap', () => {
  it('drops the least recently used entry beyond its capacity; a get counts as a use, a peek does not', () => {
    const m = new LruMap<string, number>(2);
    m.set('a', 1);
    m.set('b', 2);
    expect(m.get('a')).toBe(1); // a is now the most recent
    m.set('c', 3); // drops b
    expect([m.peek('a'), m.peek('b'), m.peek('c')]).toEqual([1, undefined, 3]);
    expect(m.peek('a')).toBe(1); // a peek leaves a the oldest
    m.set('d', 4); // drops a
    expect([m.peek('a'), m.peek('c'), m.peek('d'), m.size]).toEqual([undefined, 3, 4, 2]);
  });

  it('keeps nothing with capacity 0, and forgets on delete and clear', () => {
    const none = new LruMap<string, number>(0);
    none.set('a', 1);
    expect(none.get('a')).toBeUndefined();
    const m = new LruMap<string, number>(3);
    m.set('a', 1);
    m.set('b', 2);
    m.delete('a');
    expect(m.get('a')).toBeUndefined();
    m.clear();
    expect(m.size).toBe(0);
  });
});
