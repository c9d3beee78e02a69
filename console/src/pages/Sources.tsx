import { useState } from 'react';
import { api, describe } from '../api';
import { ErrorText, JsonField, Section, SelectField, Status, TextField, useLoad, when } from '../components/common';
import { useCanWrite } from '../session';

interface Source { key: string; name?: string; trackingPlan?: string; mode?: string; writeKey: string; createdAt: string }
interface Plan { key: string; name?: string; events?: Record<string, unknown> }
interface EventView { id: number; source: string; violations: { kind: string; path: string; message: string }[]; message: Record<string, unknown> }

function PlanEditor({ plan, onSaved }: { plan: Plan; onSaved(): void }) {
  const canWrite = useCanWrite();
  const [draft, setDraft] = useState<unknown>(plan);
  const [status, setStatus] = useState<string>();
  const [error, setError] = useState<string>();
  const isNew = !plan.key;
  const save = async () => {
    try {
      const body = draft as Plan;
      await api(isNew ? '/tracking-plans' : `/tracking-plans/${encodeURIComponent(plan.key)}`, { method: isNew ? 'POST' : 'PUT', json: body });
      setError(undefined);
      setStatus(`Saved tracking plan '${body.key}'.`);
      onSaved();
    } catch (e) {
      setError(describe(e));
    }
  };
  return (
    <div>
      <JsonField label={isNew ? 'New tracking plan (JSON)' : `Tracking plan '${plan.key}' (JSON)`} value={plan} onValid={setDraft} rows={16} readOnly={!canWrite} />
      {canWrite ? (
        <button type="button" onClick={save}>
          Save tracking plan
        </button>
      ) : null}
      <ErrorText error={error} />
      <Status text={status} />
    </div>
  );
}

export function Sources() {
  const canWrite = useCanWrite();
  const sources = useLoad(() => api<{ data: Source[] }>('/sources'), []);
  const plans = useLoad(() => api<{ data: Plan[] }>('/tracking-plans'), []);
  const violations = useLoad(async () => (await api<{ data: EventView[] }>('/events?limit=200')).data.filter((e) => e.violations.length > 0), []);
  const [key, setKey] = useState('');
  const [created, setCreated] = useState<string>();
  const [error, setError] = useState<string>();
  const [planKey, setPlanKey] = useState('');
  const create = async () => {
    try {
      const source = await api<Source>('/sources', { json: { key, name: key } });
      setCreated(`Source '${source.key}' created. Its write key (shown once): ${source.writeKey}`);
      setError(undefined);
      sources.reload();
    } catch (e) {
      setError(describe(e));
    }
  };
  const selectedPlan = plans.data?.data.find((p) => p.key === planKey);
  return (
    <>
      <h1>Sources</h1>
      <Section title="Sources and write keys">
        <ErrorText error={sources.error} />
        <table>
          <caption>Sources</caption>
          <thead><tr><th scope="col">Key</th><th scope="col">Write key</th><th scope="col">Tracking plan</th><th scope="col">Mode</th><th scope="col">Created</th></tr></thead>
          <tbody>
            {sources.data?.data.map((s) => (
              <tr key={s.key}><td>{s.key}</td><td><code>{s.writeKey}</code></td><td>{s.trackingPlan ?? '—'}</td><td>{s.mode ?? '—'}</td><td>{when(s.createdAt)}</td></tr>
            ))}
          </tbody>
        </table>
        {canWrite ? (
          <form onSubmit={(e) => (e.preventDefault(), void create())}>
            <TextField label="New source key" value={key} onChange={setKey} required />
            <button type="submit">Create source</button>
          </form>
        ) : null}
        <ErrorText error={error} />
        <Status text={created} />
      </Section>
      <Section title="Tracking plans">
        <SelectField
          label="Tracking plan"
          value={planKey}
          options={[{ value: '', label: canWrite ? 'New plan…' : 'Choose a plan' }, ...(plans.data?.data ?? []).map((p) => ({ value: p.key, label: p.name ?? p.key }))]}
          onChange={setPlanKey}
        />
        {selectedPlan || canWrite ? (
          <PlanEditor key={planKey} plan={selectedPlan ?? { key: 'my_plan', name: 'My plan', events: {} }} onSaved={plans.reload} />
        ) : null}
      </Section>
      <Section title="Recent violations">
        <ErrorText error={violations.error} />
        {violations.data?.length === 0 ? <p>No recent event has violations.</p> : null}
        <ul>
          {violations.data?.map((e) => (
            <li key={e.id}>
              #{e.id} {String(e.message.event ?? e.message.type)} from {e.source}: {e.violations.map((v) => `${v.path}: ${v.message}`).join('; ')}
            </li>
          ))}
        </ul>
      </Section>
    </>
  );
}
