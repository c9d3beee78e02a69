import { userInfo } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { TandemError } from '../core/errors.js';
import { readDocuments, writeDocuments } from './files.js';
import { describePlan } from './describe.js';
import { waitForBackfills, type BackfillView } from './backfill-wait.js';
import type { ApplyResult, Plan, WorkspaceDocument } from './workspace.js';

interface Connection {
  url?: string;
  token?: string;
}

const connection = (cmd: Command) =>
  cmd
    .option('--url <url>', 'the running Tandem (default: $TANDEM_URL, else http://127.0.0.1:8080)')
    .option('--token <token>', 'admin token (default: $TANDEM_ADMIN_TOKEN)');

/** Calls the admin API of a running Tandem; errors become TandemErrors with the server's message. */
export async function call<T>(opts: Connection, method: string, path: string, body?: unknown): Promise<T> {
  const url = (opts.url ?? process.env.TANDEM_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
  const token = opts.token ?? process.env.TANDEM_ADMIN_TOKEN;
  if (!token) throw new TandemError('no_token', 'no admin token: pass --token or set TANDEM_ADMIN_TOKEN', 2);
  let res: Response;
  try {
    res = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new TandemError('unreachable', `cannot reach Tandem at ${url} (${cause?.code ?? cause?.message ?? (error as Error).message}); is it running? (--url or TANDEM_URL)`, 2);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    throw new TandemError('bad_answer', `${method} ${path}: HTTP ${res.status}: ${text.slice(0, 200)}`, 2);
  }
  if (!res.ok) {
    const e = (json as { error?: { code: string; message: string; path?: string } } | undefined)?.error;
    throw new TandemError(e?.code ?? 'http_error', e?.message ?? `HTTP ${res.status}`, res.status, e?.path, (json as { errors?: unknown[] }).errors);
  }
  return json as T;
}

/** Adds the file each problem's document came from: `audiences/x: ... (in audiences.yaml#2)`. */
function withOrigins(error: unknown, documents: unknown[], origins: string[]): unknown {
  if (!(error instanceof TandemError)) return error;
  const where = new Map<string, string>();
  documents.forEach((d, i) => {
    const doc = d as { kind?: unknown; key?: unknown };
    where.set(`${String(doc?.kind)}/${typeof doc?.key === 'string' ? doc.key : 'default'}`, origins[i]);
    where.set(`documents[${i}]`, origins[i]);
  });
  const message = error.message
    .split('\n')
    .map((line) => {
      const m = /^(documents\[\d+\]|[\w-]+\/[^:\s]+)/.exec(line);
      const origin = m && where.get(m[1]);
      return origin ? `${line} (in ${origin})` : line;
    })
    .join('\n');
  return new TandemError(error.code, message, error.status, error.path, error.details);
}

const print = (lines: string[]) => process.stdout.write(`${lines.join('\n')}\n`);

function applied(result: ApplyResult): string[] {
  const lines = describePlan(result);
  if (result.changes.length) lines.push(`Applied as workspace version ${result.version}.`);
  for (const [source, key] of Object.entries(result.writeKeys)) lines.push(`  write key of source '${source}' (shown once): ${key}`);
  for (const e of result.errors) lines.push(`error: ${e}`);
  return lines;
}

const version = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a version number (0 or more)');
  return n;
};

/** `tandem plan`, `apply`, `export`, `rollback` and `versions`: workspace as code against a running Tandem. */
export function workspaceCommands(): Command[] {
  const plan = connection(new Command('plan'))
    .description('Show what applying the workspace files would change, with impact and reference checks (writes nothing)')
    .requiredOption('-f, --file <path>', 'a workspace file or directory (YAML or JSON)')
    .option('--prune', 'also delete definitions that are not in the files')
    .option('--json', 'print the plan as JSON')
    .action(async (opts: Connection & { file: string; prune?: boolean; json?: boolean }) => {
      const { documents, origins } = readDocuments(opts.file);
      try {
        const result = await call<Plan>(opts, 'POST', '/workspace/plan', { documents, prune: opts.prune === true });
        print(opts.json ? [JSON.stringify(result, null, 2)] : describePlan(result));
      } catch (error) {
        throw withOrigins(error, documents, origins);
      }
    });

  const apply = connection(new Command('apply'))
    .description('Apply the workspace files all or nothing, recorded as one version')
    .requiredOption('-f, --file <path>', 'a workspace file or directory (YAML or JSON)')
    .option('--prune', 'also delete definitions that are not in the files')
    .option('-m, --message <text>', 'recorded with the version', 'tandem apply')
    .option('--author <name>', 'recorded with the version (default: your user name)')
    .option('--json', 'print the result as JSON')
    .option('--no-wait', 'return at once instead of showing the backfills of changed audiences and traits until they switch')
    .action(async (opts: Connection & { file: string; prune?: boolean; message: string; author?: string; json?: boolean; wait: boolean }) => {
      const { documents, origins } = readDocuments(opts.file);
      process.stderr.write(`applying ${documents.length} documents from ${opts.file}...\n`);
      let result: ApplyResult;
      try {
        result = await call<ApplyResult>(opts, 'POST', '/workspace/apply', { documents, prune: opts.prune === true, message: opts.message, author: opts.author ?? userInfo().username });
        print(opts.json ? [JSON.stringify(result, null, 2)] : applied(result));
      } catch (error) {
        throw withOrigins(error, documents, origins);
      }
      // Changed audiences and traits answer with their old version until their backfill switches (docs/workspace.md).
      const targets = result.changes.filter((c) => (c.kind === 'audiences' || c.kind === 'traits') && c.op !== 'delete');
      if (opts.wait && targets.length) {
        await waitForBackfills(targets, { running: async () => (await call<{ data: BackfillView[] }>(opts, 'GET', '/backfills')).data, out: process.stderr });
      }
    });

  const exportCmd = connection(new Command('export'))
    .description('Write the current workspace as files: <dir>/<kind>/<key>.yaml')
    .option('-o, --out <dir>', 'directory to write', 'workspace')
    .action(async (opts: Connection & { out: string }) => {
      const result = await call<{ version: number; documents: WorkspaceDocument[] }>(opts, 'GET', '/workspace/export');
      const files = writeDocuments(opts.out, result.documents);
      print([`wrote ${files.length} files to ${opts.out} (workspace version ${result.version})`]);
    });

  const rollback = connection(new Command('rollback'))
    .description('Apply the definitions of an earlier version as a new version')
    .requiredOption('--to <n>', 'the version to return to', version)
    .option('-m, --message <text>', 'recorded with the version')
    .option('--author <name>', 'recorded with the version (default: your user name)')
    .action(async (opts: Connection & { to: number; message?: string; author?: string }) => {
      const result = await call<ApplyResult>(opts, 'POST', '/workspace/rollback', { to: opts.to, author: opts.author ?? userInfo().username, ...(opts.message ? { message: opts.message } : {}) });
      print(applied(result));
    });

  const versions = connection(new Command('versions'))
    .description('List workspace versions, newest first')
    .option('--limit <n>', 'how many', (v) => Number(v), 20)
    .action(async (opts: Connection & { limit: number }) => {
      const result = await call<{ data: { version: number; at: string; author: string; message: string; changes: { kind: string; key: string; op: string }[] }[] }>(opts, 'GET', `/versions?limit=${opts.limit}`);
      print(result.data.map((v) => `${String(v.version).padStart(5)}  ${v.at}  ${v.author}  ${v.message}  (${v.changes.map((c) => `${c.op} ${c.kind}/${c.key}`).join(', ')})`));
    });

  return [plan, apply, exportCmd, rollback, versions];
}
