import { useState } from 'react';
import { api, describe } from '../api';
import { ErrorText, JsonField, Section, SelectField, Status, TextField, useLoad, when } from '../components/common';
import { useCanWrite } from '../session';
import { PlanForm, type Plan } from './sources/PlanForm';

interface Source { key: string; name?: string; trackingPlan?: string; mode?: string; writeKey: string; createdAt: string }
interface EventView { id: number; source: string; violations: { kind: string; path: string; message: string }[]; message: Record<string, unknown> }

/** A tracking plan in a form (events, properties, types, policies); its JSON stays behind "advanced". */
function PlanEditor({ plan, isNew, onSaved }: { plan: Plan; isNew: boolean; onSaved(): void }) {
  const canWrite = useCanWrite();
  const [draft, setDraft] = useState<Plan>(plan);
  const [status, setStatus] = useState<string>();
  const [error, setError] = useState<string>();
  const save = async () => {
    try {
      await api(isNew ? '/tracking-plans' : `/tracking-plans/${encodeURIComponent(plan.key)}`, { method: isNew ? 'POST' : 'PUT', json: draft });
      setError(undefined);
      setStatus(`Saved tracking plan '${draft.key}'.`);
      onSaved();
    } catch (e) {
      setError(describe(e));
    }
  };
  return (
    <div>
      <fieldset className="node-form" disabled={!canWrite} aria-label={isNew ? 'New tracking plan' : `Tracking plan ${plan.key}`}>
        <PlanForm plan={draft} set={setDraft} isNew={isNew} />
        <details>
          <summary>Advanced: the plan as JSON (JSON Schemas beyond names and types)</summary>
          <JsonField label={isNew ? 'New tracking plan (JSON)' : `Tracking plan '${plan.key}' (JSON)`} value={draft} onValid={(v) => setDraft(v as Plan)} rows={16} readOnly={!canWrite} />
        </details>
      </fieldset>
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

/** Which plan checks a source, and what happens to a message that breaks it. */
function SourceSettings({ sources, plans, onSaved }: { sources: Source[]; plans: Plan[]; onSaved(): void }) {
  const [key, setKey] = useState(sources[0]?.key ?? '');
  const source = sources.find((s) => s.key === key);
  const [plan, setPlan] = useState(source?.trackingPlan ?? '');
  const [mode, setMode] = useState<'allow' | 'flag' | 'block'>((source?.mode as 'flag') ?? 'flag');
  const [status, setStatus] = useState<string>();
  const [error, setError] = useState<string>();
  const choose = (k: string) => {
    const s = sources.find((x) => x.key === k);
    setKey(k);
    setPlan(s?.trackingPlan ?? '');
    setMode((s?.mode as 'flag') ?? 'flag');
  };
  const save = async () => {
    try {
      await api(`/sources/${encodeURIComponent(key)}`, { method: 'PUT', json: { key, ...(source?.name ? { name: source.name } : {}), ...(plan ? { trackingPlan: plan, mode } : {}) } });
      setError(undefined);
      setStatus(`Saved source '${key}'.`);
      onSaved();
    } catch (e) {
      setError(describe(e));
    }
  };
  return (
    <form className="row" aria-label="Source settings" onSubmit={(e) => (e.preventDefault(), void save())}>
      <SelectField label="Source" value={key} options={sources.map((s) => s.key)} onChange={choose} />
      <SelectField label="Checked by plan" value={plan} options={[{ value: '', label: '(no plan)' }, ...plans.map((p) => ({ value: p.key, label: p.name ?? p.key }))]} onChange={setPlan} />
      {plan ? <SelectField label="A message that breaks it is" value={mode} options={[{ value: 'allow', label: 'accepted' }, { value: 'flag', label: 'accepted and flagged' }, { value: 'block', label: 'quarantined' }]} onChange={setMode} /> : null}
      <button type="submit">Save source settings</button>
      <ErrorText error={error} />
      <Status text={status} />
    </form>
  );
}

const NEW_PLAN: Plan = { key: 'my_plan', name: 'My plan', events: {} };

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
        {canWrite && sources.data && plans.data && sources.data.data.length ? <SourceSettings sources={sources.data.data} plans={plans.data.data} onSaved={sources.reload} /> : null}
      </Section>
      <Section title="Tracking plans">
        <SelectField
          label="Tracking plan"
          value={planKey}
          options={[{ value: '', label: canWrite ? 'New plan…' : 'Choose a plan' }, ...(plans.data?.data ?? []).map((p) => ({ value: p.key, label: p.name ?? p.key }))]}
          onChange={setPlanKey}
        />
        {selectedPlan || canWrite ? (
          <PlanEditor key={planKey} plan={selectedPlan ?? NEW_PLAN} isNew={!selectedPlan} onSaved={plans.reload} />
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
