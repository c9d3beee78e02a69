/**
 * HyperLogLog (Flajolet, Fusy, Gandouet, Meunier 2007) with the small-range correction (linear counting) of the
 * paper: a distinct-count estimate in 2^p bytes whatever the number of values, with a relative standard error of
 * about 1.04 / sqrt(2^p) (1.6% at p = 12). Values are hashed with MurmurHash3 (x86, 32 bits); a 32-bit hash keeps
 * the arithmetic in small integers and is accurate to well beyond the cardinalities a property has in practice
 * (the large-range correction of the paper covers the rest).
 */
export class HyperLogLog {
  readonly registers: Uint8Array;
  private readonly shift: number;

  constructor(readonly p = 12, registers?: Uint8Array) {
    if (!Number.isInteger(p) || p < 4 || p > 16) throw new RangeError('p must be an integer from 4 to 16');
    this.shift = 32 - p;
    this.registers = registers && registers.length === 1 << p ? registers : new Uint8Array(1 << p);
  }

  /** Adds a value by its 32-bit hash. */
  addHash(hash: number): void {
    const h = hash >>> 0;
    const index = h >>> this.shift;
    // Rank of the first 1 bit in the remaining 32 - p bits (1-based); all zero gives 32 - p + 1.
    const rest = (h << this.p) >>> 0;
    const rank = rest === 0 ? this.shift + 1 : Math.clz32(rest) + 1;
    if (rank > this.registers[index]) this.registers[index] = rank;
  }

  addString(value: string): void {
    this.addHash(murmur3(value));
  }

  /** Numbers are counted by value (1 and 1.0 are one value); a string "1" is a different value. */
  addNumber(value: number): void {
    this.addHash(murmur3Number(value));
  }

  /** Folds another sketch of the same precision in (the union of both sets). */
  merge(other: HyperLogLog): void {
    if (other.p !== this.p) throw new RangeError(`cannot merge a p=${other.p} sketch into a p=${this.p} one`);
    for (let i = 0; i < this.registers.length; i++) if (other.registers[i] > this.registers[i]) this.registers[i] = other.registers[i];
  }

  /** The estimated number of distinct values added. */
  estimate(): number {
    const m = this.registers.length;
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < m; i++) {
      const r = this.registers[i];
      sum += 2 ** -r;
      if (r === 0) zeros++;
    }
    const alpha = m === 16 ? 0.673 : m === 32 ? 0.697 : m === 64 ? 0.709 : 0.7213 / (1 + 1.079 / m);
    const raw = (alpha * m * m) / sum;
    if (raw <= 2.5 * m && zeros > 0) return m * Math.log(m / zeros);
    const two32 = 2 ** 32;
    if (raw > two32 / 30) return -two32 * Math.log(1 - raw / two32);
    return raw;
  }
}

/** MurmurHash3 x86 32-bit over a string's UTF-16 code units (two per 32-bit block), seed 0. */
export function murmur3(text: string, seed = 0): number {
  let h = seed >>> 0;
  const n = text.length;
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    let k = (text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16)) >>> 0;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (i < n) {
    let k = text.charCodeAt(i);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= n * 2;
  return fmix(h);
}

const float = new Float64Array(1);
const words = new Uint32Array(float.buffer);

/** MurmurHash3 of a number's IEEE-754 bits (seeded apart from strings). */
export function murmur3Number(value: number): number {
  float[0] = value === 0 ? 0 : value; // -0 and 0 are one value
  let h = 0x9747b28c;
  for (let w = 0; w < 2; w++) {
    let k = Math.imul(words[w], 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= 8;
  return fmix(h);
}

function fmix(x: number): number {
  let h = x;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
