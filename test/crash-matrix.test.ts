// The crash matrix, short (docs/reliability.md, "Crash matrix"): `tandem start` as a real process under continuous
// load, with a workspace whose journeys send webhooks to a real sink in this process, killed with SIGKILL once during
// collection, once while webhooks are in flight and once while a workspace apply is being answered; restarted each
// time. Every acknowledged event is stored exactly once, no message reaches the sink under two idempotency keys,
// every message the journeys owe arrives, the definitions are all of one side of the change and the versions list
// has no gaps. The long run is `npm run bench -- crash-matrix -- --rounds 30`.
import { describe, expect, it } from 'vitest';
import { runCrashMatrix } from '../bench/_trust/matrix.js';

describe('crash matrix (short)', () => {
  it('kill -9 during collection, dispatch and an apply: nothing lost, nothing duplicated, everything owed delivered, definitions consistent', async () => {
    const result = await runCrashMatrix({ rounds: 3, phases: ['collection', 'dispatch', 'apply'], batchesPerSecond: 6, deliveryTimeoutMs: 120_000 });
    expect(result.problems).toEqual([]);
    for (const row of result.rows) {
      expect(row.kills, row.phase).toBe(1);
      // The kill landed inside the phase (requests in flight, webhooks in flight, the apply not yet answered), or the
      // round proves nothing about it.
      expect(row.landed, row.phase).toBe(1);
      expect(row.lost, row.phase).toBe(0);
      expect(row.duplicates, row.phase).toBe(0);
      expect(row.definitionProblems, row.phase).toBe(0);
    }
    expect(result.ackedTotal).toBeGreaterThan(0);
    expect(result.expectedMessages).toBeGreaterThan(0);
    expect(result.deliveredExpected).toBe(result.expectedMessages);
    expect(result.cleanStopCode).toBe(0);
  }, 600_000);
});
