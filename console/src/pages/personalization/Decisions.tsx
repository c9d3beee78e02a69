import { useState } from 'react';
import { api, describe } from '../../api';
import { ErrorText, JsonField, Section, SelectField, Status, useLoad } from '../../components/common';
import { useCanWrite } from '../../session';

export interface Decision { key: string; name?: string; offers?: { key: string }[] }

const EXAMPLE = { key: '', name: '', offers: [{ key: 'first_offer', content: { title: 'Hello' } }], policy: { type: 'rules' } };

/** Decision points (kind `decisions`) edited as JSON, with their results and recent log. */
export function Decisions(props: { list: { data?: { data: Decision[] }; error?: string; reload(): void } }) {
  const canWrite = useCanWrite();
  const [selected, setSelected] = useState('');
  const [draft, setDraft] = useState<unknown>();
  const [error, setError] = useState<string>();
  const [status, setStatus] = useState<string>();
  const current = props.list.data?.data.find((d) => d.key === selected);
  const results = useLoad(async () => (current ? api(`/decisions/${encodeURIComponent(current.key)}/results`) : undefined), [current?.key]);
  const log = useLoad(async () => (current ? api<{ data: unknown[] }>(`/decisions/${encodeURIComponent(current.key)}/log?limit=20`) : undefined), [current?.key]);
  const save = async () => {
    try {
      const body = (draft ?? current ?? EXAMPLE) as Decision;
      await api(current ? `/decisions/${encodeURIComponent(current.key)}` : '/decisions', { method: current ? 'PUT' : 'POST', json: body });
      setError(undefined);
      setStatus(`Saved decision point '${body.key}'.`);
      props.list.reload();
      setSelected(body.key);
    } catch (e) {
      setError(describe(e));
    }
  };
  const remove = async () => {
    if (!current || !window.confirm(`Delete decision point '${current.key}'?`)) return;
    try {
      await api(`/decisions/${encodeURIComponent(current.key)}`, { method: 'DELETE' });
      setSelected('');
      setStatus(`Deleted '${current.key}'.`);
      props.list.reload();
    } catch (e) {
      setError(describe(e));
    }
  };
  return (
    <Section title="Decision points">
      <ErrorText error={props.list.error} />
      <SelectField
        label="Decision point"
        value={selected}
        options={[{ value: '', label: canWrite ? 'New…' : 'Choose' }, ...(props.list.data?.data ?? []).map((d) => ({ value: d.key, label: d.name ? `${d.name} (${d.key})` : d.key }))]}
        onChange={(v) => (setSelected(v), setDraft(undefined), setStatus(undefined), setError(undefined))}
      />
      {props.list.data?.data.length === 0 ? <p>No decision point yet.</p> : null}
      {current || canWrite ? (
        <>
          <JsonField key={selected} label="Decision point (JSON)" value={current ?? EXAMPLE} onValid={setDraft} rows={16} readOnly={!canWrite} />
          {canWrite ? (
            <div className="row">
              <button type="button" onClick={save}>
                Save decision point
              </button>
              {current ? (
                <button type="button" className="danger" onClick={remove}>
                  Delete decision point
                </button>
              ) : null}
            </div>
          ) : null}
        </>
      ) : null}
      <ErrorText error={error} />
      <Status text={status} />
      {current ? (
        <>
          <details>
            <summary>Results: rewards per group and offer, lift over the holdout</summary>
            <ErrorText error={results.error} />
            <pre>{results.data ? JSON.stringify(results.data, null, 2) : ''}</pre>
          </details>
          <details>
            <summary>Recent decisions</summary>
            <ErrorText error={log.error} />
            <pre>{log.data ? JSON.stringify(log.data.data, null, 2) : ''}</pre>
          </details>
        </>
      ) : null}
    </Section>
  );
}
