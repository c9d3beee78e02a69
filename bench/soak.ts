// `npm run bench -- soak [-- --minutes M]` (default 30): a bounded soak run of `tandem start` (docs/reliability.md,
// "Soak"). For M minutes, at once: steady load (batches paced to a rate), a burst every 40-60 s, fuzzed bad input
// to the public collection endpoints (the fast-check generators of test/fuzz.test.ts, test/collect-arbitraries.ts),
// and a kill -9 followed by a restart about every M/4 minutes. The workspace is the crash matrix's (tracking plan,
// traits, audiences, journeys sending webhooks to a sink in this process). Reported: load held, faults injected and
// survived, bad inputs tried and their answers (never a 5xx), acknowledged events lost (must be 0), messages at the
// sink under two keys (must be 0), RSS over time.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { anyValidMessage, BASE, HUGE, hugeLiteral, wrongField, withHuge } from '../test/collect-arbitraries.js';
import { Sender } from './_trust/load.js';
import { Sink } from './_trust/sink.js';
import { eventsCaughtUp, storedCounts } from './_trust/store.js';
import { SHARED_MACHINE, TandemProcess } from './_trust/tandem.js';
import { documents } from './_trust/workspace.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One bad (or odd) request to a public endpoint: path, body and content type. */
function badInputs(seed: number, n: number): { kind: string; path: string; body: string; type: string }[] {
  const paths = ['/v1/track', '/v1/identify', '/v1/page', '/v1/screen', '/v1/group', '/v1/alias', '/v1/batch', '/v1/import'];
  const one = fc.oneof(
    // A message with one field its schema refuses.
    wrongField.map(({ type, field, value }) => ({ kind: 'wrong field', path: `/v1/${type}`, body: JSON.stringify({ ...BASE[type], [field]: value }), type: 'application/json' })),
    // The same inside a batch.
    wrongField.map(({ type, field, value }) => ({ kind: 'wrong field in batch', path: '/v1/batch', body: JSON.stringify({ batch: [{ ...BASE[type], type, [field]: value }] }), type: 'application/json' })),
    // Numbers JSON cannot hold.
    hugeLiteral.map((literal) => ({ kind: 'huge number', path: '/v1/track', body: withHuge(JSON.stringify({ userId: 'u', event: 'E', properties: { n: HUGE } }), literal), type: 'application/json' })),
    // Text that is not JSON, or JSON cut short.
    fc.tuple(fc.constantFrom(...paths), fc.oneof(fc.string({ maxLength: 200 }), fc.constantFrom('{', '{"a":}', "{'a':1}", 'NaN', '\u0000', '{"a":1}{"b":2}', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}')))
      .map(([path, body]) => ({ kind: 'not JSON', path, body, type: 'application/json' })),
    // Deep nesting.
    fc.integer({ min: 40, max: 3000 }).map((depth) => ({ kind: 'deep nesting', path: '/v1/track', body: `{"userId":"u","event":"E","properties":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`, type: 'application/json' })),
    // Random valid messages (odd but acceptable: accepted or refused with a 4xx, never a 5xx).
    anyValidMessage.map((m) => ({ kind: 'random message', path: `/v1/${m.type as string}`, body: JSON.stringify(m), type: 'application/json' })),
    // A content type collection does not take.
    fc.constantFrom(...paths).map((path) => ({ kind: 'wrong content type', path, body: '<xml/>', type: 'application/xml' })),
  );
  return fc.sample(one, { numRuns: n, seed });
}

export async function run(args: string[]): Promise<void> {
  const at = args.indexOf('--minutes');
  const minutes = at >= 0 ? Number(args[at + 1]) : 30;
  if (!(minutes > 0)) throw new Error('--minutes takes a number of minutes');
  const durationMs = minutes * 60_000;
  const load0 = loadavg()[0];
  const dir = mkdtempSync(join(tmpdir(), 'tandem-soak-'));
  const sink = await Sink.start(15);
  const server = await TandemProcess.create(dir, ['logLevel: warn', 'network:', '  allowPrivate: ["127.0.0.1/32"]', 'delivery:', '  retryBase: 200ms', '  retryMax: 1s', ...SHARED_MACHINE, ''].join('\n'), { TANDEM_TRUST_HOOK_SECRET: 'soak-hook-secret' });
  const sender = new Sender(() => ({ url: server.url, auth: server.auth }), { prefix: 'soak', batch: 50, concurrency: 4, batchesPerSecond: 6, newUsersPerBatch: 1 });
  const bursts = new Sender(() => ({ url: server.url, auth: server.auth }), { prefix: 'soakb', batch: 100, concurrency: 1, newUsersPerBatch: 0 });
  const rss: { minute: number; mb: number }[] = [];
  const bad = { tried: 0, byKind: new Map<string, number>(), statuses: new Map<string, number>(), fiveXX: [] as string[] };
  let kills = 0;
  let restarts = 0;
  const restartSeconds: number[] = [];
  let burstCount = 0;
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  try {
    await server.start();
    await server.adminJson('/workspace/apply', { json: { documents: documents(sink.url, 0), message: 'soak' } });
    sender.start();
    const sampler = setInterval(() => {
      const mb = server.rss() / 2 ** 20;
      if (mb > 0) rss.push({ minute: elapsed() / 60_000, mb });
    }, 5000);

    // Fuzzed bad input, about 5 requests a second, while the server is up.
    let fuzzing = true;
    const fuzz = (async () => {
      let seed = 1;
      while (fuzzing) {
        for (const input of badInputs(seed++, 50)) {
          if (!fuzzing) break;
          if (!server.running()) {
            await sleep(200);
            continue;
          }
          bad.tried++;
          bad.byKind.set(input.kind, (bad.byKind.get(input.kind) ?? 0) + 1);
          let status = 'error';
          try {
            const res = await fetch(`${server.url}${input.path}`, { method: 'POST', headers: { 'content-type': input.type, authorization: server.auth }, body: input.body, signal: AbortSignal.timeout(30_000) });
            status = String(res.status);
            await res.arrayBuffer();
            if (res.status >= 500) bad.fiveXX.push(`${res.status} ${input.kind} ${input.path} ${input.body.slice(0, 120)}`);
          } catch {
            // a connection cut by a kill: not an answer
          }
          bad.statuses.set(status, (bad.statuses.get(status) ?? 0) + 1);
          await sleep(200);
        }
      }
    })();

    // Bursts and kills on a schedule.
    const killEvery = durationMs / 4;
    let nextKill = killEvery * (0.6 + Math.random() * 0.6);
    let nextBurst = 40_000 + Math.random() * 20_000;
    while (elapsed() < durationMs) {
      if (elapsed() >= nextBurst) {
        burstCount++;
        await Promise.all(Array.from({ length: 40 }, () => bursts.sendOne()));
        nextBurst = elapsed() + 40_000 + Math.random() * 20_000;
      }
      if (elapsed() >= nextKill && elapsed() < durationMs - 30_000) {
        await server.kill9();
        kills++;
        const ms = await server.start();
        restarts++;
        restartSeconds.push(ms / 1000);
        nextKill = elapsed() + killEvery * (0.6 + Math.random() * 0.6);
      }
      await sleep(250);
    }
    fuzzing = false;
    await fuzz;
    await sender.stop();
    clearInterval(sampler);

    // Nothing acknowledged lost.
    await eventsCaughtUp(server.dataDir, 600_000);
    const stored = new Map([...storedCounts(server.dataDir, 'soak'), ...storedCounts(server.dataDir, 'soakb')]);
    const acked = [...sender.acked, ...bursts.acked];
    const lost = acked.filter((id) => !stored.has(id)).length;
    const twice = [...stored.values()].filter((n) => n > 1).length;
    const stopCode = await server.stop();

    const seconds = elapsed() / 1000;
    const perMinute = new Map<number, number[]>();
    for (const r of rss) perMinute.set(Math.floor(r.minute), [...(perMinute.get(Math.floor(r.minute)) ?? []), r.mb]);
    const fmt = (m: Map<unknown, number>) => [...m].map(([k, v]) => `${String(k)}: ${v}`).join(', ');
    console.log(`\nsoak: ${minutes} min (${seconds.toFixed(0)} s with the final checks); load average ${load0.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after`);
    console.log(`steady load: 6 batches of 50 a second offered by 4 senders; ${sender.acked.size.toLocaleString('en-US')} events acknowledged (${(sender.acked.size / (durationMs / 1000)).toFixed(0)} events/s over the run, kills and restarts included); answers ${fmt(sender.statuses)} (error: no connection, the server down or starting; retried every 100 ms)`);
    console.log(`bursts: ${burstCount} of 40 batches of 100 at once; ${bursts.acked.size.toLocaleString('en-US')} events acknowledged; answers ${fmt(bursts.statuses)}`);
    console.log(`faults: ${kills} kill -9, ${restarts} restarts survived (restart ${restartSeconds.map((s) => s.toFixed(0)).join(', ')} s)`);
    console.log(`bad input: ${bad.tried} requests tried (${fmt(bad.byKind)}); answers ${fmt(bad.statuses)}; 5xx: ${bad.fiveXX.length}${bad.fiveXX.length ? `\n  ${bad.fiveXX.slice(0, 10).join('\n  ')}` : ''}`);
    console.log(`data: ${acked.length.toLocaleString('en-US')} events acknowledged, lost ${lost}, stored twice ${twice}; sink: ${sink.byKey.size} messages, ${sink.duplicates().length} under two keys, ${sink.repeats()} same-key repeats; clean stop exit code ${stopCode}`);
    console.log(`RSS per minute (min-max MB): ${[...perMinute].map(([m, xs]) => `${m}: ${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)}`).join(', ')}`);
    if (lost || twice || bad.fiveXX.length || sink.duplicates().length || stopCode !== 0) process.exitCode = 1;
  } finally {
    await sender.stop();
    if (server.running()) await server.kill9();
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
