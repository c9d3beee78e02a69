// `npm run bench -- crash-matrix -- --rounds N`: the crash matrix of docs/reliability.md. `tandem start` under
// continuous load, killed with SIGKILL inside each phase of the pipeline in turn (one phase per round), restarted and
// checked: every acknowledged event stored exactly once, no message at the sink under two idempotency keys, every
// owed message delivered at the end, definitions all of one side of each change, versions without gaps.
import { loadavg } from 'node:os';
import { matrixTable, runCrashMatrix } from './_trust/matrix.js';

export async function run(args: string[]): Promise<void> {
  const at = args.indexOf('--rounds');
  const rounds = at >= 0 ? Number(args[at + 1]) : 16;
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds takes a whole number of rounds (one kill each)');
  const loadBefore = loadavg()[0];
  const result = await runCrashMatrix({ rounds, log: (line) => console.log(line) });
  console.log(`\n${matrixTable(result)}\n`);
  console.log(`${result.rounds} rounds in ${result.seconds.toFixed(0)} s; load average ${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after`);
  console.log(`messages owed by the journeys at the end: ${result.expectedMessages}, delivered: ${result.deliveredExpected}; sink requests ${result.sinkRequests}, of which repeats with a key already received (in flight at a kill): ${result.sameKeyRepeats}`);
  console.log(`workspace versions: ${result.versions}; clean stop exit code ${result.cleanStopCode}`);
  if (result.problems.length) {
    console.log(`\nPROBLEMS (${result.problems.length}):\n${result.problems.join('\n')}`);
    process.exitCode = 1;
  } else console.log('\nno problem: nothing lost, nothing duplicated, every owed message delivered, definitions consistent');
}
