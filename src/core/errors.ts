/**
 * Errors are values with a code, a message that tells the caller what to change, and, where it applies,
 * the path of the offending field. They serialise to the API's error shape.
 */
export class TandemError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly path?: string,
    /** Per-item problems behind a request-level error (a batch where no message was accepted). */
    readonly details?: unknown[],
  ) {
    super(message);
    this.name = 'TandemError';
  }
  toJSON(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.path !== undefined ? { path: this.path } : {}) } };
  }
}

export interface ErrorBody {
  error: { code: string; message: string; path?: string };
}

export const badRequest = (code: string, message: string, path?: string) => new TandemError(code, message, 400, path);
export const notFound = (what: string, key: string) => new TandemError('not_found', `${what} '${key}' does not exist`, 404);
export const unauthorized = (message: string) => new TandemError('unauthorized', message, 401);

/** Turns an Ajv instancePath such as `/batch/3/event` into `batch[3].event`. */
export function pointerToPath(pointer: string, prefix = ''): string {
  let out = prefix;
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(part)) out += `[${part}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(part)) out += out ? `.${part}` : part;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}
