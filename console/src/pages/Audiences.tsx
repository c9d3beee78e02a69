import { useEffect, useState } from 'react';
import { api, describe } from '../api';
import { ConditionBuilder, type Condition } from '../components/ConditionBuilder';
import { ErrorText, JsonField, Section, Status, TextField, useLoad } from '../components/common';
import { LineChart } from '../components/LineChart';
import { Link, navigate } from '../router';
import { useCanWrite } from '../session';

interface Audience { key: string; name?: string; description?: string; condition: Condition }

/**
 * The size of the draft condition, asked again a moment after each edit (POST /audiences/preview, a read-only POST
 * that viewers may call too, so a viewer can try conditions without being able to save them).
 */
function useEstimate(condition: Condition) {
  const [estimate, setEstimate] = useState<{ size?: number; error?: string; busy: boolean }>({ busy: true });
  useEffect(() => {
    setEstimate((e) => ({ ...e, busy: true }));
    const timer = setTimeout(() => {
      api<{ size: number }>('/audiences/preview', { json: { condition, sample: 0 } }).then(
        (r) => setEstimate({ size: r.size, busy: false }),
        (e: unknown) => setEstimate({ error: describe(e), busy: false }),
      );
    }, 350);
    return () => clearTimeout(timer);
  }, [JSON.stringify(condition)]);
  return estimate;
}

function Membership({ audience }: { audience: string }) {
  const { data, error } = useLoad(() => api<{ size: number; before: number; points: { at: string; size: number }[] }>(`/audiences/${encodeURIComponent(audience)}/size`), [audience]);
  if (error) return <ErrorText error={error} />;
  if (!data) return null;
  // A step series: the size before the range, then the size after each change, and the size now.
  const now = new Date().toISOString();
  const timestamps = [...data.points.map((p) => p.at), now];
  const values = [...data.points.map((p) => p.size), data.size];
  return <LineChart title={`Members of ${audience} over the last 30 days`} timestamps={timestamps} series={[{ label: 'members', values }]} />;
}

function Editor({ initial, isNew, onSaved }: { initial: Audience; isNew: boolean; onSaved(key: string, message: string): void }) {
  const canWrite = useCanWrite();
  const [key, setKey] = useState(initial.key);
  const [name, setName] = useState(initial.name ?? '');
  const [condition, setCondition] = useState<Condition>(initial.condition);
  const [view, setView] = useState<'visual' | 'json'>('visual');
  const [error, setError] = useState<string>();
  const [status, setStatus] = useState<string>();
  const estimate = useEstimate(condition);
  const save = async () => {
    try {
      const body = { key, ...(name ? { name } : {}), condition };
      await api(isNew ? '/audiences' : `/audiences/${encodeURIComponent(key)}`, { method: isNew ? 'POST' : 'PUT', json: body });
      setError(undefined);
      setStatus(`Saved audience '${key}'.`);
      onSaved(key, `Saved audience '${key}'.`);
    } catch (e) {
      setError(describe(e));
    }
  };
  return (
    <Section title={isNew ? 'New audience' : `Audience ${initial.key}`}>
      <div className="row">
        <TextField label="Key" value={key} onChange={setKey} readOnly={!isNew} required />
        <TextField label="Name" value={name} onChange={setName} />
      </div>
      <p className="estimate" role="status" aria-live="polite">
        {estimate.error ? `Cannot estimate: ${estimate.error}` : estimate.size === undefined ? 'Estimating…' : `Estimated size: ${estimate.size} profiles${estimate.busy ? ' (updating…)' : ''}`}
      </p>
      <fieldset className="row">
        <legend>Edit as</legend>
        <label><input type="radio" name="audview" checked={view === 'visual'} onChange={() => setView('visual')} /> visual builder</label>
        <label><input type="radio" name="audview" checked={view === 'json'} onChange={() => setView('json')} /> JSON</label>
      </fieldset>
      {view === 'visual' ? <ConditionBuilder value={condition} onChange={setCondition} /> : <JsonField label="Condition (JSON)" value={condition} onValid={(v) => setCondition(v as Condition)} />}
      {canWrite ? (
        <button type="button" onClick={save}>
          Save audience
        </button>
      ) : null}
      <ErrorText error={error} />
      <Status text={status} />
      {!isNew ? <Membership audience={initial.key} /> : null}
    </Section>
  );
}

export function Audiences({ selected }: { selected?: string }) {
  const canWrite = useCanWrite();
  const list = useLoad(() => api<{ data: Audience[] }>('/audiences'), []);
  const [flash, setFlash] = useState<string>();
  const current = selected && selected !== 'new' ? list.data?.data.find((a) => a.key === selected) : undefined;
  return (
    <>
      <h1>Audiences</h1>
      <ErrorText error={list.error} />
      <Status text={flash} />
      <ul className="pills">
        {list.data?.data.map((a) => (
          <li key={a.key}><Link to={`/audiences/${encodeURIComponent(a.key)}`} aria-current={a.key === selected ? 'page' : undefined}>{a.name ?? a.key}</Link></li>
        ))}
        {canWrite ? <li><Link to="/audiences/new">New audience</Link></li> : null}
      </ul>
      {selected === 'new' && canWrite ? (
        <Editor key="new" isNew initial={{ key: '', condition: { all: [{ trait: 'email', exists: true }] } }} onSaved={(k, message) => (setFlash(message), list.reload(), navigate(`/audiences/${encodeURIComponent(k)}`))} />
      ) : current ? (
        <Editor key={current.key} isNew={false} initial={current} onSaved={() => (setFlash(undefined), list.reload())} />
      ) : null}
    </>
  );
}
