import { useState } from 'react';
import { SelectField, TextField } from '../../components/common';

/**
 * A tracking plan as a form: its policies and each planned event with its properties (name, type, required). A
 * property schema is written as `{ type }`, an event's as `{ type: object, required, properties }`, which is what
 * the plan check reads (src/collect/tracking-plan). An event whose schema says more than that (enums, nested
 * objects, patterns) is shown as such and kept as it is; the plan's JSON (advanced) edits it.
 */
export interface Plan { key: string; name?: string; events: Record<string, unknown>; unplannedEvents?: string; unplannedProperties?: string; [field: string]: unknown }

const TYPES = ['string', 'number', 'integer', 'boolean', 'object', 'array', 'any'] as const;
type PropType = (typeof TYPES)[number];
interface Row { name: string; type: PropType; required: boolean }

/** The rows of a simple event schema, or undefined when the schema says more than names, types and required. */
export function rowsOf(schema: unknown): Row[] | undefined {
  if (schema === true) return [];
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return undefined;
  const { type, properties = {}, required = [], ...rest } = schema as { type?: unknown; properties?: Record<string, unknown>; required?: string[] };
  if (Object.keys(rest).length || (type !== undefined && type !== 'object')) return undefined;
  const rows: Row[] = [];
  for (const [name, p] of Object.entries(properties)) {
    const keys = p && typeof p === 'object' ? Object.keys(p) : [];
    const t = (p as { type?: unknown })?.type;
    if (keys.length === 0) rows.push({ name, type: 'any', required: required.includes(name) });
    else if (keys.length === 1 && typeof t === 'string' && (TYPES as readonly string[]).includes(t)) rows.push({ name, type: t as PropType, required: required.includes(name) });
    else return undefined;
  }
  return rows;
}

export function schemaOf(rows: Row[]): Record<string, unknown> {
  const named = rows.filter((r) => r.name.trim() !== '');
  const required = named.filter((r) => r.required).map((r) => r.name);
  return { type: 'object', ...(required.length ? { required } : {}), properties: Object.fromEntries(named.map((r) => [r.name, r.type === 'any' ? {} : { type: r.type }])) };
}

/** The rows are kept here as typed (a new row has no name yet, which the schema cannot hold); the schema follows. */
function EventRows({ event, initial, save }: { event: string; initial: Row[]; save(rows: Row[]): void }) {
  const [rows, setRows] = useState(initial);
  const set = (next: Row[]) => (setRows(next), save(next));
  return (
    <>
      {rows.map((r, i) => (
        <div className="row" key={i}>
          <TextField label={`${event}: property ${i + 1}`} value={r.name} onChange={(v) => set(rows.map((x, j) => (j === i ? { ...x, name: v } : x)))} />
          <SelectField label={`${event}: type of property ${i + 1}`} value={r.type} options={TYPES} onChange={(v) => set(rows.map((x, j) => (j === i ? { ...x, type: v } : x)))} />
          <SelectField label={`${event}: property ${i + 1} is`} value={r.required ? 'required' : 'optional'} options={['optional', 'required'] as const} onChange={(v) => set(rows.map((x, j) => (j === i ? { ...x, required: v === 'required' } : x)))} />
          <button type="button" onClick={() => set(rows.filter((_, j) => j !== i))}>Remove property {i + 1} of {event}</button>
        </div>
      ))}
      <button type="button" className="secondary" onClick={() => set([...rows, { name: '', type: 'string', required: false }])}>Add property to {event}</button>
    </>
  );
}

export function PlanForm({ plan, set, isNew }: { plan: Plan; set(p: Plan): void; isNew: boolean }) {
  const events = plan.events ?? {};
  const setEvents = (next: Record<string, unknown>) => set({ ...plan, events: next });
  const rename = (from: string, to: string) => setEvents(Object.fromEntries(Object.entries(events).map(([k, v]) => [k === from ? to : k, v])));
  return (
    <>
      <div className="row">
        <TextField label="Plan key" value={plan.key} onChange={(v) => set({ ...plan, key: v })} readOnly={!isNew} required />
        <TextField label="Plan name" value={plan.name ?? ''} onChange={(v) => set({ ...plan, name: v })} />
        <SelectField label="Events not in the plan" value={(plan.unplannedEvents ?? 'flag') as 'flag'} options={[{ value: 'allow', label: 'allow' }, { value: 'flag', label: 'flag (record a violation)' }, { value: 'block', label: 'block (quarantine in block mode)' }]} onChange={(v) => set({ ...plan, unplannedEvents: v })} />
        <SelectField label="Properties not in the plan" value={(plan.unplannedProperties ?? 'allow') as 'allow'} options={[{ value: 'allow', label: 'allow' }, { value: 'flag', label: 'flag (record a violation)' }, { value: 'block', label: 'block (quarantine in block mode)' }]} onChange={(v) => set({ ...plan, unplannedProperties: v })} />
      </div>
      {Object.entries(events).map(([name, schema], i) => {
        const rows = rowsOf(schema);
        return (
          <fieldset key={i} className="filters" aria-label={`Planned event ${name || i + 1}`}>
            <legend>Planned event {name || i + 1}</legend>
            <div className="row">
              <TextField label={`Event ${i + 1} name`} value={name} onChange={(v) => rename(name, v)} />
              <button type="button" className="danger" onClick={() => setEvents(Object.fromEntries(Object.entries(events).filter(([k]) => k !== name)))}>Remove event {name || i + 1}</button>
            </div>
            {rows ? <EventRows event={name || `event ${i + 1}`} initial={rows} save={(r) => setEvents({ ...events, [name]: schemaOf(r) })} /> : <p>This event's schema uses more than property names and types; edit it in the plan's JSON below.</p>}
          </fieldset>
        );
      })}
      <button type="button" className="secondary" onClick={() => setEvents({ ...events, [`New Event ${Object.keys(events).length + 1}`]: { type: 'object', properties: {} } })}>Add planned event</button>
    </>
  );
}
