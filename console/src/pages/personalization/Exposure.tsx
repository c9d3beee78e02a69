import { useId, useState } from 'react';
import { api } from '../../api';
import { ErrorText, JsonField, Section, Status, useLoad } from '../../components/common';
import { useCanWrite } from '../../session';
import { problemOf } from '../forms/DefinitionPage';
import { Check, FieldProblems, Names, put, type FieldProblem } from '../forms/fields';

/** What POST /v1/personalize may return about a visitor (kind `personalization`, src/personalize/exposure.ts). */
export interface Exposure { audiences?: string[]; computed?: string[]; traits?: string[]; allowPersonalData?: boolean; context?: boolean }

function AudienceChoice({ value, audiences, set }: { value: string[] | undefined; audiences: string[]; set(v: string[] | undefined): void }) {
  const legend = useId();
  const all = value?.includes('*') ?? false;
  const chosen = value ?? [];
  const toggle = (key: string, on: boolean) => {
    const next = on ? [...chosen, key] : chosen.filter((k) => k !== key);
    set(next.length ? next : undefined);
  };
  return (
    <fieldset className="filters" aria-labelledby={legend}>
      <legend id={legend}>Audiences a page may see</legend>
      <Check label="Every audience (*)" checked={all} path="audiences" onChange={(v) => set(v ? ['*'] : undefined)} />
      {!all ? (
        audiences.length ? (
          audiences.map((a) => <Check key={a} label={`Audience ${a}`} checked={chosen.includes(a)} onChange={(v) => toggle(a, v)} />)
        ) : (
          <p>No audience defined yet.</p>
        )
      ) : null}
      {chosen.filter((k) => k !== '*' && !audiences.includes(k)).map((k) => (
        <Check key={k} label={`Audience ${k} (no longer defined)`} checked onChange={(v) => toggle(k, v)} />
      ))}
    </fieldset>
  );
}

/** The exposure settings as a form (its JSON behind "JSON (advanced)"); a viewer sees it disabled. */
export function ExposureSettings() {
  const canWrite = useCanWrite();
  const loaded = useLoad(async () => {
    const [settings, audiences] = await Promise.all([api<Exposure>('/personalization'), api<{ data: { key: string }[] }>('/audiences')]);
    return { settings, audiences: audiences.data.map((a) => a.key) };
  }, []);
  return (
    <Section title="What a page may see">
      <p>Audiences, computed traits and (only with personal data allowed) profile traits that the answer of <code>POST /v1/personalize</code> may carry.</p>
      <ErrorText error={loaded.error} />
      {loaded.data ? <ExposureEditor initial={loaded.data.settings} audiences={loaded.data.audiences} canWrite={canWrite} onSaved={loaded.reload} /> : null}
    </Section>
  );
}

function ExposureEditor(props: { initial: Exposure; audiences: string[]; canWrite: boolean; onSaved(): void }) {
  const [draft, setDraft] = useState<Exposure>(props.initial);
  const [formKey, setFormKey] = useState(0);
  const [problem, setProblem] = useState<FieldProblem>({});
  const [status, setStatus] = useState<string>();
  const save = async () => {
    try {
      await api('/personalization', { method: 'PUT', json: draft });
      setProblem({});
      setStatus('Saved what a page may see.');
      props.onSaved();
    } catch (e) {
      setStatus(undefined);
      setProblem(problemOf(e));
    }
  };
  return (
    <form aria-label="Personalization settings" onSubmit={(e) => (e.preventDefault(), void save())}>
      {!props.canWrite ? <p className="hint">Read only: your role (viewer) cannot change these settings.</p> : null}
      <FieldProblems.Provider value={problem}>
        <fieldset className="node-form" disabled={!props.canWrite} aria-label="Exposure settings" key={formKey}>
          <AudienceChoice value={draft.audiences} audiences={props.audiences} set={(v) => setDraft(put(draft, 'audiences', v))} />
          <div className="row">
            <Names label="Computed traits a page may see" value={draft.computed} path="computed" hint="Comma separated; * for every computed trait." onChange={(v) => setDraft(put(draft, 'computed', v))} />
            <Names label="Profile traits a page may see" value={draft.traits} path="traits" hint="Personal data: needs the box below." onChange={(v) => setDraft(put(draft, 'traits', v))} />
          </div>
          <div className="row">
            <Check label="Allow personal data (profile traits) to anyone holding the write key" checked={draft.allowPersonalData === true} path="allowPersonalData" onChange={(v) => setDraft(put(draft, 'allowPersonalData', v ? true : undefined))} />
            <Check label="Return the request context (geo, time, device, page)" checked={draft.context !== false} path="context" onChange={(v) => setDraft(put(draft, 'context', v ? undefined : false))} />
          </div>
        </fieldset>
      </FieldProblems.Provider>
      <details>
        <summary>JSON (advanced)</summary>
        <JsonField label="Personalization settings (JSON)" value={draft} onValid={(v) => (setDraft(v as Exposure), setFormKey((k) => k + 1))} rows={8} readOnly={!props.canWrite} />
      </details>
      {props.canWrite ? <button type="submit">Save settings</button> : null}
      <ErrorText error={problem.message ? `Not saved: ${problem.message}` : undefined} />
      <Status text={status} />
    </form>
  );
}
