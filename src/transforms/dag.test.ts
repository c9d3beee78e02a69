import { describe, expect, it } from 'vitest';
import { CycleError, dependencyOrder, upstreamOf } from './dag.js';

describe('dependencyOrder', () => {
  it('puts every model after the models it reads', () => {
    const nodes = new Map([['first_category', ['orders']], ['orders', []], ['percentiles', ['orders']], ['report', ['first_category', 'percentiles']]]);
    expect(dependencyOrder(nodes)).toEqual(['orders', 'first_category', 'percentiles', 'report']);
  });
  it('names the cycle', () => {
    const nodes = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']]]);
    expect(() => dependencyOrder(nodes)).toThrow(CycleError);
    expect(() => dependencyOrder(nodes)).toThrow('a -> b -> c -> a');
  });
  it('upstreamOf keeps only what the targets need', () => {
    const nodes = new Map([['a', []], ['b', ['a']], ['c', []], ['d', ['b']]]);
    expect(upstreamOf(nodes, ['d'])).toEqual(['a', 'b', 'd']);
    expect(upstreamOf(nodes, ['c'])).toEqual(['c']);
  });
});
