import { useCallback, useEffect, useId, useState, type ReactNode } from 'react';
import { describe } from '../api';

/** Loads data on mount and when `deps` change; `reload` runs it again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
  const run = useCallback(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) => live && setState({ error: describe(error), loading: false }),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  useEffect(run, [run]);
  return { ...state, reload: run };
}

export function ErrorText({ error }: { error?: string }) {
  if (!error) return null;
  return (
    <p role="alert" className="error">
      {error}
    </p>
  );
}

export function Status({ text }: { text?: string }) {
  return (
    <p role="status" className="status">
      {text ?? ''}
    </p>
  );
}

/** A labelled text input; every control in the console has a visible label. */
export function TextField(props: { label: string; value: string; onChange(v: string): void; type?: string; placeholder?: string; required?: boolean; autoComplete?: string; readOnly?: boolean }) {
  const id = useId();
  return (
    <span className="field">
      <label htmlFor={id}>{props.label}</label>
      <input id={id} type={props.type ?? 'text'} value={props.value} placeholder={props.placeholder} required={props.required} autoComplete={props.autoComplete} readOnly={props.readOnly} onChange={(e) => props.onChange(e.target.value)} />
    </span>
  );
}

/** The `<option>`s of a select: a plain value is its own label. */
export function Options<T extends string>({ options }: { options: readonly (T | { value: T; label: string })[] }) {
  return (
    <>
      {options.map((o) => {
        const option = typeof o === 'string' ? { value: o, label: o } : o;
        return (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        );
      })}
    </>
  );
}

export function SelectField<T extends string>(props: { label: string; value: NoInfer<T>; options: readonly (T | { value: T; label: string })[]; onChange(v: NoInfer<T>): void }) {
  const id = useId();
  return (
    <span className="field">
      <label htmlFor={id}>{props.label}</label>
      <select id={id} value={props.value} onChange={(e) => props.onChange(e.target.value as T)}>
        <Options options={props.options} />
      </select>
    </span>
  );
}

/** JSON in a labelled textarea; `onValid` gets the parsed value, and a parse error is shown beside it. */
export function JsonField(props: { label: string; value: unknown; onValid(v: unknown): void; rows?: number; readOnly?: boolean }) {
  const id = useId();
  const [text, setText] = useState(() => JSON.stringify(props.value, null, 2));
  const [problem, setProblem] = useState<string>();
  useEffect(() => setText(JSON.stringify(props.value, null, 2)), [props.value]);
  return (
    <span className="field wide">
      <label htmlFor={id}>{props.label}</label>
      <textarea
        id={id}
        rows={props.rows ?? 12}
        spellCheck={false}
        value={text}
        readOnly={props.readOnly}
        aria-invalid={problem ? true : undefined}
        onChange={(e) => {
          setText(e.target.value);
          try {
            props.onValid(JSON.parse(e.target.value));
            setProblem(undefined);
          } catch (error) {
            setProblem(`not valid JSON: ${(error as Error).message}`);
          }
        }}
      />
      {problem ? <small className="error">{problem}</small> : null}
    </span>
  );
}

export function Section(props: { title: string; children: ReactNode; actions?: ReactNode }) {
  return (
    <section className="card" aria-label={props.title}>
      <header className="card-head">
        <h2>{props.title}</h2>
        {props.actions}
      </header>
      {props.children}
    </section>
  );
}

export const when = (iso?: string | number | null) => (iso === undefined || iso === null ? '' : new Date(iso).toLocaleString());
