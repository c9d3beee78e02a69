import { useEffect, useState } from 'react';
import { api, describe } from '../../api';
import { ErrorText, Section, Status, useLoad, when } from '../../components/common';
import { useCanWrite } from '../../session';

/** GET /models/<key>/runs (src/server/models-routes.ts). */
interface Run {
  run: number; definitionVersion: number; status: 'running' | 'ok' | 'error'; startedAt: string; finishedAt?: string;
  progress?: { stage: string; fraction: number }; error?: string; result?: Record<string, unknown>;
}

/** The scalar leaves of a result (parameters, metrics) as "path: value", the first `limit` of them. */
export function highlights(result: Record<string, unknown> | undefined, limit = 8): [string, string][] {
  const out: [string, string][] = [];
  const walk = (v: unknown, path: string, depth: number) => {
    if (out.length >= limit) return;
    if (typeof v === 'number') out.push([path, Number.isInteger(v) ? String(v) : v.toPrecision(4)]);
    else if (typeof v === 'string' && v.length <= 40) out.push([path, v]);
    else if (typeof v === 'boolean') out.push([path, String(v)]);
    else if (v && typeof v === 'object' && !Array.isArray(v) && depth < 3) for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k, depth + 1);
  };
  walk(result, '', 0);
  return out;
}

const seconds = (r: Run) => (r.finishedAt ? `${((Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000).toFixed(1)} s` : '–');

/** Training runs as a table, newest first, with "Train now" for editors. */
export function ModelRuns({ model }: { model: string }) {
  const canWrite = useCanWrite();
  const runs = useLoad(() => api<{ data: Run[] }>(`/models/${encodeURIComponent(model)}/runs?limit=20`), [model]);
  const [status, setStatus] = useState<string>();
  const [error, setError] = useState<string>();
  // While a training runs, the table follows it (stage and progress, then its results or error).
  const running = runs.data?.data.some((r) => r.status === 'running') ?? false;
  useEffect(() => {
    if (!running || runs.loading) return;
    const timer = setTimeout(runs.reload, 2000);
    return () => clearTimeout(timer);
  }, [running, runs.loading, runs.reload]);
  const train = async () => {
    try {
      const run = await api<Run>(`/models/${encodeURIComponent(model)}/train`, { json: {} });
      setError(undefined);
      setStatus(`Training run ${run.run} started.`);
      runs.reload();
    } catch (e) {
      setError(describe(e));
    }
  };
  return (
    <Section
      title="Training runs"
      actions={
        <div className="row">
          {canWrite ? <button type="button" onClick={train}>Train now</button> : null}
          <button type="button" className="secondary" onClick={runs.reload}>Refresh runs</button>
        </div>
      }
    >
      <ErrorText error={runs.error ?? error} />
      <Status text={status} />
      <table>
        <caption>Trainings of {model}, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Run</th><th scope="col">Status</th><th scope="col">Started</th><th scope="col">Took</th><th scope="col">Definition version</th><th scope="col">Results</th>
          </tr>
        </thead>
        <tbody>
          {(runs.data?.data ?? []).map((r) => (
            <tr key={r.run}>
              <th scope="row">{r.run}</th>
              <td>{r.status}{r.status === 'running' && r.progress ? ` (${r.progress.stage}, ${Math.round(r.progress.fraction * 100)}%)` : ''}</td>
              <td>{when(r.startedAt)}</td>
              <td>{seconds(r)}</td>
              <td>{r.definitionVersion}</td>
              <td>
                {r.error ? <span className="error">{r.error}</span> : null}
                {r.result ? (
                  <dl className="pairs">
                    {highlights(r.result).map(([k, v]) => (
                      <div key={k}><dt>{k}</dt><dd>{v}</dd></div>
                    ))}
                  </dl>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {runs.data?.data.length === 0 ? <p>Not trained yet.</p> : null}
    </Section>
  );
}
