import { useState } from 'react';
import { api, describe } from '../api';
import { ErrorText, Section, TextField, useLoad, when } from '../components/common';
import { beforePage, Pager, usePaged } from '../components/paging';
import { navigate, usePath } from '../router';
import { useCanWrite } from '../session';

interface Incident {
  id: number; rule: string; severity: string; summary: string; state: string; openedAt: string; resolvedAt: string | null;
  acknowledgedAt: string | null; acknowledgedBy: string | null; runbook: string | null; links: { label?: string; url?: string }[];
  timeline?: { at: string; kind: string; actor: string | null; detail: Record<string, unknown> }[];
}

function IncidentDetail({ id }: { id: string }) {
  const canWrite = useCanWrite();
  const { data, error, reload } = useLoad(() => api<Incident>(`/incidents/${id}`), [id]);
  const [note, setNote] = useState('');
  const [problem, setProblem] = useState<string>();
  const act = async (fn: () => Promise<unknown>) => {
    try {
      await fn();
      setProblem(undefined);
      reload();
    } catch (e) {
      setProblem(describe(e));
    }
  };
  if (error) return <ErrorText error={error} />;
  if (!data) return <p>Loading…</p>;
  return (
    <Section title={`Incident ${data.id}: ${data.rule}`}>
      <p>
        [{data.severity}] {data.summary} · {data.state} since {when(data.openedAt)}
        {data.acknowledgedAt ? ` · acknowledged by ${data.acknowledgedBy ?? '?'} at ${when(data.acknowledgedAt)}` : ''}
      </p>
      {data.runbook ? (
        <>
          <h3>Runbook</h3>
          <pre className="runbook">{data.runbook}</pre>
        </>
      ) : null}
      {canWrite && !data.acknowledgedAt && data.state === 'firing' ? (
        <button type="button" onClick={() => act(() => api(`/incidents/${id}/acknowledge`, { json: {} }))}>
          Acknowledge
        </button>
      ) : null}
      <h3>Timeline</h3>
      <ol>
        {(data.timeline ?? []).map((t, i) => (
          <li key={i}>
            {when(t.at)} · {t.kind}
            {t.actor ? ` by ${t.actor}` : ''} {Object.keys(t.detail).length ? <code>{JSON.stringify(t.detail)}</code> : null}
          </li>
        ))}
      </ol>
      {canWrite ? (
        <form onSubmit={(e) => (e.preventDefault(), act(() => api(`/incidents/${id}/notes`, { json: { text: note } })).then(() => setNote('')))}>
          <TextField label="Note" value={note} onChange={setNote} required />
          <button type="submit">Add note</button>
        </form>
      ) : null}
      <ErrorText error={problem} />
    </Section>
  );
}

export function Incidents() {
  const path = usePath();
  const selected = new URLSearchParams(path.split('?')[1] ?? '').get('id');
  const list = usePaged(async (before: number | undefined) => beforePage((await api<{ data: Incident[] }>(`/incidents?limit=25${before ? `&before=${before}` : ''}`)).data, 25, (i) => i.id), []);
  return (
    <>
      <h1>Alerts and incidents</h1>
      <ErrorText error={list.error} />
      <table>
        <caption>Incidents, newest first</caption>
        <thead>
          <tr><th scope="col">Id</th><th scope="col">Rule</th><th scope="col">Severity</th><th scope="col">State</th><th scope="col">Opened</th><th scope="col">Summary</th></tr>
        </thead>
        <tbody>
          {list.items?.map((i) => (
            <tr key={i.id}>
              <td><button type="button" className="link" onClick={() => navigate(`/incidents?id=${i.id}`)}>#{i.id}</button></td>
              <td>{i.rule}</td><td>{i.severity}</td><td>{i.state}{i.acknowledgedAt ? ' (acknowledged)' : ''}</td><td>{when(i.openedAt)}</td><td>{i.summary}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.items?.length === 0 ? <p>No incidents.</p> : null}
      <Pager label="Incidents" paged={list} />
      {selected ? <IncidentDetail id={selected} /> : null}
    </>
  );
}
