// `npm run bench -- metadata [--profiles 400] [--rounds 5] [--no-write]`
//
// The CPU cost per event of observing the schema (src/metadata/observed.ts), side by side in the same run with the
// collect path's cost per event (Collector.prepare: validation, normalisation, tracking plan, serialisation) on the
// same demo messages. Rounds alternate between the two so a noisy shared machine affects both alike.
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSection } from './_process.js';
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
  let rounds = 5;
  let write = true;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--profiles') profiles = Number(args[++i]);
    else if (args[i] === '--rounds') rounds = Number(args[++i]);
    else if (args[i] === '--no-write') write = false;
    else throw new Error(`unknown option ${args[i]}`);
  }
  const messages = [...generateHistory({ profiles, days: 30, seed: 5, now: Date.parse('2026-03-15T12:00:00.000Z') })];
  const config = parseConfig({ dataDir: '/tmp/unused' });
  const collector = new Collector({ partitions: config.collect.partitions, append: async () => undefined }, { check: () => ({ violations: [], quarantine: false }) }, config.collect);
  const source: Source = { id: 'src', workspaceId: 'default', key: 'default', settings: {} } as unknown as Source;
  const batches = Array.from({ length: Math.ceil(messages.length / BATCH) }, (_, i) => ({ batch: messages.slice(i * BATCH, (i + 1) * BATCH) }));

  // The events as the events stage hands them to listeners: parsed from the log entries collection wrote.
  const stored: StoredEvent[][] = batches.map((b) => collector.prepare(source, { kind: 'import' }, structuredClone(b), Date.now()).batches.flatMap((lb) =>
    (JSON.parse(lb.payload) as LogEntry[]).map((e, i) => ({ id: i, workspaceId: 'default', sourceId: 'src', message: e.message, violations: e.violations }))));

  const collectNs: number[] = [];
  const observeNs: number[] = [];
  for (let r = 0; r < rounds + 1; r++) {
    const inputs = batches.map((b) => structuredClone(b));
    let t0 = process.hrtime.bigint();
    for (const b of inputs) collector.prepare(source, { kind: 'import' }, b, Date.now());
    const collect = Number(process.hrtime.bigint() - t0) / messages.length;
    const schema = new ObservedSchema();
    t0 = process.hrtime.bigint();
    for (const s of stored) schema.observe(s);
    const observe = Number(process.hrtime.bigint() - t0) / messages.length;
    if (r === 0) continue; // warm-up
    collectNs.push(collect);
    observeNs.push(observe);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const c = median(collectNs);
  const o = median(observeNs);
  const load = loadavg().map((x) => x.toFixed(2)).join(' ');
  const lines = [
    `messages: ${messages.length} demo messages (${profiles} profiles, 30 days), ${rounds} rounds, median per event`,
    `collect (Collector.prepare): ${(c / 1000).toFixed(2)} µs/event`,
    `observe (ObservedSchema.observe): ${(o / 1000).toFixed(2)} µs/event`,
    `observe / collect: ${((o / c) * 100).toFixed(1)}% (target under 5%)`,
    `machine: ${cpus().length} cores, load average ${load}`,
  ];
  console.log(lines.join('\n'));
  if (write) {
    const section = `## metadata\n\n\`npm run bench -- metadata\` (${new Date().toISOString().slice(0, 10)}): the CPU cost of observing the schema per event,\nbeside the collect path's on the same messages, in one process.\n\n${lines.map((l) => `- ${l}`).join('\n')}\n`;
    writeSection(join(ROOT, 'docs', 'benchmarks.md'), 'metadata', section);
  }
}
