// Helpers the benchmarks share: a free port, waiting for a child's line on stdout, the servers they load as child
// processes, and writing their docs section.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Resolves with the first stdout match of `pattern`; rejects if the process exits first or takes too long. */
export function waitFor(child: ChildProcess, pattern: RegExp, what: string, timeoutMs = 60_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start in ${timeoutMs / 1000} s:\n${out}${err}`)), timeoutMs);
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      out += d;
      const m = out.match(pattern);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}:\n${out}${err}`)));
  });
}

/** Replaces (or appends) one benchmark's `## name` section of docs/benchmarks.md, leaving the others alone. */
export function writeSection(file: string, name: string, section: string): void {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n\nEach section is written by `npm run bench -- <name>`.\n';
  const start = text.search(new RegExp(`^## ${name}$`, 'm'));
  let out: string;
  if (start < 0) out = `${text.trimEnd()}\n\n${section}`;
  else {
    const rest = text.slice(start + 1).search(/^## /m);
    out = `${text.slice(0, start)}${section}${rest < 0 ? '' : `\n${text.slice(start + 1 + rest)}`}`;
  }
  writeFileSync(file, `${out.trimEnd()}\n`);
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BENCH_ADMIN_TOKEN = 'bench-admin-token';

/** A server the benchmarks load: its address, the Authorization header for /v1, the process, its data directory. */
export interface BenchServer { url: string; auth: string; child: ChildProcess; dir?: string }

/**
 * `tandem start` as a child process on a fresh data directory and a free port. `config` is the text of a
 * configuration file (or makes it from the directory it is written to, beside the data directory, with `files`
 * if given); `node` adds Node.js flags.
 */
export async function startTandemChild(options: { config?: string | ((dir: string) => string); files?: Record<string, string>; node?: string[] } = {}): Promise<BenchServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-'));
  const port = await freePort();
  const args = ['bin/tandem.js', 'start', '--data-dir', join(dir, 'data'), '--port', String(port)];
  for (const [name, text] of Object.entries(options.files ?? {})) writeFileSync(join(dir, name), text);
  if (options.config !== undefined) {
    writeFileSync(join(dir, 'tandem.yaml'), typeof options.config === 'string' ? options.config : options.config(dir));
    args.push('--config', join(dir, 'tandem.yaml'));
  }
  const child = spawn(process.execPath, [...(options.node ?? []), ...args], { cwd: ROOT, env: { ...process.env, TANDEM_ADMIN_TOKEN: BENCH_ADMIN_TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] });
  // Three minutes: two threads load the sources through tsx, which takes over a minute on a loaded shared machine.
  const [, key] = await waitFor(child, /write key of source 'default' \(shown once\): (\S+)/, 'tandem', 180_000);
  child.stdout!.resume();
  child.stderr!.resume();
  return { url: `http://127.0.0.1:${port}`, auth: `Basic ${Buffer.from(`${key}:`).toString('base64')}`, child, dir };
}

/** The ceiling: a bare node:http server that reads and parses each body and answers 200 (bench/_collect/baseline.mjs). */
export async function startBaselineChild(): Promise<BenchServer> {
  const child = spawn(process.execPath, ['bench/_collect/baseline.mjs'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const [, port] = await waitFor(child, /listening (\d+)/, 'baseline');
  return { url: `http://127.0.0.1:${port}`, auth: 'Basic eDo=', child };
}

/** SIGTERM (SIGKILL after 10 s), then the data directory is removed. */
export async function stopChild(server: BenchServer): Promise<void> {
  const exited = new Promise((r) => server.child.once('exit', r));
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
  if (server.dir) rmSync(server.dir, { recursive: true, force: true });
}
