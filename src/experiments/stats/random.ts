import { Rng } from '../../demo/rng.js';

/**
 * A seeded random stream for Monte Carlo posteriors, Thompson sampling and simulations: the demo's sfc32 generator
 * (src/demo/rng.ts) seeded from a string (FNV-1a mixing), with normal (Box-Muller), gamma (Marsaglia-Tsang) and beta
 * draws. Reproducible on every machine.
 */
export class Random extends Rng {
  private spare: number | undefined;

  constructor(seed: string | number) {
    const text = String(seed);
    let h1 = 0x811c9dc5;
    let h2 = 0x9e3779b9;
    for (let i = 0; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ ch, 0x01000193);
      h2 = Math.imul(h2 ^ ch, 0x85ebca6b);
    }
    super(h1 >>> 0, h2 >>> 0, (h1 ^ (h2 << 7)) >>> 0);
  }

  bernoulli(p: number): number {
    return this.next() < p ? 1 : 0;
  }

  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Gamma(shape, 1). */
  gamma(shape: number): number {
    if (shape < 1) return this.gamma(shape + 1) * Math.pow(this.next() || Number.MIN_VALUE, 1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.next();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  beta(a: number, b: number): number {
    const x = this.gamma(a);
    return x / (x + this.gamma(b));
  }
}
