import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import cliProgress from 'cli-progress';
import { Command } from 'commander';
import { TandemError } from '../core/errors.js';
import { call } from '../workspace/cli.js';
import type { MigrationView } from './migrations.js';

interface Common {
  url?: string;
  token?: string;
  dryRun?: boolean;
  message?: string;
  author?: string;
  json?: boolean;
}

const POLL_MS = 300;

/** Polls a migration until it ends, with a progress bar on stderr when it is a terminal. */
async function follow(opts: Common, started: MigrationView): Promise<MigrationView> {
  const tty = process.stderr.isTTY === true;
  const bar = tty ? new cliProgress.SingleBar({ stream: process.stderr, format: 'migrate [{bar}] {percentage}% | {value}/{total} | {phase}', barsize: 30, hideCursor: true }, cliProgress.Presets.shades_classic) : undefined;
  bar?.start(1, 0, { phase: started.progress.phase });
  let m = started;
  let phase = '';
  while (m.status === 'running') {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    m = await call<MigrationView>(opts, 'GET', `/migrations/${encodeURIComponent(m.id)}`);
    if (bar) {
      bar.setTotal(Math.max(1, m.progress.total));
      bar.update(m.progress.done, { phase: m.progress.phase });
    } else if (m.progress.phase !== phase) process.stderr.write(`${(phase = m.progress.phase)}...\n`);
  }
  bar?.stop();
  return m;
}

function summary(m: MigrationView): string[] {
  const r = m.report ?? {};
  const lines = [`migration ${m.id}: ${m.kind}${m.dryRun ? ' (dry run: nothing was written)' : ''}`];
  const h = r.history as { matched: number; changed: number; unchanged: number; conflicts: number; failed: number; samples: { eventId: number; before: unknown; after: unknown }[]; failures: { eventId: number; value: unknown; reason: string }[] } | undefined;
  if (h) {
    lines.push(`  history: ${h.matched} events matched, ${h.changed} ${m.dryRun ? 'would change' : 'changed'}, ${h.unchanged} already right, ${h.conflicts} conflicts, ${h.failed} failed`);
    for (const s of h.samples) lines.push(`    event ${s.eventId}: ${JSON.stringify(s.before)} -> ${JSON.stringify(s.after)}`);
    for (const f of h.failures) lines.push(`    event ${f.eventId}: ${JSON.stringify(f.value)}: ${f.reason}`);
  }
  if (typeof r.quarantine === 'number') lines.push(`  quarantine: ${r.quarantine} held items`);
  for (const d of (r.definitions as { kind: string; key: string; op: string; changes: string[] }[] | undefined) ?? []) {
    lines.push(`  ${d.op} ${d.kind}/${d.key}`);
    for (const c of d.changes) lines.push(`      ${c}`);
  }
  const backfilled = (r.backfilled as string[] | undefined) ?? [];
  if (backfilled.length) lines.push(`  backfilled again (they read the new form already): ${backfilled.join(', ')}`);
  for (const w of (r.warnings as string[] | undefined) ?? []) lines.push(`  warning: ${w}`);
  if (typeof r.profiles === 'number') lines.push(`  rows: ${String(r.rows)}, profiles: ${r.profiles}, not found: ${String(r.notFound)}, trait values ${m.dryRun ? 'to change' : 'changed'}: ${String(r.values)}`);
  for (const s of (r.samples as { profileId: string; before: unknown; after: unknown }[] | undefined) ?? []) lines.push(`    profile ${s.profileId}: ${JSON.stringify(s.before)} -> ${JSON.stringify(s.after)}`);
  if (typeof r.version === 'number') lines.push(`  recorded as workspace version ${r.version}`);
  return lines;
}

const common = (cmd: Command) =>
  cmd
    .option('--url <url>', 'the running Tandem (default: $TANDEM_URL, else http://127.0.0.1:8080)')
    .option('--token <token>', 'admin token (default: $TANDEM_ADMIN_TOKEN)')
    .option('--dry-run', 'report what would change and write nothing')
    .option('-m, --message <text>', 'recorded with the workspace version and the audit entry')
    .option('--author <name>', 'recorded with the workspace version and the audit entry (default: your user name)')
    .option('--json', 'print the finished migration as JSON');

async function run(opts: Common, body: Record<string, unknown>): Promise<void> {
  const started = await call<MigrationView>(opts, 'POST', '/migrations', {
    ...body, dryRun: opts.dryRun === true, author: opts.author ?? userInfo().username, ...(opts.message ? { message: opts.message } : {}),
  });
  const m = await follow(opts, started);
  if (m.status === 'failed') throw new TandemError(m.error?.code ?? 'failed', `migration ${m.id} failed: ${m.error?.message ?? 'unknown error'}`, 400);
  process.stdout.write(`${opts.json ? JSON.stringify(m, null, 2) : summary(m).join('\n')}\n`);
}

const formatOf = (file: string, format?: string) => (format ?? (/\.jsonl?$/i.test(file) ? 'jsonl' : 'csv')) as 'csv' | 'jsonl';

/** `tandem migrate <kind>`: data migrations against a running Tandem (docs/migrations.md). */
export function migrateCommand(): Command {
  const migrate = new Command('migrate').description('Data migrations: rename an event or property, retype a property, bulk trait updates and deletions');
  migrate.addCommand(
    common(new Command('rename-event'))
      .description('Rename an event in the history, at collection and in every definition that names it (one workspace version)')
      .requiredOption('--from <name>', 'the old event name')
      .requiredOption('--to <name>', 'the new event name')
      .action((opts: Common & { from: string; to: string }) => run(opts, { kind: 'rename-event', from: opts.from, to: opts.to })),
  );
  migrate.addCommand(
    common(new Command('rename-property'))
      .description('Rename a property (a dotted path under properties) in the history, at collection and in definitions')
      .requiredOption('--from <path>', 'the old property path')
      .requiredOption('--to <path>', 'the new property path')
      .option('--event <name>', 'only in track events of this name (default: every track, page and screen call)')
      .action((opts: Common & { from: string; to: string; event?: string }) => run(opts, { kind: 'rename-property', from: opts.from, to: opts.to, ...(opts.event ? { event: opts.event } : {}) })),
  );
  migrate.addCommand(
    common(new Command('retype-property'))
      .description('Convert a property\'s values to a type in the history and at collection (values that do not convert are reported)')
      .requiredOption('--property <path>', 'the property path under properties')
      .requiredOption('--type <type>', 'number, integer, string or boolean')
      .option('--event <name>', 'only in track events of this name')
      .action((opts: Common & { property: string; type: string; event?: string }) => run(opts, { kind: 'retype-property', property: opts.property, type: opts.type, ...(opts.event ? { event: opts.event } : {}) })),
  );
  for (const [name, description] of [['traits-update', 'Set traits from a CSV or JSON lines file (one row per profile)'], ['traits-delete', 'Remove traits from the profiles a CSV or JSON lines file lists']] as const) {
    const cmd = common(new Command(name))
      .description(description)
      .requiredOption('-f, --file <path>', 'the CSV (with a header) or JSON lines file')
      .option('--format <format>', 'csv or jsonl (default: from the file name)')
      .option('--identifier <type>', 'the identifier type naming each row\'s profile (user_id, email, ...)', 'user_id')
      .option('--column <name>', 'the column or field holding the identifier (default: the identifier type)');
    if (name === 'traits-delete') cmd.requiredOption('--traits <names>', 'comma-separated trait names to remove');
    cmd.action((opts: Common & { file: string; format?: string; identifier: string; column?: string; traits?: string }) =>
      run(opts, {
        kind: name, format: formatOf(opts.file, opts.format), data: readFileSync(opts.file, 'utf8'), identifier: opts.identifier,
        ...(opts.column ? { column: opts.column } : {}), ...(opts.traits ? { traits: opts.traits.split(',').map((t) => t.trim()).filter(Boolean) } : {}),
      }),
    );
    migrate.addCommand(cmd);
  }
  return migrate;
}
