import { readFileSync } from 'node:fs';
import { systemClock } from '../core/clock.js';
import { extname } from 'node:path';
import { Command } from 'commander';
import { TandemError } from '../core/errors.js';
import { runFunctionOnce } from './try-function.js';

/** `tandem functions test FILE --event sample.json`: runs a function file locally on a sample, in the same sandbox. */
export function functionsCommand(): Command {
  const functions = new Command('functions').description('Event and webhook functions (docs/transformations.md)');
  functions
    .command('test')
    .description('Run a function file (.js or .ts) on a sample event or webhook payload, in the sandbox, and print the result')
    .argument('<file>', 'the function: an ES module whose default export is (event, ctx) => event | event[] | null')
    .requiredOption('--event <file>', 'a JSON file with the sample event (or webhook payload with --webhook)')
    .option('--webhook', 'the sample is a webhook payload: print the messages as returned')
    .option('--catalog <file>', 'a JSON file { "<catalog>": { "<key>": row } } that ctx.catalog reads')
    .option('--timeout-ms <n>', 'CPU time limit per call', (v) => Number(v), 50)
    .option('--memory-mb <n>', 'memory limit', (v) => Number(v), 32)
    .action(async (file: string, opts: { event: string; webhook?: boolean; catalog?: string; timeoutMs: number; memoryMb: number }) => {
      const read = (path: string, what: string) => {
        try {
          return readFileSync(path, 'utf8');
        } catch (error) {
          throw new TandemError('unreadable', `${what} ${path}: ${(error as Error).message}`, 400);
        }
      };
      const parse = (path: string, what: string): unknown => {
        try {
          return JSON.parse(read(path, what));
        } catch (error) {
          if (error instanceof TandemError) throw error;
          throw new TandemError('invalid_json', `${what} ${path}: ${(error as Error).message}`, 400);
        }
      };
      const catalogs = opts.catalog ? (parse(opts.catalog, '--catalog') as Record<string, Record<string, Record<string, unknown>>>) : {};
      const result = await runFunctionOnce(
        {
          key: 'local', type: opts.webhook ? 'webhook' : 'event', language: extname(file) === '.ts' ? 'typescript' : 'javascript', code: read(file, 'function'),
          ...(opts.webhook ? { source: 'local' } : { sources: ['local'] }), limits: { timeoutMs: opts.timeoutMs, memoryMb: opts.memoryMb },
        },
        parse(opts.event, '--event'),
        { get: (c, k) => catalogs[c]?.[k] },
        systemClock.now(),
      );
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      if (!result.ok) process.exitCode = 1;
    });
  return functions;
}
