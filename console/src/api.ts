/** The public admin API, called with the session cookie (same origin). Errors keep the API's code, message and path. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly path?: string) {
    super(message);
  }
}

export async function api<T = unknown>(path: string, init: { method?: string; json?: unknown } = {}): Promise<T> {
  const res = await fetch(`/api/v1${path}`, {
    method: init.method ?? (init.json !== undefined ? 'POST' : 'GET'),
    credentials: 'same-origin',
    headers: init.json !== undefined ? { 'content-type': 'application/json' } : {},
    body: init.json !== undefined ? JSON.stringify(init.json) : undefined,
  });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  const body = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) {
    const e = (body as { error?: { code?: string; message?: string; path?: string } } | undefined)?.error;
    throw new ApiError(res.status, e?.code ?? 'error', e?.message ?? `${res.status} ${res.statusText}`, e?.path);
  }
  return body as T;
}

export const describe = (error: unknown): string =>
  error instanceof ApiError ? `${error.message}${error.path ? ` (${error.path})` : ''}` : error instanceof Error ? error.message : String(error);

export const qs = (params: Record<string, string | number | undefined>) =>
  new URLSearchParams(Object.entries(params).filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== '').map(([k, v]) => [k, String(v)])).toString();

/** As `api`, with the answer's headers (Tandem-Version, Tandem-Status). */
export async function apiWithHeaders<T = unknown>(path: string, init: { method?: string; json?: unknown } = {}): Promise<{ body: T; headers: Headers }> {
  const res = await fetch(`/api/v1${path}`, {
    method: init.method ?? (init.json !== undefined ? 'POST' : 'GET'),
    credentials: 'same-origin',
    headers: init.json !== undefined ? { 'content-type': 'application/json' } : {},
    body: init.json !== undefined ? JSON.stringify(init.json) : undefined,
  });
  const text = await res.text();
  const body = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) {
    const e = (body as { error?: { code?: string; message?: string; path?: string } } | undefined)?.error;
    throw new ApiError(res.status, e?.code ?? 'error', e?.message ?? `${res.status} ${res.statusText}`, e?.path);
  }
  return { body: body as T, headers: res.headers };
}
