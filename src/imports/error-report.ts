import { createWriteStream, type WriteStream } from 'node:fs';
import { TandemError } from '../core/errors.js';
import type { RowProblem } from './build-message.js';

/**
 * The per-row error report of an import: one JSON object a line, `{ row, column?, field?, problem, code?, ...ref }`,
 * created (emptied) when the import starts, so a report left over from an earlier run is never mistaken for this one.
 */
export class ErrorReport {
  lines = 0;
  private readonly out: WriteStream;
  private failure: Error | undefined;

  constructor(readonly path: string) {
    this.out = createWriteStream(path, { flags: 'w' });
    this.out.on('error', (error) => (this.failure = error));
  }

  /** Resolves once the file is open, or throws why it cannot be written. */
  async ready(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      if (this.out.pending === false) return resolve();
      this.out.once('ready', () => resolve());
      this.out.once('error', (error) => reject(new TandemError('unwritable', `--errors ${this.path}: ${error.message}`, 400, '--errors')));
    });
  }

  write(p: RowProblem & { code?: string }): void {
    const { row, ref, ...rest } = p;
    this.lines++;
    this.out.write(`${JSON.stringify({ row, ...(ref ?? {}), ...rest })}\n`);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.out.end(resolve));
    if (this.failure) throw new TandemError('unwritable', `--errors ${this.path}: ${this.failure.message}`, 500, '--errors');
  }
}
