import { useState, type ReactNode } from 'react';
import { api, ApiError, describe } from '../../api';
import { ErrorText, JsonField, Section, SelectField, Status, useLoad } from '../../components/common';
import { useCanWrite } from '../../session';
import { FieldProblems, type FieldProblem } from './fields';

export interface FormProps<T> {
  value: T;
  set(v: T): void;
  isNew: boolean;
}

export interface DefinitionPageSpec<T extends { key: string }> {
  /** The API kind: GET/POST /<kind>, GET/PUT/DELETE /<kind>/<key>. */
  kind: string;
  title: string;
  /** The singular noun in buttons and messages ("experiment", "alert rule"). */
  noun: string;
  intro?: ReactNode;
  blank(): T;
  /** Drops read-only parts an answer carries before it is edited and sent back. */
  clean?(v: T): T;
  Form(props: FormProps<T>): ReactNode;
  /** Shown under a saved definition: results, runs, incidents. */
  Extra?(props: { item: T }): ReactNode;
}

/** The problem of a refused save, with the field the API named (TypeBox and the kind's own checks give a path). */
export const problemOf = (e: unknown): FieldProblem => ({ message: describe(e), path: e instanceof ApiError ? e.path : undefined });

export interface Loaded<T> {
  data?: { data: T[] };
  error?: string;
  loading?: boolean;
  reload(): void;
}

/**
 * A definable kind edited as a form, with its JSON behind "JSON (advanced)". A viewer sees the same form disabled.
 * Errors the API answers are shown under the field they name and beside the Save button.
 * This is a page of one kind: its title, intro and chooser.
 */
export function DefinitionPage<T extends { key: string }>({ spec }: { spec: DefinitionPageSpec<T> }) {
  const list = useLoad(() => api<{ data: T[] }>(`/${spec.kind}`), [spec.kind]);
  return (
    <>
      <h1>{spec.title}</h1>
      {spec.intro}
      <DefinitionChooser spec={spec} list={list} />
    </>
  );
}

/** Choose a definition (or New…), edit it in its form, and see what `spec.Extra` shows about it. */
export function DefinitionChooser<T extends { key: string }>({ spec, list, chooseLabel }: { spec: DefinitionPageSpec<T>; list: Loaded<T>; chooseLabel?: string }) {
  const canWrite = useCanWrite();
  const [selected, setSelected] = useState('');
  const [status, setStatus] = useState<string>();
  const current = list.data?.data.find((d) => d.key === selected);
  const name = (d: T) => String((d as { name?: unknown }).name ?? '') || d.key;
  return (
    <>
      <ErrorText error={list.error} />
      <SelectField
        label={chooseLabel ?? `Choose from ${spec.title.toLowerCase()}`}
        value={selected}
        options={[{ value: '', label: canWrite ? 'New…' : 'Choose' }, ...(list.data?.data ?? []).map((d) => ({ value: d.key, label: name(d) === d.key ? d.key : `${name(d)} (${d.key})` }))]}
        onChange={(v) => (setSelected(v), setStatus(undefined))}
      />
      {list.data?.data.length === 0 ? <p>None defined yet.</p> : null}
      {selected && !current && list.loading ? (
        <p>Loading…</p>
      ) : list.data && (current || canWrite) ? (
        <Editor
          key={current?.key ?? ''}
          spec={spec}
          initial={current ? (spec.clean ? spec.clean(current) : current) : spec.blank()}
          isNew={!current}
          onSaved={(key, message) => (setStatus(message), list.reload(), setSelected(key))}
          onDeleted={(message) => (setStatus(message), setSelected(''), list.reload())}
        />
      ) : null}
      <Status text={status} />
      {current && spec.Extra ? <spec.Extra item={current} /> : null}
    </>
  );
}

function Editor<T extends { key: string }>(props: { spec: DefinitionPageSpec<T>; initial: T; isNew: boolean; onSaved(key: string, message: string): void; onDeleted(message: string): void }) {
  const { spec } = props;
  const canWrite = useCanWrite();
  const [draft, setDraft] = useState<T>(props.initial);
  // The form keeps some text as typed (lists, pairs); an edit of the JSON redraws it from the value.
  const [formKey, setFormKey] = useState(0);
  const [problem, setProblem] = useState<FieldProblem>({});
  const [busy, setBusy] = useState(false);
  const Form = spec.Form;
  const save = async () => {
    setBusy(true);
    try {
      const saved = await api<T>(props.isNew ? `/${spec.kind}` : `/${spec.kind}/${encodeURIComponent(props.initial.key)}`, { method: props.isNew ? 'POST' : 'PUT', json: draft });
      setProblem({});
      props.onSaved(saved?.key ?? draft.key, `Saved ${spec.noun} '${saved?.key ?? draft.key}'.`);
    } catch (e) {
      setProblem(problemOf(e));
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    if (!window.confirm(`Delete ${spec.noun} '${props.initial.key}'?`)) return;
    try {
      await api(`/${spec.kind}/${encodeURIComponent(props.initial.key)}`, { method: 'DELETE' });
      props.onDeleted(`Deleted ${spec.noun} '${props.initial.key}'.`);
    } catch (e) {
      setProblem(problemOf(e));
    }
  };
  const title = props.isNew ? `New ${spec.noun}` : `${cap(spec.noun)} ${props.initial.key}`;
  return (
    <Section title={title}>
      <form aria-label={`${cap(spec.noun)} form`} onSubmit={(e) => (e.preventDefault(), void save())}>
        {!canWrite ? <p className="hint">Read only: your role (viewer) cannot change {spec.title.toLowerCase()}.</p> : null}
        <FieldProblems.Provider value={problem}>
          <fieldset className="node-form" disabled={!canWrite} aria-label={`${cap(spec.noun)} fields`}>
            <Form key={formKey} value={draft} set={setDraft} isNew={props.isNew} />
          </fieldset>
        </FieldProblems.Provider>
        <details>
          <summary>JSON (advanced)</summary>
          <JsonField label={`${cap(spec.noun)} (JSON)`} value={draft} onValid={(v) => (setDraft(v as T), setFormKey((k) => k + 1))} rows={16} readOnly={!canWrite} />
        </details>
        {canWrite ? (
          <div className="row">
            <button type="submit" disabled={busy}>
              Save {spec.noun}
            </button>
            {!props.isNew ? (
              <button type="button" className="danger" onClick={remove}>
                Delete {spec.noun}
              </button>
            ) : null}
          </div>
        ) : null}
        <ErrorText error={problem.message ? `Not saved: ${problem.message}` : undefined} />
      </form>
    </Section>
  );
}

export const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
