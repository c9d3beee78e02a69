// `npm run bench -- metadata [--profiles 400] [--rounds 9] [--collect-rounds 3] [--no-write]`
//
// The CPU cost per event of observing the schema (src/metadata/observed.ts), side by side in the same run with the
// collect path's cost per event (Collector.prepare: validation, normalisation, tracking plan, serialisation) on the
// same demo messages. Rounds alternate between the two so a noisy shared machine affects both alike. Observing is
// timed on a warm schema (as in a running installation) over events parsed batch by batch just before, as the
// events stage hands them to its listeners; a new schema per round is shown beside it. Part (b) measures the same
// cost as the collect benchmark sees it: \`tandem start\` ingesting 100-event batches with the observed schema on and
// off (config \`metadata.observe\`), alternating in the same run, until every accepted event is stored.
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBaselineChild, stopChild, writeSection } from './_process.js';
import { batchPhase, parseArgs as parseCollectArgs } from './collect.js';
import { Collector } from '../src/collect/collector.js';
import type { LogEntry } from '../src/collect/message.js';
import { parseConfig } from '../src/core/config.js';
import type { Source, StoredEvent } from '../src/core/ports/store.js';
import { generateHistory } from '../src/demo/generate.js';
import { ObservedSchema } from '../src/metadata/observed.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BATCH = 100;

export async function run(args: string[]): Promise<void> {
  let profiles = 400;
  let rounds = 9;
  let write = true;
  let collectRounds = 3;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--profiles') profiles = Number(args[++i]);
    else if (args[i] === '--collect-rounds') collectRounds = Number(args[++i]);
    else if (args[i] === '--rounds') rounds = Number(args[++i]);
    else if (args[i] === '--no-write') write = false;
    else throw new Error(`unknown option ${args[i]}`);
  }
  const messages = [...generateHistory({ profiles, days: 30, seed: 5, now: Date.parse('2026-03-15T12:00:00.000Z') })];
  const config = parseConfig({ dataDir: '/tmp/unused' });
  const collector = new Collector({ partitions: config.collect.partitions, append: async () => undefined }, { check: () => ({ violations: [], quarantine: false }) }, config.collect);
  const source: Source = { id: 'src', workspaceId: 'default', key: 'default', settings: {} } as unknown as Source;
  const batches = Array.from({ length: Math.ceil(messages.length / BATCH) }, (_, i) => ({ batch: messages.slice(i * BATCH, (i + 1) * BATCH) }));

  // The log entries collection wrote. Each round goes batch by batch: collect the batch (timed), then parse its log
  // entry as the events stage does (not timed) and observe the events right away (timed), so they are as fresh in
  // the CPU caches as in the pipeline, and both sides see the same moment of a shared machine's load.
  const payloads = batches.map((b) => collector.prepare(source, { kind: 'import' }, structuredClone(b), Date.now()).batches.map((lb) => lb.payload));
  const parse = (payload: string): StoredEvent[] => (JSON.parse(payload) as LogEntry[]).map((e, i) => ({ id: i, workspaceId: 'default', sourceId: 'src', message: e.message, violations: e.violations }));
  const round = (schema: ObservedSchema): { collect: number; observe: number } => {
    const inputs = batches.map((b) => structuredClone(b));
    let collect = 0n;
    let observe = 0n;
    for (let i = 0; i < inputs.length; i++) {
      let t0 = process.hrtime.bigint();
      collector.prepare(source, { kind: 'import' }, inputs[i], Date.now());
      collect += process.hrtime.bigint() - t0;
      for (const p of payloads[i]) {
        const events = parse(p);
        t0 = process.hrtime.bigint();
        schema.observe(events);
        observe += process.hrtime.bigint() - t0;
      }
    }
    return { collect: Number(collect) / messages.length, observe: Number(observe) / messages.length };
  };
  // Observing a backlog: batch after batch with nothing between them but the parse (the events stage catching up).
  const backlog = (schema: ObservedSchema): number => {
    let observe = 0n;
    for (const ps of payloads) {
      for (const p of ps) {
        const events = parse(p);
        const t0 = process.hrtime.bigint();
        schema.observe(events);
        observe += process.hrtime.bigint() - t0;
      }
    }
    return Number(observe) / messages.length;
  };
  // Warm: a schema that has seen the data before, as in a running installation (its fields are past the first
  // SKETCH_ALL occurrences, so their sketches are sampled). Cold: a new schema each round (every field new).
  const warmSchema = new ObservedSchema();
  round(warmSchema);

  const collectNs: number[] = [];
  const warmNs: number[] = [];
  const warmRatio: number[] = [];
  const coldRatio: number[] = [];
  const backlogRatio: number[] = [];
  for (let r = 0; r < rounds + 1; r++) {
    const warm = round(warmSchema);
    const bulk = backlog(warmSchema);
    const cold = round(new ObservedSchema());
    if (r === 0) continue; // warm-up
    collectNs.push(warm.collect);
    warmNs.push(warm.observe);
    warmRatio.push(warm.observe / warm.collect);
    backlogRatio.push(bulk / warm.collect);
    coldRatio.push(cold.observe / cold.collect);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const c = median(collectNs);
  const o = median(warmNs);
  const load = loadavg().map((x) => x.toFixed(2)).join(' ');
  const lines = [
    `messages: ${messages.length} demo messages (${profiles} profiles, 30 days), ${rounds} rounds, medians`,
    `collect (Collector.prepare): ${(c / 1000).toFixed(2)} µs/event`,
    `observe (ObservedSchema.observe), warm schema: ${(o / 1000).toFixed(2)} µs/event`,
    `observe / collect, warm schema, batch by batch between collect batches: ${(median(warmRatio) * 100).toFixed(1)}% (median of the rounds' ratios; target under 5%)`,
    `observe / collect, warm schema, a backlog (batches one after another): ${(median(backlogRatio) * 100).toFixed(1)}%`,
    `observe / collect, new schema each round (every field new, its first 256 occurrences all sketched): ${(median(coldRatio) * 100).toFixed(1)}%`,
    `machine: ${cpus().length} cores, load average ${load}`,
  ];
  console.log(lines.join('\n'));
  const collectLines = collectRounds > 0 ? await collectCost(collectRounds) : [];
  console.log(collectLines.join('\n'));
  if (write) {
    const section = `## metadata\n\n\`npm run bench -- metadata\` (${new Date().toISOString().slice(0, 10)}): the CPU cost of observing the schema per event,\nbeside the collect path's on the same messages, in one process.\n\n${lines.map((l) => `- ${l}`).join('\n')}\n${collectLines.length ? `\n${collectLines.join('\n')}\n` : ''}`;
    writeSection(join(ROOT, 'docs', 'benchmarks.md'), 'metadata', section);
  }
}

/**
 * Part (b): the collect benchmark's batch phase (bench/collect.ts: 16 connections of 100-event batches for 10 s, a
 * fresh \`tandem start\` each time, its ceiling measured just before) with \`metadata.observe\` on and off, in
 * alternating order round by round. Server CPU is counted from the start of ingest until every accepted event was
 * stored, so the observing done by the events stage after ingest is included.
 */
async function collectCost(rounds: number): Promise<string[]> {
  const o = { ...parseCollectArgs([]), syncs: ['normal' as const] };
  const baseline = await startBaselineChild();
  const on: { eps: number; ratio: number; cpu: number }[] = [];
  const off: { eps: number; ratio: number; cpu: number }[] = [];
  const loadBefore = loadavg().map((x) => x.toFixed(2)).join(' ');
  try {
    for (let r = 0; r < rounds; r++) {
      for (const observe of r % 2 === 0 ? [true, false] : [false, true]) {
        const b = await batchPhase('normal', baseline, o, false, `metadata: { observe: ${observe} }\n`);
        const row = { eps: b.tandem.eventsPerSecond, ratio: b.ratio, cpu: b.cpuMsPer1kEventsToDrain };
        (observe ? on : off).push(row);
        console.error(`round ${r + 1}, observe ${observe}: ${Math.round(row.eps)} events/s (${(row.ratio * 100).toFixed(1)}% of the ceiling), ${row.cpu.toFixed(1)} CPU ms / 1k events to drain${b.backlogLeft ? ` (${b.backlogLeft} not stored when the drain window ended)` : ''}`);
      }
    }
  } finally {
    await stopChild(baseline);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const pct = (a: number, b: number) => `${(((a - b) / b) * 100).toFixed(1)}%`;
  const m = (rows: typeof on, k: 'eps' | 'ratio' | 'cpu') => median(rows.map((x) => x[k]));
  return [
    `### (b) In the collect benchmark: \`tandem start\`, 100-event batches, 16 connections, 10 s, storage.sync normal; ${rounds} rounds of each, alternating; medians`,
    '',
    '| metadata.observe | events/s | of the ceiling | server CPU ms / 1k events, ingest to stored |',
    '|---|---:|---:|---:|',
    `| true | ${Math.round(m(on, 'eps')).toLocaleString('en-US')} | ${(m(on, 'ratio') * 100).toFixed(1)}% | ${m(on, 'cpu').toFixed(1)} |`,
    `| false | ${Math.round(m(off, 'eps')).toLocaleString('en-US')} | ${(m(off, 'ratio') * 100).toFixed(1)}% | ${m(off, 'cpu').toFixed(1)} |`,
    '',
    `Observing costs ${pct(m(on, 'cpu'), m(off, 'cpu'))} more server CPU per event and changes throughput by ${pct(m(on, 'eps'), m(off, 'eps'))} (ratio to the ceiling: ${pct(m(on, 'ratio'), m(off, 'ratio'))}); target: under 5%. Load average before: ${loadBefore}; after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}.`,
  ];
}
