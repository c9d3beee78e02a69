import { useState } from 'react';
import { api, describe } from '../api';
import { ErrorText, JsonField, Section, SelectField, Status, useLoad } from '../components/common';
import { useCanWrite } from '../session';

type Body = { key: string } & Record<string, unknown>;

/** What each kind's page offers besides editing: experiment results, model training and runs. */
const EXTRAS: Record<string, { read?: { label: string; path: (key: string) => string }; action?: { label: string; path: (key: string) => string } }> = {
  experiments: { read: { label: 'Results', path: (k) => `/experiments/${encodeURIComponent(k)}/results` } },
  models: { read: { label: 'Training runs', path: (k) => `/models/${encodeURIComponent(k)}/runs` }, action: { label: 'Train now', path: (k) => `/models/${encodeURIComponent(k)}/train` } },
  alerts: {},
};

function Extra({ kind, item }: { kind: string; item: string }) {
  const extra = EXTRAS[kind] ?? {};
  const canWrite = useCanWrite();
  const read = useLoad(async () => (extra.read ? api(extra.read.path(item)) : undefined), [kind, item]);
  const [status, setStatus] = useState<string>();
  return (
    <>
      {extra.action && canWrite ? (
        <button type="button" onClick={() => api(extra.action!.path(item), { json: {} }).then(() => (setStatus('Started.'), read.reload()), (e: unknown) => setStatus(describe(e)))}>
          {extra.action.label}
        </button>
      ) : null}
      <Status text={status} />
      {extra.read ? (
        <details open>
          <summary>{extra.read.label}</summary>
          <ErrorText error={read.error} />
          <pre>{read.data ? JSON.stringify(read.data, null, 2) : ''}</pre>
        </details>
      ) : null}
    </>
  );
}

/** A definable kind (GET/POST /<kind>, GET/PUT/DELETE /<kind>/<key>) edited as its workspace-as-code JSON. */
export function Definitions({ kind, title }: { kind: string; title: string }) {
  const canWrite = useCanWrite();
  const list = useLoad(() => api<{ data: Body[] }>(`/${kind}`), [kind]);
  const [selected, setSelected] = useState('');
  const [draft, setDraft] = useState<unknown>();
  const [error, setError] = useState<string>();
  const [status, setStatus] = useState<string>();
  const current = list.data?.data.find((d) => d.key === selected);
  const save = async () => {
    try {
      const body = (draft ?? current ?? {}) as Body;
      await api(current ? `/${kind}/${encodeURIComponent(current.key)}` : `/${kind}`, { method: current ? 'PUT' : 'POST', json: body });
      setError(undefined);
      setStatus(`Saved '${body.key}'.`);
      list.reload();
      setSelected(body.key);
    } catch (e) {
      setError(describe(e));
    }
  };
  const remove = async () => {
    if (!current || !window.confirm(`Delete '${current.key}'?`)) return;
    try {
      await api(`/${kind}/${encodeURIComponent(current.key)}`, { method: 'DELETE' });
      setSelected('');
      list.reload();
    } catch (e) {
      setError(describe(e));
    }
  };
  return (
    <>
      <h1>{title}</h1>
      <ErrorText error={list.error} />
      <SelectField
        label={`Choose from ${title.toLowerCase()}`}
        value={selected}
        options={[{ value: '', label: canWrite ? 'New…' : 'Choose' }, ...(list.data?.data ?? []).map((d) => ({ value: d.key, label: String(d.name ?? d.key) }))]}
        onChange={(v) => (setSelected(v), setDraft(undefined), setStatus(undefined))}
      />
      {list.data?.data.length === 0 ? <p>None defined yet.</p> : null}
      {current || canWrite ? (
        <Section title={current ? String(current.name ?? current.key) : `New (${kind})`}>
          <JsonField key={selected} label="Definition (JSON)" value={current ?? { key: '' }} onValid={setDraft} rows={18} readOnly={!canWrite} />
          {canWrite ? (
            <div className="row">
              <button type="button" onClick={save}>Save</button>
              {current ? <button type="button" className="danger" onClick={remove}>Delete</button> : null}
            </div>
          ) : null}
          <ErrorText error={error} />
          <Status text={status} />
          {current ? <Extra kind={kind} item={current.key} /> : null}
        </Section>
      ) : null}
    </>
  );
}
