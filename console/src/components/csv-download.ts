import { ApiError } from '../api';

/** POSTs a report with `Accept: text/csv` (the admin API's CSV form) and saves the answer as a file. */
export async function downloadCsv(path: string, body: unknown, filename: string): Promise<void> {
  const res = await fetch(`/api/v1${path}`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', accept: 'text/csv' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) {
    const e = (() => {
      try {
        return (JSON.parse(text) as { error?: { code?: string; message?: string; path?: string } }).error;
      } catch {
        return undefined;
      }
    })();
    throw new ApiError(res.status, e?.code ?? 'error', e?.message ?? `${res.status} ${res.statusText}`, e?.path);
  }
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export const percent = (v: number | null | undefined) => (v === null || v === undefined ? '–' : `${Math.round(v * 1000) / 10}%`);
