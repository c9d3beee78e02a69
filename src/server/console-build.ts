import { spawn } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The console's sources (console/) and its built files (console/dist, git-ignored). */
export const CONSOLE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../console');
export const CONSOLE_DIST = join(CONSOLE_DIR, 'dist');
/** The output of the last failed build, shown on the page served in the console's place. */
export const BUILD_ERROR_FILE = join(CONSOLE_DIR, 'build-error.log');

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** Why the console needs a build (undefined: it is current): dist missing, or older than a source file. */
export function consoleStaleness(dir = CONSOLE_DIR): string | undefined {
  const index = join(dir, 'dist', 'index.html');
  if (!existsSync(index)) return 'console/dist is missing';
  const built = statSync(index).mtimeMs;
  const sources = ['src', 'index.html', 'vite.config.ts'].map((p) => join(dir, p)).filter((p) => existsSync(p));
  return sources.some((p) => newestMtime(p) > built) ? 'console/dist is older than console/src' : undefined;
}

/** Runs `vite build` for the console in a child process; never throws: a failed build is reported, and recorded for the page. */
export async function buildConsole(dir = CONSOLE_DIR): Promise<{ ok: boolean; output: string; seconds: number }> {
  const started = performance.now();
  let vite: string;
  try {
    vite = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
  } catch {
    const output = 'vite is not installed (it is a development dependency: install with `npm install`, not `--omit=dev`)';
    writeFileSync(join(dir, 'build-error.log'), output);
    return { ok: false, output, seconds: 0 };
  }
  const result = await new Promise<{ code: number | null; output: string }>((done) => {
    const child = spawn(process.execPath, [vite, 'build', '--config', join(dir, 'vite.config.ts'), '--logLevel', 'warn'], { cwd: dir, env: { ...process.env, NODE_ENV: 'production' } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (error) => done({ code: 1, output: `${output}\n${error.message}` }));
    child.on('close', (code) => done({ code, output }));
  });
  const ok = result.code === 0 && existsSync(join(dir, 'dist', 'index.html'));
  if (ok) rmSync(join(dir, 'build-error.log'), { force: true });
  else writeFileSync(join(dir, 'build-error.log'), result.output || `vite build exited with code ${result.code}`);
  return { ok, output: result.output, seconds: (performance.now() - started) / 1000 };
}

/** `tandem start` and `npm install` (postinstall): build when missing or stale, with a log line either way. */
export async function ensureConsoleBuilt(log: (line: string) => void, dir = CONSOLE_DIR): Promise<boolean> {
  try {
    const why = consoleStaleness(dir);
    if (!why) return true;
    log(`console: building the web console (${why})...`);
    const built = await buildConsole(dir);
    if (built.ok) log(`console: built in ${built.seconds.toFixed(1)}s`);
    else log(`console: the build failed; the API starts without the console (details in console/build-error.log):\n${built.output.trim().split('\n').slice(-15).join('\n')}`);
    return built.ok;
  } catch (error) {
    // A read-only install directory, say: the API must start anyway.
    log(`console: could not build the web console (${(error as Error).message}); the API starts without it`);
    return false;
  }
}
