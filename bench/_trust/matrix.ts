// The crash matrix (docs/reliability.md, "Crash matrix"): `tandem start` as a real process on a real data directory,
// under continuous load, killed with SIGKILL inside each phase of the pipeline in turn, restarted, and checked after
// every restart and at the end. Used by bench/crash-matrix.ts (long) and test/crash-matrix.test.ts (short).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sender } from './load.js';
import { Sink } from './sink.js';
import { backfillsMidWay, eventsCaughtUp, members, positions, signedUpProfiles, storedCounts, type Positions } from './store.js';
import { SHARED_MACHINE, TandemProcess } from './tandem.js';
import { contains, definitionsOf, documents } from './workspace.js';

export const PHASES = ['random', 'collection', 'resolution', 'audiences', 'journeys', 'dispatch', 'backfill', 'apply'] as const;
export type Phase = (typeof PHASES)[number];

/** What the phases mean, for the table's legend. */
export const PHASE_NOTES: Record<Phase, string> = {
  random: 'a random moment 0.2-2 s into the round',
  collection: 'batch requests in flight (sent, not answered)',
  resolution: 'the resolve stage advanced since the last look and is behind the stored events',
  audiences: 'the apply stage (traits, audiences) advanced and is behind',
  journeys: 'the journeys stage advanced and is behind',
  dispatch: 'webhook requests in flight at the sink (received, not answered)',
  backfill: 'a backfill pending or mid-way (a row in apply_backfills) after a definition change through the API',
  apply: 'POST /workspace/apply sent and not answered',
};

export interface PhaseRow {
  phase: Phase;
  kills: number;
  /** Kills that landed inside the phase (detected just before the kill). */
  landed: number;
  /** Events acknowledged (2xx) during the rounds of this phase. */
  acked: number;
  /** Acknowledged events missing after the restart that followed (must be 0). */
  lost: number;
  /** Events stored twice, and messages that reached the sink under two idempotency keys (must be 0). */
  duplicates: number;
  /** Definition checks that failed after the restart (must be 0). */
  definitionProblems: number;
  restartMs: number[];
}

export interface MatrixResult {
  rows: PhaseRow[];
  rounds: number;
  seconds: number;
  ackedTotal: number;
  /** Messages the journeys owed at the end and how many reached the sink. */
  expectedMessages: number;
  deliveredExpected: number;
  /** Requests the sink received again with a key it had (in flight at a kill); a deduplicating receiver drops them. */
  sameKeyRepeats: number;
  sinkRequests: number;
  versions: number;
  cleanStopCode: number | null;
  problems: string[];
}

export interface MatrixOptions {
  rounds: number;
  /** Phases cycled through, one per round (default: all, in order). */
  phases?: readonly Phase[];
  batchesPerSecond?: number;
  log?: (line: string) => void;
  /** How long to wait at the end for every owed message. */
  deliveryTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runCrashMatrix(options: MatrixOptions): Promise<MatrixResult> {
  const log = options.log ?? (() => {});
  const phases = options.phases ?? PHASES;
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'tandem-crash-matrix-'));
  const sink = await Sink.start(15);
  const problems: string[] = [];
  const rows = new Map<Phase, PhaseRow>(phases.map((p) => [p, { phase: p, kills: 0, landed: 0, acked: 0, lost: 0, duplicates: 0, definitionProblems: 0, restartMs: [] }]));
  const server = await TandemProcess.create(
    dir,
    ['logLevel: warn', 'network:', '  allowPrivate: ["127.0.0.1/32"]', 'delivery:', '  retryBase: 200ms', '  retryMax: 1s', ...SHARED_MACHINE, ''].join('\n'),
    { TANDEM_TRUST_HOOK_SECRET: 'trust-hook-secret' },
  );
  const prefix = 'cm';
  const sender = new Sender(() => ({ url: server.url, auth: server.auth }), { prefix, batch: 50, concurrency: 4, batchesPerSecond: options.batchesPerSecond ?? 6, newUsersPerBatch: 1 });
  try {
    await server.start();
    if (!server.writeKey) throw new Error(`no write key on the first start:\n${server.output()}`);

    // The workspace, applied all or nothing; its apply time tells the apply phase how long a kill has to land.
    let variant = 0;
    const t0 = performance.now();
    await server.adminJson('/workspace/apply', { json: { documents: documents(sink.url, variant), message: 'crash matrix' } });
    const applyMs = performance.now() - t0;
    log(`workspace applied in ${applyMs.toFixed(0)} ms; data directory ${server.dataDir}`);
    /** Variants the definitions may be at after a restart: both while an apply's answer was lost to a kill. */
    let allowed = [variant];
    let lostSoFar = new Set<string>();
    let eventDupesSoFar = 0;
    let sinkDupesSoFar = 0;

    for (let round = 0; round < options.rounds; round++) {
      const phase = phases[round % phases.length];
      const row = rows.get(phase)!;
      const ackedBefore = sender.acked.size;
      sender.start();
      // Load flows before the phase is looked for: at least one batch acknowledged in this round (a server that has
      // just restarted on a loaded machine can take seconds to answer its first requests).
      const ackWait = performance.now() + 120_000;
      while (sender.acked.size === ackedBefore && performance.now() < ackWait) await sleep(50);
      await sleep(500);
      const landed = await reach(phase);
      await server.kill9();
      await sender.stop();
      row.kills++;
      if (landed) row.landed++;
      row.acked += sender.acked.size - ackedBefore;

      const restartMs = await server.start();
      row.restartMs.push(restartMs);

      // Every acknowledged event is stored, exactly once.
      await eventsCaughtUp(server.dataDir);
      const stored = storedCounts(server.dataDir, prefix);
      const lost = [...sender.acked].filter((id) => !stored.has(id));
      const newlyLost = lost.filter((id) => !lostSoFar.has(id));
      lostSoFar = new Set(lost);
      row.lost += newlyLost.length;
      if (newlyLost.length) problems.push(`round ${round + 1} (${phase}): ${newlyLost.length} acknowledged events missing, e.g. ${newlyLost.slice(0, 3).join(', ')}`);
      const eventDupes = [...stored.values()].filter((n) => n > 1).length;
      const sinkDupes = sink.duplicates().length;
      row.duplicates += eventDupes - eventDupesSoFar + (sinkDupes - sinkDupesSoFar);
      if (eventDupes > eventDupesSoFar) problems.push(`round ${round + 1} (${phase}): ${eventDupes - eventDupesSoFar} events stored twice`);
      if (sinkDupes > sinkDupesSoFar) problems.push(`round ${round + 1} (${phase}): ${sinkDupes - sinkDupesSoFar} messages reached the sink under two keys: ${JSON.stringify(sink.duplicates().slice(0, 2))}`);
      eventDupesSoFar = eventDupes;
      sinkDupesSoFar = sinkDupes;

      // Definitions: all of one variant (an apply is all or nothing), one the client may expect; versions without gaps.
      const defProblems = await checkDefinitions();
      row.definitionProblems += defProblems.length;
      for (const p of defProblems) problems.push(`round ${round + 1} (${phase}): ${p}`);
      log(`round ${round + 1}/${options.rounds} ${phase.padEnd(10)} ${landed ? 'landed' : 'MISSED'}  acked ${sender.acked.size}  stored ${stored.size}  sink ${sink.byKey.size} (+${sink.repeats()} repeats)  restart ${(restartMs / 1000).toFixed(1)} s  lost ${lost.length}  dup ${eventDupes + sinkDupes}`);
    }

    // The end: everything owed is delivered, every backfill done, then a clean stop.
    const owed = await settleDeliveries(options.deliveryTimeoutMs ?? 180_000);
    const backfills = await server.adminJson<{ data: unknown[] }>('/backfills');
    if (backfills.data.length) problems.push(`backfills still running at the end: ${JSON.stringify(backfills.data)}`);
    const defProblems = await checkDefinitions();
    problems.push(...defProblems.map((p) => `at the end: ${p}`));
    const versions = (await versionList()).length;
    const cleanStopCode = await server.stop();
    if (cleanStopCode !== 0) problems.push(`the clean stop exited with ${cleanStopCode}`);
    // After the clean stop, the store as it is on disk: every acknowledged event exactly once.
    const final = storedCounts(server.dataDir, prefix);
    const finalLost = [...sender.acked].filter((id) => final.get(id) !== 1);
    if (finalLost.length) problems.push(`after the clean stop: ${finalLost.length} acknowledged events missing or stored twice`);

    return {
      rows: [...rows.values()],
      rounds: options.rounds,
      seconds: (performance.now() - started) / 1000,
      ackedTotal: sender.acked.size,
      expectedMessages: owed.expected,
      deliveredExpected: owed.delivered,
      sameKeyRepeats: sink.repeats(),
      sinkRequests: sink.hits.length,
      versions,
      cleanStopCode,
      problems,
    };

    /** Waits until the phase is under way (or 20 s pass); true when it was when this returned. */
    async function reach(phase: Phase): Promise<boolean> {
      const deadline = performance.now() + 20_000;
      const moving = async (read: (p: Positions) => number, behind: (p: Positions) => number) => {
        let last = read(positions(server.dataDir));
        while (performance.now() < deadline) {
          await sleep(5 + Math.random() * 20);
          const p = positions(server.dataDir);
          if (read(p) !== last && read(p) < behind(p)) return true;
          last = read(p);
        }
        return false;
      };
      switch (phase) {
        case 'random':
          await sleep(200 + Math.random() * 1800);
          return true;
        case 'collection':
          await sleep(Math.random() * 800);
          while (sender.inFlight === 0 && performance.now() < deadline) await sleep(1);
          return sender.inFlight > 0;
        case 'resolution':
          return moving((p) => p.resolve, (p) => p.maxEvent);
        case 'audiences':
          return moving((p) => p.apply, (p) => p.maxEvent);
        case 'journeys':
          return moving((p) => p.journeys, (p) => p.maxEvent);
        case 'dispatch':
          while (sink.inFlight === 0 && performance.now() < deadline) await sleep(1);
          return sink.inFlight > 0;
        case 'backfill': {
          // A definition change through the API (acknowledged), then the kill while its backfill is mid-way.
          for (let attempt = 0; attempt < 4 && performance.now() < deadline; attempt++) {
            variant = 1 - variant;
            const docs = definitionsOf(documents(sink.url, variant)).filter((d) => d.path.startsWith('/audiences/big_spenders') || d.path.startsWith('/traits/order_count'));
            for (const d of docs) await server.adminJson(d.path, { method: 'PUT', json: d.body });
            allowed = [variant];
            const end = performance.now() + 4000;
            while (performance.now() < end) {
              if (backfillsMidWay(server.dataDir) > 0) return true;
              await sleep(2);
            }
          }
          return false;
        }
        case 'apply': {
          // The kill lands at a random moment of the apply request, sized by how long the first apply took.
          const next = 1 - variant;
          allowed = [variant, next];
          let answered = false;
          const request = server.admin('/workspace/apply', { json: { documents: documents(sink.url, next), message: `flip to ${next}` } }).then(
            (res) => {
              answered = true;
              if (res.ok) allowed = [next];
            },
            () => {},
          );
          await sleep(Math.random() * Math.min(applyMs * 0.5, 200));
          const inside = !answered;
          void request;
          variant = next; // if it did not commit, the check below accepts the old side and resets the expectation
          return inside;
        }
      }
    }

    async function versionList(): Promise<number[]> {
      const out: number[] = [];
      let before: number | undefined;
      for (;;) {
        const page = await server.adminJson<{ data: { version: number }[]; next?: number }>(`/versions?limit=500${before ? `&before=${before}` : ''}`);
        out.push(...page.data.map((v) => v.version));
        if (page.next === undefined) return out;
        before = page.next;
      }
    }

    async function checkDefinitions(): Promise<string[]> {
      const found: string[] = [];
      const sides = new Set<number>();
      for (const v of [0, 1]) {
        let all = true;
        for (const d of definitionsOf(documents(sink.url, v))) {
          const res = await server.admin(d.path);
          if (!res.ok || !contains(await res.json(), d.body)) all = false;
        }
        if (all) sides.add(v);
      }
      // Both sides share most definitions; exactly one side must match whole (the flipped ones differ).
      const side = [...sides][0];
      if (sides.size !== 1) found.push(`the definitions match ${sides.size} variants whole (a half-applied change?)`);
      else if (!allowed.includes(side)) found.push(`the definitions are at variant ${side}, expected ${allowed.join(' or ')}`);
      else {
        variant = side;
        allowed = [side];
      }
      const versions = (await versionList()).sort((a, b) => a - b);
      const gaps = versions.filter((v, i) => v !== i + 1);
      if (gaps.length) found.push(`the versions list has gaps or repeats: ${versions.slice(0, 20).join(',')}`);
      return found;
    }

    async function settleDeliveries(timeoutMs: number): Promise<{ expected: number; delivered: number }> {
      const end = performance.now() + timeoutMs;
      let expected = 0;
      let delivered = 0;
      for (;;) {
        await eventsCaughtUp(server.dataDir);
        const p = positions(server.dataDir);
        const caughtUp = p.resolve >= p.maxEvent && p.apply >= p.maxEvent && p.journeys >= p.maxEvent;
        const signups = signedUpProfiles(server.dataDir, prefix);
        const vip = members(server.dataDir, 'big_spenders');
        const got = new Set([...sink.byKey.values()].map((d) => `${d.journey}/${d.node}/${d.profile}`));
        const owed = [...[...signups.values()].flatMap((profile) => [`welcome/hello/${profile}`, `welcome/reminder/${profile}`]), ...[...vip].map((profile) => `vip/thanks/${profile}`)];
        expected = owed.length;
        const missing = owed.filter((k) => !got.has(k));
        delivered = expected - missing.length;
        const unacked = [...sender.signups].filter((u) => !signups.has(u));
        if (caughtUp && missing.length === 0 && unacked.length === 0) return { expected, delivered };
        if (performance.now() > end) {
          problems.push(`after ${timeoutMs / 1000} s: ${missing.length} of ${expected} owed messages not delivered (e.g. ${missing.slice(0, 3).join(', ')}); ${unacked.length} acknowledged signups not resolved; stages caught up: ${caughtUp}`);
          return { expected, delivered };
        }
        await sleep(500);
      }
    }
  } finally {
    await sender.stop();
    if (server.running()) await server.kill9();
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The table of docs/reliability.md. */
export function matrixTable(result: MatrixResult): string {
  const lines = ['| phase (where the kill landed) | kills | landed in the phase | events acknowledged | lost | duplicates | definition problems | restart (median) |', '|---|---:|---:|---:|---:|---:|---:|---:|'];
  const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : 0);
  for (const r of result.rows) {
    lines.push(`| ${r.phase}: ${PHASE_NOTES[r.phase]} | ${r.kills} | ${r.landed} | ${r.acked.toLocaleString('en-US')} | ${r.lost} | ${r.duplicates} | ${r.definitionProblems} | ${(median(r.restartMs) / 1000).toFixed(1)} s |`);
  }
  const sum = (f: (r: PhaseRow) => number) => result.rows.reduce((a, r) => a + f(r), 0);
  lines.push(`| **all** | ${sum((r) => r.kills)} | ${sum((r) => r.landed)} | ${result.ackedTotal.toLocaleString('en-US')} | ${sum((r) => r.lost)} | ${sum((r) => r.duplicates)} | ${sum((r) => r.definitionProblems)} | |`);
  return lines.join('\n');
}
