import { randomInt } from 'node:crypto';
import { Command, Option } from 'commander';
import { systemClock } from '../core/clock.js';
import { TandemError } from '../core/errors.js';
import { countHistory, generateHistory, type DemoMessage } from './generate.js';
import { describeFetchError, errorOf, progressBar, sendMessages, type SendResult } from './send.js';
import { baseUrl, wholeNumber } from '../core/cli-options.js';

/** `tandem demo`: sends a generated e-commerce history to a running Tandem, for trying it out and for benchmarks. */

export const DEMO_SOURCE = 'demo';

export interface DemoOptions {
  profiles: number;
  days: number;
  /** Random when not given; printed so that the run can be repeated. */
  seed?: number;
  url: string;
  writeKey?: string;
  adminToken?: string;
  concurrency: number;
}

export interface DemoIo {
  /** End of the history's window (the CLI passes the system time). */
  now: number;
  /** Human-readable notes (stderr in the CLI). */
  note(line: string): void;
  /** Draw a progress bar on stderr. */
  progress: boolean;
}

export interface DemoSummary {
  profiles: number;
  days: number;
  seed: number;
  messages: number;
  byType: Record<string, number>;
  byEvent: Record<string, number>;
  /** The write key of the source created for this run, if one was. */
  createdWriteKey?: string;
  send: SendResult;
}

export function demoCommand(): Command {
  return new Command('demo')
    .description('Send a realistic e-commerce history (browsing, sign-ups, orders, e-mail engagement) to a running Tandem')
    .option('--profiles <n>', 'number of people', wholeNumber(0), 1000)
    .option('--days <d>', 'days of history, ending now', wholeNumber(1), 30)
    .option('--seed <n>', 'seed for a repeatable history (default: random, printed)', wholeNumber(0))
    .option('--url <url>', 'Tandem base URL', baseUrl, 'http://127.0.0.1:8080')
    .addOption(new Option('--write-key <key>', 'write key of the source to send to').env('TANDEM_WRITE_KEY'))
    .addOption(new Option('--admin-token <token>', `admin token, to create a source '${DEMO_SOURCE}' when no write key is given`).env('TANDEM_ADMIN_TOKEN'))
    .option('--concurrency <n>', 'requests in flight', wholeNumber(1), 4)
    .action(async (opts: DemoOptions) => {
      const summary = await runDemo(opts, { now: systemClock.now(), note: (line) => process.stderr.write(`${line}\n`), progress: true });
      process.stdout.write(`${formatSummary(summary)}\n`);
      if (summary.send.refused > 0) process.exitCode = 1;
    });
}

/** Resolves the write key, generates the history and sends it; throws TandemError with a clear message on failure. */
export async function runDemo(opts: DemoOptions, io: DemoIo): Promise<DemoSummary> {
  const url = opts.url.replace(/\/+$/, '');
  await checkReachable(url);
  let writeKey = opts.writeKey;
  let createdWriteKey: string | undefined;
  if (!writeKey) {
    if (!opts.adminToken) {
      throw new TandemError(
        'missing_write_key',
        `no write key: pass --write-key KEY (or set TANDEM_WRITE_KEY), or give an admin token (--admin-token or TANDEM_ADMIN_TOKEN) to create a source '${DEMO_SOURCE}'`,
      );
    }
    writeKey = createdWriteKey = await createDemoSource(url, opts.adminToken);
    io.note(`Created source '${DEMO_SOURCE}'. Its write key is shown this once; pass it with --write-key next time: ${writeKey}`);
  }

  const seed = opts.seed ?? randomInt(0, 2 ** 31);
  const history = { profiles: opts.profiles, days: opts.days, seed, now: io.now };
  const total = countHistory(history);
  io.note(`Sending ${total.exact ? '' : 'about '}${total.messages.toLocaleString('en-US')} messages for ${opts.profiles.toLocaleString('en-US')} profiles over ${opts.days} days (seed ${seed}) to ${url}`);

  const byType: Record<string, number> = {};
  const byEvent: Record<string, number> = {};
  let messages = 0;
  function* tally(source: Iterable<DemoMessage>): Generator<DemoMessage> {
    for (const m of source) {
      messages++;
      byType[m.type] = (byType[m.type] ?? 0) + 1;
      if (m.type === 'track') byEvent[m.event] = (byEvent[m.event] ?? 0) + 1;
      yield m;
    }
  }

  const bar = io.progress ? progressBar(total.messages, !total.exact) : undefined;
  let send: SendResult;
  try {
    send = await sendMessages(tally(generateHistory(history)), {
      url,
      writeKey,
      concurrency: opts.concurrency,
      onProgress: (p) => bar?.update(p),
      // Problems go below the bar as they happen, so a long run shows them early.
      onProblem: (line) => io.note(line),
    });
  } finally {
    bar?.stop(messages);
  }
  return { profiles: opts.profiles, days: opts.days, seed, messages, byType, byEvent, ...(createdWriteKey ? { createdWriteKey } : {}), send };
}

/** Fails early, before the progress bar, when nothing answers at the URL. */
async function checkReachable(url: string): Promise<void> {
  try {
    const res = await fetch(`${url}/healthz`);
    await res.body?.cancel();
  } catch (error) {
    throw new TandemError('unreachable', `cannot reach Tandem at ${url} (${describeFetchError(error)}): start it with \`tandem start\`, or point --url at it`);
  }
}

/** Creates the source `demo` through the admin API and returns its write key. */
export async function createDemoSource(url: string, adminToken: string): Promise<string> {
  let res: Response;
  try {
    res = await fetch(`${url}/api/v1/sources`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ key: DEMO_SOURCE, name: 'Demo data (tandem demo)' }),
    });
  } catch (error) {
    throw new TandemError('unreachable', `cannot reach Tandem at ${url} (${describeFetchError(error)})`);
  }
  if (res.status === 201) {
    const body = (await res.json()) as { writeKey?: unknown };
    if (typeof body.writeKey !== 'string') throw new TandemError('unexpected_answer', `POST ${url}/api/v1/sources answered without a writeKey`);
    return body.writeKey;
  }
  const { message } = await errorOf(res);
  if (res.status === 409) {
    throw new TandemError(
      'source_exists',
      `source '${DEMO_SOURCE}' already exists, and its write key is shown only when it is created: pass it with --write-key (or TANDEM_WRITE_KEY), or delete the source (DELETE /api/v1/sources/${DEMO_SOURCE}) so that a new one is made`,
    );
  }
  if (res.status === 401 || res.status === 403) throw new TandemError('unauthorized', `the admin token was refused (HTTP ${res.status}): ${message}`);
  throw new TandemError('source_create_failed', `creating source '${DEMO_SOURCE}' failed (HTTP ${res.status}): ${message}`);
}

const n = (x: number) => x.toLocaleString('en-US');

export function formatSummary(s: DemoSummary): string {
  const r = s.send;
  const sortDesc = (o: Record<string, number>) => Object.entries(o).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const width = Math.max(0, ...Object.keys(s.byEvent).map((k) => k.length));
  const lines = [
    `Sent ${n(s.messages)} messages for ${n(s.profiles)} profiles over ${s.days} days (seed ${s.seed}) in ${r.seconds.toFixed(1)} s (${n(Math.round(s.messages / Math.max(r.seconds, 0.001)))} messages/s)`,
    `  requests:  ${n(r.requests)} (${n(r.retries)} retried)`,
    `  accepted:  ${n(r.accepted)}${r.quarantined ? `, quarantined ${n(r.quarantined)}` : ''}`,
    `  errors:    ${n(r.refused)} messages refused, ${n(r.failedRequests)} requests failed`,
    `  by type:   ${sortDesc(s.byType).map(([k, v]) => `${k} ${n(v)}`).join(', ')}`,
    '  events:',
    ...sortDesc(s.byEvent).map(([k, v]) => `    ${k.padEnd(width)}  ${n(v).padStart(9)}`),
  ];
  if (r.problems.length) lines.push('  first problems:', ...r.problems.slice(0, 5).map((p) => `    ${p.status ? `HTTP ${p.status} ` : ''}${p.code}: ${p.message}`));
  return lines.join('\n');
}
