import { describe, expect, it } from 'vitest';
import { HyperLogLog, murmur3 } from './hyperloglog.js';

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

describe('MurmurHash3 x86 32', () => {
  // Published test vectors of the reference implementation (bytes as little-endian UTF-16 code units here).
  it.each([
    ['', 0, 0x00000000],
    ['', 1, 0x514e28b7],
    ['', 0xffffffff, 0x81f16f39],
    ['\u0000\u0000', 0, 0x2362f9de],
    ['\u4321\u8765', 0, 0xf55b516b],
    ['\u4321\u8765', 0x5082edee, 0x2362f9de],
    ['\u4321', 0, 0xa0f7b07a],
    ['\uffff\uffff', 0, 0x76293b50],
  ])('hashes %j with seed %d as the reference does', (text, seed, expected) => {
    expect(hex(murmur3(text, seed))).toBe(hex(expected));
  });
});

describe('HyperLogLog', () => {
  it('counts small sets almost exactly (linear counting)', () => {
    const h = new HyperLogLog(12);
    for (let i = 0; i < 200; i++) h.addString(`user-${i % 100}`);
    expect(Math.abs(h.estimate() - 100)).toBeLessThanOrEqual(2);
    expect(new HyperLogLog(12).estimate()).toBe(0);
  });

  it('stays within its published error bound, 1.04 / sqrt(m), over independent sets', () => {
    const p = 12;
    const sigma = 1.04 / Math.sqrt(2 ** p); // 1.625%
    const n = 40_000;
    const errors: number[] = [];
    for (let trial = 0; trial < 16; trial++) {
      const h = new HyperLogLog(p);
      for (let i = 0; i < n; i++) h.addString(`t${trial}-v${i}`);
      errors.push(h.estimate() / n - 1);
    }
    const rms = Math.sqrt(errors.reduce((s, e) => s + e * e, 0) / errors.length);
    // The sample RMS of 16 draws of a sigma-sized error: 1.5 sigma is far in its tail (chi-square, 16 dof).
    expect(rms).toBeLessThan(1.5 * sigma);
    for (const e of errors) expect(Math.abs(e)).toBeLessThan(4 * sigma);
  });

  it('counts numbers by value and keeps strings apart from numbers', () => {
    const h = new HyperLogLog(10);
    for (let i = 0; i < 50; i++) {
      h.addNumber(i);
      h.addNumber(i * 1.0);
    }
    h.addNumber(-0);
    h.addNumber(0);
    expect(Math.round(h.estimate())).toBe(50);
    for (let i = 0; i < 50; i++) h.addString(String(i));
    expect(Math.abs(h.estimate() - 100)).toBeLessThanOrEqual(3);
  });

  it('merges two sketches into the sketch of the union', () => {
    const a = new HyperLogLog(12);
    const b = new HyperLogLog(12);
    const both = new HyperLogLog(12);
    for (let i = 0; i < 5000; i++) {
      a.addString(`x${i}`);
      both.addString(`x${i}`);
    }
    for (let i = 2500; i < 9000; i++) {
      b.addString(`x${i}`);
      both.addString(`x${i}`);
    }
    a.merge(b);
    expect([...a.registers]).toEqual([...both.registers]);
    expect(() => a.merge(new HyperLogLog(10))).toThrow(/p=10/);
  });
});
