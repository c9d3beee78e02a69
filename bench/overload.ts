// `npm run bench -- overload [-- --seconds S]`: offered load at twice the sustainable rate (docs/reliability.md,
// "Overload"). In one run, on one `tandem start` child process:
//   1. sustainable: closed loop (8 requests in flight, batches of 100) for S seconds: the events/s it sustains;
//   2. the write key's limit is set to that rate (PUT /sources/default, settings.rateLimit);
//   3. overload: open loop at twice that rate for S seconds (requests sent on schedule, whatever the answers);
//   4. recovery: open loop at half that rate for S seconds.
// Reported: RSS over time, answers by status, whether every 429/503 carried Retry-After and the RateLimit headers,
// accepted throughput per phase, the pipeline's backlog, and after the pipeline has caught up, whether every
// acknowledged event is stored exactly once.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventsCaughtUp, positions, storedCounts } from './_trust/store.js';
import { TandemProcess } from './_trust/tandem.js';

const BATCH = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface PhaseStats { name: string; offeredPerSecond: number; seconds: number; statuses: Map<string, number>; acceptedEvents: number; missingHeaders: number; shedByClient: number; rssMax: number; backlogMax: number }

export async function run(args: string[]): Promise<void> {
  const at = args.indexOf('--seconds');
  const seconds = at >= 0 ? Number(args[at + 1]) : 15;
  const dir = mkdtempSync(join(tmpdir(), 'tandem-overload-'));
  const server = await TandemProcess.create(dir, 'logLevel: warn\n');
  const load0 = loadavg()[0];
  const rss: { t: number; phase: string; mb: number; backlog: number }[] = [];
  const acked = new Set<string>();
  let next = 0;
  let phase = 'start';
  const t0 = performance.now();
  try {
    await server.start();
    const sampler = setInterval(() => {
      let backlog = 0;
      try {
        const p = positions(server.dataDir);
        backlog = p.logHead - p.events;
      } catch {
        // the files are being created
      }
      rss.push({ t: (performance.now() - t0) / 1000, phase, mb: server.rss() / 2 ** 20, backlog });
    }, 500);

    /** One batch; the status as a string, and whether a refusal carried the headers it must. */
    const sendBatch = async (stats: PhaseStats) => {
      const ids = Array.from({ length: BATCH }, () => `ov-${next++}`);
      const body = JSON.stringify({ batch: ids.map((messageId, i) => ({ type: 'track', userId: `u${(next + i) % 5000}`, event: 'Overload', messageId, properties: { i } })) });
      let status = 'error';
      try {
        const res = await fetch(`${server.url}/v1/batch`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: server.auth }, body, signal: AbortSignal.timeout(30_000) });
        status = String(res.status);
        const answer = (await res.json()) as { accepted?: number };
        if (res.ok) {
          if (answer.accepted !== BATCH) throw new Error(`a 2xx accepted ${answer.accepted} of ${BATCH}`);
          for (const id of ids) acked.add(id);
          stats.acceptedEvents += BATCH;
        } else if (res.status === 429 || res.status === 503) {
          const needed = res.status === 429 ? ['retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'] : ['retry-after'];
          if (needed.some((h) => res.headers.get(h) === null)) stats.missingHeaders++;
        }
      } catch (error) {
        if ((error as Error).message.startsWith('a 2xx')) throw error;
      }
      stats.statuses.set(status, (stats.statuses.get(status) ?? 0) + 1);
    };

    const newStats = (name: string, offeredPerSecond: number): PhaseStats => ({ name, offeredPerSecond, seconds, statuses: new Map(), acceptedEvents: 0, missingHeaders: 0, shedByClient: 0, rssMax: 0, backlogMax: 0 });
    const finish = (stats: PhaseStats) => {
      const mine = rss.filter((r) => r.phase === stats.name);
      stats.rssMax = Math.max(0, ...mine.map((r) => r.mb));
      stats.backlogMax = Math.max(0, ...mine.map((r) => r.backlog));
      return stats;
    };

    // 1. Sustainable: closed loop.
    phase = 'sustainable';
    const sustainable = newStats('sustainable', 0);
    const end1 = performance.now() + seconds * 1000;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (performance.now() < end1) await sendBatch(sustainable);
    }));
    const rate = Math.max(BATCH, Math.round(sustainable.acceptedEvents / seconds));
    sustainable.offeredPerSecond = rate;
    finish(sustainable);
    console.log(`sustainable: ${rate} events/s (closed loop, 8 in flight)`);

    // 2. The write key's limit at that rate (burst: one second's worth).
    await server.adminJson('/sources/default', { method: 'PUT', json: { key: 'default', name: 'Default source', rateLimit: { eventsPerSecond: rate, burst: rate } } });
    await sleep(1000); // the front drops its cached source when the core says so

    /** Open loop: requests leave on schedule whatever the answers; at most 512 in flight (beyond: shed by the client). */
    const openLoop = async (name: string, eventsPerSecond: number) => {
      phase = name;
      const stats = newStats(name, eventsPerSecond);
      const perSecond = eventsPerSecond / BATCH;
      const start = performance.now();
      const pending = new Set<Promise<void>>();
      let sent = 0;
      while (performance.now() - start < seconds * 1000) {
        const due = Math.floor(((performance.now() - start) / 1000) * perSecond);
        for (; sent < due; sent++) {
          if (pending.size >= 512) {
            stats.shedByClient++;
            continue;
          }
          const p: Promise<void> = sendBatch(stats).finally(() => pending.delete(p));
          pending.add(p);
        }
        await sleep(5);
      }
      await Promise.all(pending);
      console.log(`${name}: offered ${eventsPerSecond} events/s (scheduled ${sent} requests, sent ${sent - stats.shedByClient}, shed by the client at 512 in flight ${stats.shedByClient}), accepted ${(stats.acceptedEvents / seconds).toFixed(0)} events/s, answers ${JSON.stringify(Object.fromEntries(stats.statuses))}`);
      return finish(stats);
    };
    const overload = await openLoop('overload', rate * 2);
    const recovery = await openLoop('recovery', Math.round(rate / 2));
    phase = 'drain';

    // Nothing acknowledged lost: once the pipeline has caught up, every acknowledged messageId stored exactly once.
    const drainStart = performance.now();
    await eventsCaughtUp(server.dataDir, 600_000);
    const drainSeconds = (performance.now() - drainStart) / 1000;
    clearInterval(sampler);
    const stored = storedCounts(server.dataDir, 'ov');
    const lost = [...acked].filter((id) => !stored.has(id)).length;
    const twice = [...stored.values()].filter((n) => n > 1).length;
    const stopCode = await server.stop();

    const rows = [sustainable, overload, recovery].map((s) => {
      const total = [...s.statuses.values()].reduce((a, b) => a + b, 0);
      const refused = (s.statuses.get('429') ?? 0) + (s.statuses.get('503') ?? 0);
      return `| ${s.name} | ${s.name === 'sustainable' ? 'closed loop, 8 in flight' : `${s.offeredPerSecond.toLocaleString('en-US')} events/s`} | ${(s.acceptedEvents / seconds).toFixed(0)} | ${total} | ${refused} | ${s.statuses.get('error') ?? 0} | ${s.missingHeaders} | ${s.rssMax.toFixed(0)} MB | ${s.backlogMax} |`;
    });
    const byPhase = (name: string) => rss.filter((r) => r.phase === name).map((r) => r.mb);
    const ov = byPhase('overload');
    const half = Math.floor(ov.length / 2);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    console.log(`\n| phase | offered | accepted events/s | requests | 429/503 | failed connections | refusals missing headers | RSS max | backlog max (log records) |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n${rows.join('\n')}\n`);
    console.log(`RSS during overload: first half mean ${mean(ov.slice(0, half)).toFixed(0)} MB, second half mean ${mean(ov.slice(half)).toFixed(0)} MB`);
    console.log(`RSS over time (MB, every 2 s): ${rss.filter((_, i) => i % 4 === 0).map((r) => `${r.phase[0]}${r.mb.toFixed(0)}`).join(' ')}`);
    console.log(`acknowledged events: ${acked.size}; lost: ${lost}; stored twice: ${twice}; the pipeline caught up ${drainSeconds.toFixed(0)} s after the load stopped; clean stop exit code ${stopCode}`);
    console.log(`${seconds} s per phase; load average ${load0.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after`);
    if (lost || twice || overload.missingHeaders || recovery.missingHeaders) process.exitCode = 1;
  } finally {
    if (server.running()) await server.kill9();
    rmSync(dir, { recursive: true, force: true });
  }
}
