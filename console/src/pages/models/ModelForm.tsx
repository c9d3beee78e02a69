import type { FormProps } from '../forms/DefinitionPage';
import { Check, Choice, Group, LongText, Names, Num, objectOf, put, Text } from '../forms/fields';

/** The model definition (src/models/definition.ts, kind `models`) as the console edits it. */
export interface ClvParams { event: string; revenueProperty: string; timeUnit: 'days' | 'weeks'; calibrationEnd?: string; holdoutEnd?: string; horizon: number; discountRate: number }
export interface PropensityParams {
  event?: string; churn?: boolean; within: string; asOf?: string; events?: string[]; windows: string[]; traits?: string[]; revenueProperty?: string; l2: number; boosting: boolean;
}
export interface SendTimeParams { events: string[]; lookback: string; asOf?: string }
export type ModelType = 'clv' | 'propensity' | 'send-time';
export interface Model {
  key: string; name?: string; description?: string; type: ModelType; output?: string; schedule?: string;
  clv?: ClvParams; propensity?: PropensityParams; sendTime?: SendTimeParams; status?: unknown;
}

export const CLV_DEFAULTS: ClvParams = { event: 'Order Completed', revenueProperty: 'revenue', timeUnit: 'weeks', horizon: 52, discountRate: 0.1 };
export const PROPENSITY_DEFAULTS: PropensityParams = { event: 'Order Completed', within: '30d', windows: ['7d', '30d', '90d'], l2: 1, boosting: true };
export const SEND_TIME_DEFAULTS: SendTimeParams = { events: ['Message Opened', 'Message Clicked', 'Session Started'], lookback: '180d' };

export const blankModel = (): Model => ({ key: '', type: 'clv', clv: { ...CLV_DEFAULTS } });
/** The `status` a GET answers with is read-only; it is not sent back. */
export const cleanModel = ({ status: _status, ...m }: Model): Model => m;

/** Switching the type swaps the parameter section: the server refuses a section of another type. */
function withType(m: Model, type: ModelType): Model {
  const { clv: _c, propensity: _p, sendTime: _s, ...rest } = m;
  if (type === 'clv') return { ...rest, type, clv: { ...CLV_DEFAULTS } };
  if (type === 'propensity') return { ...rest, type, propensity: { ...PROPENSITY_DEFAULTS, windows: [...PROPENSITY_DEFAULTS.windows] } };
  return { ...rest, type, sendTime: { ...SEND_TIME_DEFAULTS, events: [...SEND_TIME_DEFAULTS.events] } };
}

function Clv({ p, set }: { p: ClvParams; set(p: ClvParams): void }) {
  return (
    <Group title="Lifetime value (BG/NBD and Gamma-Gamma)">
      <div className="row">
        <Text label="Purchase event" value={p.event} keepEmpty path="clv.event" onChange={(v) => set({ ...p, event: v ?? '' })} />
        <Text label="Revenue property" value={p.revenueProperty} keepEmpty path="clv.revenueProperty" onChange={(v) => set({ ...p, revenueProperty: v ?? '' })} />
        <Choice label="Time unit" value={p.timeUnit} path="clv.timeUnit" options={['weeks', 'days'] as const} onChange={(v) => set({ ...p, timeUnit: v })} />
        <Num label="Horizon (time units)" value={p.horizon} min={0} path="clv.horizon" onChange={(v) => set({ ...p, horizon: v ?? 0 })} />
        <Num label="Annual discount rate" value={p.discountRate} min={0} max={1} path="clv.discountRate" onChange={(v) => set({ ...p, discountRate: v ?? 0 })} />
      </div>
      <div className="row">
        <Text label="Calibration end (ISO date)" value={p.calibrationEnd} placeholder="the scoring instant" path="clv.calibrationEnd" onChange={(v) => set(put(p, 'calibrationEnd', v))} />
        <Text label="Holdout end / scoring instant (ISO date)" value={p.holdoutEnd} placeholder="the time of training" path="clv.holdoutEnd" onChange={(v) => set(put(p, 'holdoutEnd', v))} />
      </div>
    </Group>
  );
}

function Propensity({ p, set }: { p: PropensityParams; set(p: PropensityParams): void }) {
  const churn = p.churn === true;
  return (
    <Group title="Propensity (logistic regression, boosted trees)">
      <div className="row">
        <Choice
          label="Predict"
          value={churn ? 'churn' : 'event'}
          path="propensity.churn"
          options={[{ value: 'event', label: 'an event' }, { value: 'churn', label: 'churn (no activity at all)' }]}
          onChange={(v) => {
            const { event: _e, churn: _c, ...rest } = p;
            set(v === 'churn' ? { ...rest, churn: true } : { ...rest, event: p.event ?? 'Order Completed' });
          }}
        />
        {!churn ? <Text label="Predicted event" value={p.event} keepEmpty path="propensity.event" onChange={(v) => set({ ...p, event: v ?? '' })} /> : null}
        <Text label="Outcome window" value={p.within} keepEmpty path="propensity.within" onChange={(v) => set({ ...p, within: v ?? '' })} />
        <Text label="Scoring instant (ISO date)" value={p.asOf} placeholder="the time of training" path="propensity.asOf" onChange={(v) => set(put(p, 'asOf', v))} />
      </div>
      <div className="row">
        <Names label="Feature events" value={p.events} placeholder="the 10 most frequent" path="propensity.events" onChange={(v) => set(put(p, 'events', v))} />
        <Names label="Count windows" value={p.windows} path="propensity.windows" onChange={(v) => set({ ...p, windows: v ?? [] })} />
        <Names label="Trait features" value={p.traits} path="propensity.traits" onChange={(v) => set(put(p, 'traits', v))} />
        <Text label="Monetary feature property" value={p.revenueProperty} path="propensity.revenueProperty" onChange={(v) => set(put(p, 'revenueProperty', v))} />
      </div>
      <div className="row">
        <Num label="L2 penalty" value={p.l2} min={0} path="propensity.l2" onChange={(v) => set({ ...p, l2: v ?? 0 })} />
        <Check label="Also fit boosted trees" checked={p.boosting} path="propensity.boosting" onChange={(v) => set({ ...p, boosting: v })} />
      </div>
    </Group>
  );
}

function SendTime({ p, set }: { p: SendTimeParams; set(p: SendTimeParams): void }) {
  return (
    <Group title="Send time (best hour of the week)">
      <div className="row">
        <Names label="Engagement events" value={p.events} path="sendTime.events" onChange={(v) => set({ ...p, events: v ?? [] })} />
        <Text label="Lookback" value={p.lookback} keepEmpty path="sendTime.lookback" onChange={(v) => set({ ...p, lookback: v ?? '' })} />
        <Text label="Scoring instant (ISO date)" value={p.asOf} placeholder="the time of training" path="sendTime.asOf" onChange={(v) => set(put(p, 'asOf', v))} />
      </div>
    </Group>
  );
}

export function ModelForm({ value, set, isNew }: FormProps<Model>) {
  const type = value.type ?? 'clv';
  return (
    <>
      <div className="row">
        <Text label="Model key" value={value.key} keepEmpty required readOnly={!isNew} path="key" hint={isNew ? 'A letter, then letters, digits, _ or -; no dots.' : undefined} onChange={(v) => set({ ...value, key: v ?? '' })} />
        <Text label="Model name" value={value.name} path="name" onChange={(v) => set(put(value, 'name', v))} />
        <Choice
          label="Model type"
          value={type}
          path="type"
          options={[{ value: 'clv', label: 'lifetime value (clv)' }, { value: 'propensity', label: 'propensity' }, { value: 'send-time', label: 'send time' }]}
          onChange={(v) => set(withType(value, v))}
        />
      </div>
      <LongText label="Description" value={value.description} path="description" rows={2} onChange={(v) => set(put(value, 'description', v))} />
      <div className="row">
        <Text label="Output computed trait" value={value.output} placeholder={value.key || 'the key'} path="output" onChange={(v) => set(put(value, 'output', v))} />
        <Text label="Retrain every" value={value.schedule} placeholder="only on demand" path="schedule" hint="A duration such as 24h or 7d; at least 1m." onChange={(v) => set(put(value, 'schedule', v))} />
      </div>
      {type === 'clv' ? <Clv p={objectOf<ClvParams>(value.clv) ?? { ...CLV_DEFAULTS }} set={(p) => set({ ...value, clv: p })} /> : null}
      {type === 'propensity' ? <Propensity p={objectOf<PropensityParams>(value.propensity) ?? { ...PROPENSITY_DEFAULTS }} set={(p) => set({ ...value, propensity: p })} /> : null}
      {type === 'send-time' ? <SendTime p={objectOf<SendTimeParams>(value.sendTime) ?? { ...SEND_TIME_DEFAULTS }} set={(p) => set({ ...value, sendTime: p })} /> : null}
    </>
  );
}
