// `tandem start` as a child process on a data directory that outlives it: started, killed with SIGKILL, started
// again on the same directory and port, as an operator's supervisor would (the crash matrix and the soak run).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from '../_process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const ADMIN_TOKEN = 'trust-admin-token';

export class TandemProcess {
  child: ChildProcess | undefined;
  url = '';
  /** The default source's write key, printed on the first start only. */
  writeKey = '';
  starts = 0;
  private exited: Promise<void> = Promise.resolve();

  private constructor(readonly dir: string, readonly port: number, private readonly env: Record<string, string>) {}

  /** `config` is the YAML text of the configuration file, written beside the data directory. */
  static async create(dir: string, config: string, env: Record<string, string> = {}): Promise<TandemProcess> {
    writeFileSync(join(dir, 'tandem.yaml'), config);
    return new TandemProcess(dir, await freePort(), env);
  }

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  get auth(): string {
    return `Basic ${Buffer.from(`${this.writeKey}:`).toString('base64')}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<number> {
    const started = performance.now();
    const child = spawn(process.execPath, ['bin/tandem.js', 'start', '--data-dir', this.dataDir, '--port', String(this.port), '--config', join(this.dir, 'tandem.yaml')], {
      cwd: ROOT,
      env: { ...process.env, TANDEM_ADMIN_TOKEN: ADMIN_TOKEN, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exited = new Promise((r) => child.once('exit', () => r()));
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      if (out.length < 100_000) out += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      if (out.length < 100_000) out += d.toString();
    });
    await waitFor(child, /API reference/, 'tandem', 900_000);
    const key = /write key of source 'default' \(shown once\): (\S+)/.exec(out)?.[1];
    if (key) this.writeKey = key;
    this.output = () => out;
    this.url = `http://127.0.0.1:${this.port}`;
    this.starts++;
    return performance.now() - started;
  }

  /** What the current process printed (the first 100 KB). */
  output: () => string = () => '';

  /** SIGKILL: no shutdown code runs. */
  async kill9(): Promise<void> {
    if (!this.running()) return;
    this.child!.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM, a clean stop; answers the exit code. */
  async stop(): Promise<number | null> {
    if (!this.running()) return this.child?.exitCode ?? null;
    this.child!.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), 30_000);
    await this.exited;
    clearTimeout(timer);
    return this.child!.exitCode;
  }

  running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resident set size of the process in bytes (Linux /proc), or 0 when it is not running. */
  rss(): number {
    if (!this.running()) return 0;
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : 0;
    } catch {
      return 0;
    }
  }

  /** fetch against the admin API; throws on a connection failure, answers the response otherwise. */
  admin(path: string, init: { method?: string; json?: unknown } = {}): Promise<Response> {
    return fetch(`${this.url}/api/v1${path}`, {
      method: init.method ?? (init.json === undefined ? 'GET' : 'POST'),
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: init.json === undefined ? undefined : JSON.stringify(init.json),
    });
  }

  /** The admin API's JSON answer; throws unless 2xx. */
  async adminJson<T = unknown>(path: string, init: { method?: string; json?: unknown } = {}): Promise<T> {
    const res = await this.admin(path, init);
    const text = await res.text();
    if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  }
}

/**
 * Configuration lines for a machine shared with other work: the core thread at the same priority as collection
 * (`pipeline.niceness: 0`). At the default (19) a core thread on a saturated machine gets almost no CPU, and a
 * restart takes minutes of waiting for it, which measures the neighbours, not Tandem.
 */
export const SHARED_MACHINE = ['pipeline:', '  niceness: 0'];
