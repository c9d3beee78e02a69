// Helpers the benchmarks share: a free port, waiting for a child's line on stdout, and writing their docs section.
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';

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
