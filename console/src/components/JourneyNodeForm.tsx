import { useId } from 'react';
import { ConditionBuilder, Filters, parseOperand, type Condition } from './ConditionBuilder';
import { SelectField, TextField } from './common';
import type { JourneyNode } from './journey-graph';

/**
 * A form for each journey node kind (the fields of src/journeys/definition.ts NODE_SCHEMAS), so a journey is built
 * without typing JSON: durations, the channel and template of a send, a branch's condition in the condition
 * builder, a split's branches, a decision's arms. Exits (`next`, `then`, ...) are edited by the node panel's
 * "goes to" selects and on the graph, not here. The value edited is the node itself, as the API stores it.
 */
export interface NodeFormOptions {
  channels: { key: string; type?: string }[];
  templates: { key: string; channel: string }[];
  experiments: string[];
}

type Set = (node: JourneyNode) => void;

/** Sets a field, or removes it when empty, so a cleared optional field is not sent as "". */
const put = (node: JourneyNode, field: string, value: unknown): JourneyNode => {
  const next = { ...node };
  if (value === undefined || value === '') delete next[field];
  else next[field] = value;
  return next;
};
const text = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v));
const numberOrUndefined = (v: string) => (v.trim() === '' ? undefined : Number(v));

function Checkbox(props: { label: string; checked: boolean; onChange(v: boolean): void }) {
  const id = useId();
  return (
    <span className="field check">
      <input id={id} type="checkbox" checked={props.checked} onChange={(e) => props.onChange(e.target.checked)} />
      <label htmlFor={id}>{props.label}</label>
    </span>
  );
}

/** Options of a select that must keep a value it does not know (a channel deleted since, a key typed in YAML). */
function choices(known: { value: string; label: string }[], current: string, empty?: string) {
  const list = [...(empty !== undefined ? [{ value: '', label: empty }] : []), ...known];
  if (current && !list.some((o) => o.value === current)) list.push({ value: current, label: `${current} (not defined)` });
  return list;
}

/** `payload`: named values given to the template or webhook (Liquid in values is rendered at send time). */
function Payload(props: { id: string; node: JourneyNode; set: Set }) {
  const payload = (props.node.payload as Record<string, unknown>) ?? {};
  const entries = Object.entries(payload);
  const write = (list: [string, unknown][]) => props.set(put(props.node, 'payload', list.length ? Object.fromEntries(list) : undefined));
  return (
    <fieldset className="filters">
      <legend>Payload of {props.id}</legend>
      {entries.map(([k, v], i) => (
        <div className="row" key={i}>
          <TextField label={`Payload field ${i + 1}`} value={k} onChange={(name) => write(entries.map((e, j) => (j === i ? [name, e[1]] : e)))} />
          <TextField label={`Payload value ${i + 1}`} value={text(v)} onChange={(value) => write(entries.map((e, j) => (j === i ? [e[0], value] : e)))} />
          <button type="button" onClick={() => write(entries.filter((_, j) => j !== i))}>Remove payload field {i + 1}</button>
        </div>
      ))}
      <button type="button" onClick={() => write([...entries, [`field_${entries.length + 1}`, '']])}>Add payload field</button>
    </fieldset>
  );
}

/** `at: { bestTimeWithin, model }`: wait for the profile's best hour (a send-time model) before sending. */
function BestTime(props: { id: string; node: JourneyNode; set: Set }) {
  const at = props.node.at as { bestTimeWithin?: string; model?: string } | undefined;
  return (
    <div className="row">
      <Checkbox label={`${props.id}: send at the profile's best time`} checked={!!at} onChange={(on) => props.set(put(props.node, 'at', on ? { bestTimeWithin: '24h', model: 'send_time' } : undefined))} />
      {at ? (
        <>
          <TextField label={`${props.id}: best time within (duration)`} value={at.bestTimeWithin ?? ''} onChange={(v) => props.set({ ...props.node, at: { ...at, bestTimeWithin: v } })} />
          <TextField label={`${props.id}: send-time model`} value={at.model ?? ''} onChange={(v) => props.set({ ...props.node, at: { ...at, model: v } })} />
        </>
      ) : null}
    </div>
  );
}

export function JourneyNodeForm({ id, node, set, options }: { id: string; node: JourneyNode; set: Set; options: NodeFormOptions }) {
  const field = (label: string, name: string, placeholder?: string) => (
    <TextField label={`${id}: ${label}`} value={text(node[name])} placeholder={placeholder} onChange={(v) => set(put(node, name, v))} />
  );
  const body = (() => {
    switch (node.type) {
      case 'wait':
        return <div className="row">{field('wait for (duration)', 'duration', '1h, 30m, 7d')}</div>;
      case 'wait_until': {
        const mode = node.date_trait !== undefined ? 'trait' : node.date_property !== undefined ? 'property' : 'time';
        const setMode = (m: string) => {
          const { time: _t, date_trait: _d, date_property: _p, offset: _o, yearly: _y, ...rest } = node;
          set(m === 'time' ? { ...rest, type: node.type, time: '09:00' } : m === 'trait' ? { ...rest, type: node.type, date_trait: 'birthday', yearly: true } : { ...rest, type: node.type, date_property: 'expires_at' });
        };
        return (
          <div className="row">
            <SelectField label={`${id}: wait until`} value={mode} options={[{ value: 'time', label: 'a time of day' }, { value: 'trait', label: 'a date in a trait' }, { value: 'property', label: "a date in the trigger event" }]} onChange={setMode} />
            {mode === 'time' ? field('time of day (HH:MM, profile time zone)', 'time', '09:00') : null}
            {mode === 'trait' ? field('date trait', 'date_trait', 'birthday') : null}
            {mode === 'property' ? field('event property with the date', 'date_property', 'cart_expires_at') : null}
            {mode !== 'time' ? field('offset (e.g. -1d)', 'offset', '-1d') : null}
            {mode === 'trait' ? <Checkbox label={`${id}: every year (anniversary)`} checked={node.yearly === true} onChange={(v) => set(put(node, 'yearly', v || undefined))} /> : null}
          </div>
        );
      }
      case 'wait_for_event':
        return (
          <>
            <div className="row">
              {field('event to wait for', 'event', 'Order Completed')}
              {field('timeout (duration)', 'timeout', '1d')}
            </div>
            <Filters label={`Property filters of ${id}`} field="property" list={(node.where as Condition[]) ?? []} onChange={(list) => set(put(node, 'where', list.length ? list : undefined))} />
          </>
        );
      case 'branch':
        return <ConditionBuilder name={`Condition of ${id}`} value={(node.condition as Condition) ?? { trait: 'email', exists: true }} onChange={(c) => set({ ...node, condition: c })} />;
      case 'split': {
        const branches = (node.branches as { weight?: number; arm?: string; next?: string }[]) ?? [];
        const write = (list: typeof branches) => set({ ...node, branches: list });
        return (
          <>
            <SelectField label={`${id}: experiment`} value={text(node.experiment)} options={choices(options.experiments.map((k) => ({ value: k, label: k })), text(node.experiment), '(none: random by weight)')} onChange={(v) => set(put(node, 'experiment', v))} />
            <fieldset className="filters">
              <legend>Branches of {id}</legend>
              {branches.map((b, i) => (
                <div className="row" key={i}>
                  <TextField label={`${id}: weight of branch ${i + 1}`} type="number" value={text(b.weight)} onChange={(v) => write(branches.map((x, j) => (j === i ? (numberOrUndefined(v) === undefined ? (({ weight: _w, ...r }) => r)(x) : { ...x, weight: Number(v) }) : x)))} />
                  {node.experiment ? <TextField label={`${id}: arm of branch ${i + 1}`} value={b.arm ?? ''} onChange={(v) => write(branches.map((x, j) => (j === i ? { ...x, arm: v } : x)))} /> : null}
                  {branches.length > 1 ? <button type="button" onClick={() => write(branches.filter((_, j) => j !== i))}>Remove branch {i + 1} of {id}</button> : null}
                </div>
              ))}
              <button type="button" onClick={() => write([...branches, { weight: 50 }])}>Add branch to {id}</button>
            </fieldset>
          </>
        );
      }
      case 'decide': {
        const arms = (node.arms as { key: string; eligible?: Condition; next?: string }[]) ?? [];
        const reward = (node.reward as { event?: string; within?: string }) ?? {};
        const holdout = node.holdout as { percent?: number; next?: string } | undefined;
        const write = (list: typeof arms) => set({ ...node, arms: list });
        return (
          <>
            <fieldset className="filters">
              <legend>Arms of {id}</legend>
              {arms.map((a, i) => (
                <div key={i}>
                  <div className="row">
                    <TextField label={`${id}: key of arm ${i + 1}`} value={a.key} onChange={(v) => write(arms.map((x, j) => (j === i ? { ...x, key: v } : x)))} />
                    <Checkbox label={`${id}: arm ${i + 1} only when…`} checked={a.eligible !== undefined} onChange={(on) => write(arms.map((x, j) => (j === i ? (on ? { ...x, eligible: { trait: 'email', exists: true } } : (({ eligible: _e, ...r }) => r)(x)) : x)))} />
                    {arms.length > 1 ? <button type="button" onClick={() => write(arms.filter((_, j) => j !== i))}>Remove arm {i + 1} of {id}</button> : null}
                  </div>
                  {a.eligible ? <ConditionBuilder name={`Eligibility of ${id} arm ${i + 1}`} value={a.eligible} onChange={(c) => write(arms.map((x, j) => (j === i ? { ...x, eligible: c } : x)))} /> : null}
                </div>
              ))}
              <button type="button" onClick={() => write([...arms, { key: `arm_${arms.length + 1}` }])}>Add arm to {id}</button>
            </fieldset>
            <div className="row">
              <TextField label={`${id}: reward event`} value={reward.event ?? ''} onChange={(v) => set({ ...node, reward: { ...reward, event: v } })} />
              <TextField label={`${id}: reward within (duration)`} value={reward.within ?? ''} onChange={(v) => set({ ...node, reward: { ...reward, within: v } })} />
              <TextField label={`${id}: exploration (0 to 1)`} type="number" value={text(node.exploration)} onChange={(v) => set(put(node, 'exploration', numberOrUndefined(v)))} />
              <TextField label={`${id}: holdout percent (0 to 50)`} type="number" value={text(holdout?.percent)} onChange={(v) => set(put(node, 'holdout', numberOrUndefined(v) === undefined ? undefined : { ...holdout, percent: Number(v) }))} />
            </div>
          </>
        );
      }
      case 'send': {
        const channel = text(node.channel);
        const medium = options.channels.find((c) => c.key === channel)?.type ?? channel;
        // Templates written for this channel's type first; the others stay choosable (a template may serve several).
        const templates = [...options.templates].sort((a, b) => Number(b.channel === medium) - Number(a.channel === medium));
        return (
          <>
            <div className="row">
              <SelectField label={`${id}: channel`} value={channel} options={choices(options.channels.map((c) => ({ value: c.key, label: c.type ? `${c.key} (${c.type})` : c.key })), channel, '(choose a channel)')} onChange={(v) => set({ ...node, channel: v })} />
              <SelectField label={`${id}: template`} value={text(node.template)} options={choices(templates.map((t) => ({ value: t.key, label: `${t.key} (${t.channel})` })), text(node.template), '(none)')} onChange={(v) => set(put(node, 'template', v))} />
              <SelectField label={`${id}: category`} value={(text(node.category) || 'marketing') as 'marketing'} options={[{ value: 'marketing', label: 'marketing (caps, quiet hours, opt-in)' }, { value: 'transactional', label: 'transactional (exempt)' }]} onChange={(v) => set(put(node, 'category', v === 'marketing' ? undefined : v))} />
              <TextField label={`${id}: priority`} type="number" value={text(node.priority)} onChange={(v) => set(put(node, 'priority', numberOrUndefined(v)))} />
            </div>
            <BestTime id={id} node={node} set={set} />
            <Payload id={id} node={node} set={set} />
          </>
        );
      }
      case 'update_trait':
        return (
          <div className="row">
            {field('trait', 'trait', 'welcomed')}
            <TextField label={`${id}: value (true, false, a number or text)`} value={text(node.value)} onChange={(v) => set({ ...node, value: parseOperand('eq', v) })} />
          </div>
        );
      case 'webhook':
        return (
          <>
            <SelectField label={`${id}: webhook channel`} value={text(node.channel)} options={choices(options.channels.map((c) => ({ value: c.key, label: c.type ? `${c.key} (${c.type})` : c.key })), text(node.channel), '(choose a channel)')} onChange={(v) => set({ ...node, channel: v })} />
            <BestTime id={id} node={node} set={set} />
            <Payload id={id} node={node} set={set} />
          </>
        );
      case 'ad_audience':
        return (
          <div className="row">
            <SelectField label={`${id}: ad channel`} value={text(node.channel)} options={choices(options.channels.map((c) => ({ value: c.key, label: c.type ? `${c.key} (${c.type})` : c.key })), text(node.channel), '(choose a channel)')} onChange={(v) => set({ ...node, channel: v })} />
            <SelectField label={`${id}: action`} value={(text(node.action) || 'add') as 'add'} options={[{ value: 'add', label: 'add the profile' }, { value: 'remove', label: 'remove the profile' }]} onChange={(v) => set({ ...node, action: v })} />
          </div>
        );
      case 'exit':
        return <p>The journey ends here for the profile.</p>;
      default:
        return <p>This node kind has no form yet; edit it in the whole definition (JSON) below.</p>;
    }
  })();
  return (
    <>
      <TextField label={`${id}: label (optional)`} value={text(node.name)} onChange={(v) => set(put(node, 'name', v))} />
      {body}
    </>
  );
}
