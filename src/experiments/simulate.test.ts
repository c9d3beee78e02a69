import { describe, expect, it } from 'vitest';
import { banditSimulation, peekingSimulation } from './simulate.js';

describe('A/A experiments looked at every day (1,000 seeded experiments, 30 daily looks)', () => {
  it('keeps the always-valid false-positive rate at or below 5% while the fixed-horizon test inflates', () => {
    const r = peekingSimulation({ experiments: 1000, days: 30, perArmPerDay: 100, rate: 0.1, alpha: 0.05, plannedSample: 1000, seed: 'aa-peeking' });
    console.log(`A/A peeking: fixed-horizon any look ${(r.fixedAnyLook * 100).toFixed(1)}%, fixed-horizon last look only ${(r.fixedLastLook * 100).toFixed(1)}%, confidence sequence any look ${(r.sequentialAnyLook * 100).toFixed(1)}%`);
    expect(r.sequentialAnyLook).toBeLessThanOrEqual(0.05);
    // Looked at once, the fixed test holds its 5% (binomial noise on 1,000 experiments: about ±1.4 points).
    expect(r.fixedLastLook).toBeGreaterThan(0.03);
    expect(r.fixedLastLook).toBeLessThan(0.07);
    // Looked at daily it does not: the well-known inflation (Armitage et al. 1969).
    expect(r.fixedAnyLook).toBeGreaterThan(0.15);
  });
});

describe('decide node: Thompson sampling on Bernoulli arms with delayed rewards', () => {
  const base = { rates: [0.06, 0.08, 0.12], holdoutRate: 0.05, holdoutPercent: 10, exploration: 0.05, delay: 50 };

  it('has far less regret than uniform random against the best fixed arm', () => {
    const r = banditSimulation({ ...base, decisions: 10_000, seed: 'regret' });
    console.log(`bandit (10,000 decisions, rates 6/8/12%): regret ${r.regret.toFixed(1)} vs uniform ${r.uniformRegret.toFixed(1)}; best arm chosen ${(r.bestShare * 100).toFixed(1)}%`);
    expect(r.regret).toBeLessThan(0.25 * r.uniformRegret);
    expect(r.bestShare).toBeGreaterThan(0.75);
    // The exploration floor keeps every arm at least 5% / 3 of the time, so regret cannot vanish.
    expect(r.regret).toBeGreaterThan(r.treated * 0.05 * ((0.12 - 0.06) + (0.12 - 0.08)) / 3 * 0.5);
  });

  it("the holdout's 95% lift interval covers the true lift about 95% of the time (500 simulations of 4,000 decisions)", () => {
    let covered = 0;
    const runs = 500;
    for (let s = 0; s < runs; s++) {
      const r = banditSimulation({ ...base, decisions: 4000, seed: `coverage-${s}` });
      if (r.lift.low <= r.trueLift && r.trueLift <= r.lift.high) covered++;
    }
    console.log(`holdout lift coverage: ${covered}/${runs} = ${((covered / runs) * 100).toFixed(1)}% (stated 95%)`);
    expect(covered / runs).toBeGreaterThan(0.92);
    expect(covered / runs).toBeLessThan(0.99);
  });
});
