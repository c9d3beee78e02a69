import { createContext, useContext, useEffect, useId, useState, type ReactNode } from 'react';
import { Options } from '../../components/common';

/**
 * Labelled form controls for definition forms (experiments, models, alert rules, decision points). Each takes the
 * `path` of its field in the definition as the API names it (`arms[1].weight`): when the API refuses the body with an
 * error at that path, the message is shown under the control and the control is marked invalid. An optional field
 * left empty is `undefined`, so it is left out of the body and the server's default applies.
 */
export interface FieldProblem {
  message?: string;
  path?: string;
}
export const FieldProblems = createContext<FieldProblem>({});

function useProblem(path?: string): string | undefined {
  const p = useContext(FieldProblems);
  return path !== undefined && p.path !== undefined && p.message && (p.path === path || p.path.startsWith(`${path}.`) || p.path.startsWith(`${path}[`)) ? p.message : undefined;
}

function Shell(props: { id: string; label: string; hint?: string; problem?: string; wide?: boolean; children: ReactNode }) {
  return (
    <span className={props.wide ? 'field wide' : 'field'}>
      <label htmlFor={props.id}>{props.label}</label>
      {props.children}
      {props.hint ? <small id={`${props.id}-hint`} className="hint">{props.hint}</small> : null}
      {props.problem ? <small id={`${props.id}-problem`} className="error">{props.problem}</small> : null}
    </span>
  );
}
const describedBy = (id: string, hint?: string, problem?: string) => [hint ? `${id}-hint` : '', problem ? `${id}-problem` : ''].filter(Boolean).join(' ') || undefined;

/** A text input; empty means undefined unless `keepEmpty`. */
export function Text(props: { label: string; value: string | undefined; onChange(v: string | undefined): void; path?: string; hint?: string; placeholder?: string; required?: boolean; readOnly?: boolean; keepEmpty?: boolean; type?: string; wide?: boolean }) {
  const id = useId();
  const problem = useProblem(props.path);
  return (
    <Shell id={id} label={props.label} hint={props.hint} problem={problem} wide={props.wide}>
      <input
        id={id}
        type={props.type ?? 'text'}
        value={props.value ?? ''}
        placeholder={props.placeholder}
        required={props.required}
        readOnly={props.readOnly}
        aria-invalid={problem ? true : undefined}
        aria-describedby={describedBy(id, props.hint, problem)}
        onChange={(e) => props.onChange(e.target.value === '' && !props.keepEmpty ? undefined : e.target.value)}
      />
    </Shell>
  );
}

/** A number input; empty means undefined. */
export function Num(props: { label: string; value: number | undefined; onChange(v: number | undefined): void; path?: string; hint?: string; step?: number | 'any'; min?: number; max?: number; placeholder?: string }) {
  const id = useId();
  const problem = useProblem(props.path);
  const [text, setText] = useState(props.value === undefined ? '' : String(props.value));
  useEffect(() => {
    // Follow the value when it changes from elsewhere (the JSON), not while the text means the same number.
    setText((t) => ((t === '' ? undefined : Number(t)) === props.value ? t : props.value === undefined ? '' : String(props.value)));
  }, [props.value]);
  return (
    <Shell id={id} label={props.label} hint={props.hint} problem={problem}>
      <input
        id={id}
        type="number"
        inputMode="decimal"
        step={props.step ?? 'any'}
        min={props.min}
        max={props.max}
        placeholder={props.placeholder}
        value={text}
        aria-invalid={problem ? true : undefined}
        aria-describedby={describedBy(id, props.hint, problem)}
        onChange={(e) => {
          setText(e.target.value);
          const n = e.target.value === '' ? undefined : Number(e.target.value);
          if (n === undefined || Number.isFinite(n)) props.onChange(n);
        }}
      />
    </Shell>
  );
}

export type Option<T extends string> = T | { value: T; label: string };

export function Choice<T extends string>(props: { label: string; value: NoInfer<T>; options: readonly Option<T>[]; onChange(v: NoInfer<T>): void; path?: string; hint?: string }) {
  const id = useId();
  const problem = useProblem(props.path);
  return (
    <Shell id={id} label={props.label} hint={props.hint} problem={problem}>
      <select id={id} value={props.value} aria-invalid={problem ? true : undefined} aria-describedby={describedBy(id, props.hint, problem)} onChange={(e) => props.onChange(e.target.value as T)}>
        <Options options={props.options} />
      </select>
    </Shell>
  );
}

export function Check(props: { label: string; checked: boolean; onChange(v: boolean): void; path?: string }) {
  const id = useId();
  const problem = useProblem(props.path);
  return (
    <span className="field check">
      <input id={id} type="checkbox" checked={props.checked} aria-invalid={problem ? true : undefined} aria-describedby={problem ? `${id}-problem` : undefined} onChange={(e) => props.onChange(e.target.checked)} />
      <label htmlFor={id}>{props.label}</label>
      {problem ? <small id={`${id}-problem`} className="error">{problem}</small> : null}
    </span>
  );
}

export function LongText(props: { label: string; value: string | undefined; onChange(v: string | undefined): void; path?: string; hint?: string; rows?: number }) {
  const id = useId();
  const problem = useProblem(props.path);
  return (
    <Shell id={id} label={props.label} hint={props.hint} problem={problem} wide>
      <textarea id={id} rows={props.rows ?? 4} value={props.value ?? ''} aria-invalid={problem ? true : undefined} aria-describedby={describedBy(id, props.hint, problem)} onChange={(e) => props.onChange(e.target.value === '' ? undefined : e.target.value)} />
    </Shell>
  );
}

const splitList = (text: string) => text.split(',').map((s) => s.trim()).filter(Boolean);

/** A list of names typed comma separated; an empty list is undefined. */
export function Names(props: { label: string; value: string[] | undefined; onChange(v: string[] | undefined): void; path?: string; hint?: string; placeholder?: string }) {
  const id = useId();
  const problem = useProblem(props.path);
  const joined = (props.value ?? []).join(', ');
  const [text, setText] = useState(joined);
  useEffect(() => setText((t) => (splitList(t).join(', ') === joined ? t : joined)), [joined]);
  return (
    <Shell id={id} label={props.label} hint={props.hint ?? 'Comma separated.'} problem={problem}>
      <input
        id={id}
        type="text"
        value={text}
        placeholder={props.placeholder}
        aria-invalid={problem ? true : undefined}
        aria-describedby={describedBy(id, props.hint ?? 'Comma separated.', problem)}
        onChange={(e) => {
          setText(e.target.value);
          const list = splitList(e.target.value);
          props.onChange(list.length ? list : undefined);
        }}
      />
    </Shell>
  );
}

/** Rows of name = value (labels, match, content); values stay strings unless `typed` (numbers and booleans parsed). */
export function Pairs(props: { label: string; value: Record<string, unknown> | undefined; onChange(v: Record<string, unknown> | undefined): void; path?: string; typed?: boolean; nameLabel?: string }) {
  const entries = Object.entries(props.value ?? {});
  const [rows, setRows] = useState<[string, string][]>(() => entries.map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  const problem = useProblem(props.path);
  const parse = (text: string): unknown => {
    if (!props.typed) return text;
    if (text === 'true' || text === 'false') return text === 'true';
    if (text.trim() !== '' && Number.isFinite(Number(text))) return Number(text);
    return text;
  };
  const set = (next: [string, string][]) => {
    setRows(next);
    const named = next.filter(([k]) => k.trim() !== '');
    props.onChange(named.length ? Object.fromEntries(named.map(([k, v]) => [k.trim(), parse(v)])) : undefined);
  };
  const name = props.nameLabel ?? 'Name';
  return (
    <fieldset className="filters" aria-label={props.label}>
      <legend>{props.label}</legend>
      {rows.map(([k, v], i) => (
        <div className="row" key={i}>
          <Text label={`${props.label}: ${name.toLowerCase()} ${i + 1}`} value={k} keepEmpty onChange={(x) => set(rows.map((r, j) => (j === i ? [x ?? '', r[1]] : r)))} />
          <Text label={`${props.label}: value ${i + 1}`} value={v} keepEmpty onChange={(x) => set(rows.map((r, j) => (j === i ? [r[0], x ?? ''] : r)))} />
          <button type="button" className="secondary" onClick={() => set(rows.filter((_, j) => j !== i))}>
            Remove {props.label.toLowerCase()} {i + 1}
          </button>
        </div>
      ))}
      <button type="button" className="secondary" onClick={() => setRows([...rows, ['', '']])}>
        Add to {props.label.toLowerCase()}
      </button>
      {problem ? <small className="error">{problem}</small> : null}
    </fieldset>
  );
}

/** A fieldset with a visible legend that names its group of controls. */
export function Group(props: { title: string; children: ReactNode; hint?: ReactNode }) {
  return (
    <fieldset className="filters" aria-label={props.title}>
      <legend>{props.title}</legend>
      {props.hint ? <p className="hint">{props.hint}</p> : null}
      {props.children}
    </fieldset>
  );
}

/** Sets or removes a field of an object (undefined removes it, so the server's default applies). */
export function put<T extends object, K extends keyof T>(obj: T, key: K, value: T[K] | undefined): T {
  const next = { ...obj };
  if (value === undefined) delete next[key];
  else next[key] = value;
  return next;
}

export const arrayOf = <T,>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);
export const objectOf = <T extends object>(v: unknown): T | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as T) : undefined);
