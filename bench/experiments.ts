// `npm run bench -- experiments [--history 100000] [--decisions 5000] [--write]`
//
// (a) A `decide` decision: the journey engine on a store.db file (WAL, as in production) with a journey
//     `Visited -> decide (3 arms, one with an eligibility condition, 10% holdout) -> send`, over a decision log of
//     `--history` past decisions (rewarded, failed and pending); then `--decisions` profiles trigger it. Timed:
//     the experiment port's decide() alone (counts, expiry sweep, Thompson draws, the logged decision with every
//     arm's posterior), and the whole engine step (entry, eligibility, decision, send through the guardrails).
// (b) The seeded simulations of docs/experiments.md: 1,000 A/A experiments peeked daily, the bandit's regret and the
//     holdout's coverage. Prints a section for docs/benchmarks.md (written there with --write).
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../src/core/clock.js';
import { Experiments } from '../src/experiments/experiments.js';
import { banditSimulation, peekingSimulation } from '../src/experiments/simulate.js';
import { createJourneys } from '../src/journeys/journeys.js';
import { memoryDefinitions, profile } from '../src/journeys/test-support.js';
import { openSqlite } from '../src/storage/sqlite/database.js';
import { openSqliteJourneyOutbox } from '../src/storage/sqlite/journey-outbox.js';
import { writeSection } from './_process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
const fmt = (ms: number) => ms.toFixed(3);

export async function run(args: string[]): Promise<void> {
  const opt = (name: string, dflt: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
  const history = opt('--history', 100_000);
  const decisions = opt('--decisions', 5_000);
  const before = loadavg().map((l) => l.toFixed(2)).join(' ');
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-experiments-'));
  const db = openSqlite(join(dir, 'store.db'), 'normal');
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const defs = memoryDefinitions();
  const experiments = new Experiments({ db, definitions: defs.definitions, clock, warehouse: { run: async () => [] } });
  const profiles = new Map<string, ReturnType<typeof profile>>();
  const journeys = createJourneys({
    db, store: memoryDefinitions(), clock, profiles: { get: async (_ws, id) => profiles.get(id) }, outbox: openSqliteJourneyOutbox(db), experiments: experiments.port,
  });
  const node = {
    type: 'decide', reward: { event: 'Order Completed', within: '7d' }, holdout: { percent: 10, next: 'done' }, exploration: 0.05,
    arms: [
      { key: 'vip_offer', eligible: { trait: 'vip', eq: true }, next: 'send' },
      { key: 'discount', next: 'send' },
      { key: 'content', next: 'send' },
    ],
  };
  await journeys.save('w', { key: 'nba', trigger: { type: 'event', event: 'Visited' }, re_entry: { policy: 'always' }, start: 'pick', nodes: { pick: node, send: { type: 'send', channel: 'email', template: 't' }, done: { type: 'exit' } } }, 'create');

  // A decision log: `history` past decisions, most closed (rewarded or not), the last week's pending.
  const insert = db.prepare(`INSERT INTO journey_decisions (workspace_id, journey, node, instance_id, visit, profile_id, arm, holdout, reward_event, deadline, outcome, at, detail)
    VALUES ('w', 'nba', 'pick', ?, 1, ?, ?, 0, 'Order Completed', ?, ?, ?, '{}')`);
  const bump = db.prepare(`INSERT INTO journey_arm_counts (workspace_id, journey, node, arm, successes, failures, pending) VALUES ('w', 'nba', 'pick', ?, ?, ?, ?)
    ON CONFLICT (workspace_id, journey, node, arm) DO UPDATE SET successes = successes + excluded.successes, failures = failures + excluded.failures, pending = pending + excluded.pending`);
  const arms = ['vip_offer', 'discount', 'content'];
  const seeded = performance.now();
  db.transaction(() => {
    for (let i = 0; i < history; i++) {
      const arm = arms[i % 3];
      const at = clock.now() - 30 * 86_400_000 + Math.floor((i / history) * 30 * 86_400_000);
      const open = at + 7 * 86_400_000 > clock.now();
      const outcome = open ? null : i % 17 === 0 ? 1 : 0;
      insert.run(`h${i}`, `hp${i % 50_000}`, arm, at + 7 * 86_400_000, outcome, at);
      bump.run(arm, outcome === 1 ? 1 : 0, outcome === 0 ? 1 : 0, outcome === null ? 1 : 0);
    }
  })();
  const seedMs = performance.now() - seeded;

  // (a1) decide() alone, each in its own transaction as in a step.
  const step = (i: number) => {
    const p = profile(`d${i}`, { vip: i % 2 === 0 });
    return { workspaceId: 'w', journey: 'nba', node: 'pick', instanceId: `bench-${i}`, visit: 1, profile: p, input: { profile: p, events: [], now: clock.now(), catalogs: { get: () => undefined } }, now: clock.now() };
  };
  // Batched as the journeys stage runs steps (up to 64 inputs per transaction): each call timed inside the batch.
  const alone: number[] = [];
  const committed: number[] = [];
  for (let b = 0; b < decisions; b += 64) {
    db.transaction(() => {
      for (let i = b; i < Math.min(decisions, b + 64); i++) {
        const s = step(i);
        const t0 = performance.now();
        experiments.port.decide(s, node as never, i % 2 === 0 ? arms : arms.slice(1));
        alone.push(performance.now() - t0);
      }
    })();
    clock.advance(60_000);
  }
  // Each decision in a transaction of its own: the commit (a WAL append, no fsync at synchronous=NORMAL) included.
  for (let i = decisions; i < 2 * decisions; i++) {
    const s = step(i);
    const t0 = performance.now();
    db.transaction(() => experiments.port.decide(s, node as never, i % 2 === 0 ? arms : arms.slice(1)))();
    committed.push(performance.now() - t0);
    if (i % 100 === 0) clock.advance(60_000);
  }
  // (a2) the whole engine step: an event enters the journey, the decide node chooses, the send is queued.
  for (let i = 0; i < decisions; i++) profiles.set(`e${i}`, profile(`e${i}`, { vip: i % 2 === 0 }));
  const whole: number[] = [];
  for (let b = 0; b < decisions; b += 64) {
    journeys.store.transaction(() => {
      for (let i = b; i < Math.min(decisions, b + 64); i++) {
        const p = profiles.get(`e${i}`)!;
        const t0 = performance.now();
        journeys.engine.handleEvent('w', p, { type: 'track', event: 'Visited', timestamp: clock.now(), properties: {}, messageId: `m${i}` });
        whole.push(performance.now() - t0);
      }
    });
  }
  alone.sort((a, b) => a - b);
  committed.sort((a, b) => a - b);
  whole.sort((a, b) => a - b);
  await journeys.stop();
  db.close();
  rmSync(dir, { recursive: true, force: true });

  // (b) simulations
  const simStart = performance.now();
  const aa = peekingSimulation({ experiments: 1000, days: 30, perArmPerDay: 100, rate: 0.1, alpha: 0.05, plannedSample: 1000, seed: 'aa-peeking' });
  const bandit = banditSimulation({ rates: [0.06, 0.08, 0.12], holdoutRate: 0.05, holdoutPercent: 10, exploration: 0.05, delay: 50, decisions: 10_000, seed: 'regret' });
  let covered = 0;
  for (let s = 0; s < 500; s++) {
    const r = banditSimulation({ rates: [0.06, 0.08, 0.12], holdoutRate: 0.05, holdoutPercent: 10, exploration: 0.05, delay: 50, decisions: 4000, seed: `coverage-${s}` });
    if (r.lift.low <= r.trueLift && r.trueLift <= r.lift.high) covered++;
  }
  const simMs = performance.now() - simStart;
  const after = loadavg().map((l) => l.toFixed(2)).join(' ');

  const section = `## experiments

\`npm run bench -- experiments\` (bench/experiments.ts). Run on ${new Date().toISOString().slice(0, 10)}.

- Machine: ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GB; load average before ${before}, after ${after} (shared with other work).
- **(a) A \`decide\` decision** on a store.db file (WAL, synchronous=NORMAL) holding ${history.toLocaleString('en-US')} past decisions (log seeded in ${(seedMs / 1000).toFixed(1)} s); 3 arms, one with an eligibility condition, 10% holdout, exploration 0.05; ${decisions.toLocaleString('en-US')} decisions each.

| what | p50 ms | p90 ms | p99 ms | max ms |
|---|---|---|---|---|
| decide() inside a 64-step transaction (expiry sweep, counts, Thompson draws, decision logged with every arm's posterior) | ${fmt(quantile(alone, 0.5))} | ${fmt(quantile(alone, 0.9))} | ${fmt(quantile(alone, 0.99))} | ${fmt(alone[alone.length - 1])} |
| decide() in a transaction of its own (commit included) | ${fmt(quantile(committed, 0.5))} | ${fmt(quantile(committed, 0.9))} | ${fmt(quantile(committed, 0.99))} | ${fmt(committed[committed.length - 1])} |
| whole engine step inside a 64-step transaction (entry, eligibility condition, decision, send through the guardrails, outbox row) | ${fmt(quantile(whole, 0.5))} | ${fmt(quantile(whole, 0.9))} | ${fmt(quantile(whole, 0.99))} | ${fmt(whole[whole.length - 1])} |

Target: a decision under 1 ms: **${quantile(alone, 0.99) < 1 ? 'met' : 'not met'}** at p99 for decide() as the stage runs it (p50 ${quantile(alone, 0.5) < 1 ? 'met' : 'not met'}); with its own commit p99 ${fmt(quantile(committed, 0.99))} ms; the whole step p99 ${fmt(quantile(whole, 0.99))} ms.

- **(b) Simulations** (seeded; ${(simMs / 1000).toFixed(1)} s): 1,000 A/A experiments, 100 profiles per arm per day, 10% conversion, looked at daily for 30 days:
  fixed-horizon z-test significant at some look in ${(aa.fixedAnyLook * 100).toFixed(1)}% (at the last look only: ${(aa.fixedLastLook * 100).toFixed(1)}%), always-valid confidence sequence in ${(aa.sequentialAnyLook * 100).toFixed(1)}%.
  Bandit, 10,000 decisions, arms 6% / 8% / 12%, rewards 50 decisions late: regret ${bandit.regret.toFixed(1)} against the best fixed arm vs ${bandit.uniformRegret.toFixed(1)} for uniform random; best arm chosen ${(bandit.bestShare * 100).toFixed(1)}% of treated decisions.
  Holdout lift 95% interval covered the true lift in ${covered} of 500 runs (${((covered / 500) * 100).toFixed(1)}%).
`;
  console.log(section);
  if (args.includes('--write')) writeSection(join(ROOT, 'docs', 'benchmarks.md'), 'experiments', section);
}
