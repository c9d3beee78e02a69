import { ConditionBuilder, type Condition } from '../../components/ConditionBuilder';
import type { FormProps } from '../forms/DefinitionPage';
import { arrayOf, Check, Choice, Group, LongText, Names, Num, put, Text } from '../forms/fields';

/** The experiment definition (src/experiments/definition.ts, kind `experiments`) as the console edits it. */
export interface Arm { key: string; name?: string; weight: number }
export interface Metric {
  key: string; name?: string; type: 'conversion' | 'revenue' | 'count'; event: string; property?: string; within?: string;
  guardrail?: boolean; direction?: 'increase' | 'decrease'; cuped?: { before: string };
}
export interface Experiment {
  key: string; name?: string; description?: string; status?: 'running' | 'stopped'; salt?: string; arms: Arm[]; control?: string;
  targeting?: Condition; exposure_event?: string; holdout?: { arm: string; journeys: string[] }; metrics: Metric[];
  alpha?: number; minimum_sample?: number; planned_sample?: number;
}

export const blankExperiment = (): Experiment => ({
  key: '',
  status: 'running',
  arms: [{ key: 'control', weight: 50 }, { key: 'treatment', weight: 50 }],
  metrics: [{ key: 'orders', type: 'conversion', event: 'Order Completed', within: '14d' }],
});

function Arms({ arms, set }: { arms: Arm[]; set(a: Arm[]): void }) {
  const total = arms.reduce((s, a) => s + (Number.isFinite(a.weight) && a.weight > 0 ? a.weight : 0), 0);
  const edit = (i: number, a: Arm) => set(arms.map((x, j) => (j === i ? a : x)));
  return (
    <Group title="Variants (arms)" hint="Profiles are split by weight; weights need not add up to 100. The first arm is the control unless another is chosen below.">
      {arms.map((a, i) => (
        <div className="row" key={i}>
          <Text label={`Arm ${i + 1} key`} value={a.key} keepEmpty required path={`arms[${i}].key`} onChange={(v) => edit(i, { ...a, key: v ?? '' })} />
          <Text label={`Arm ${i + 1} name`} value={a.name} path={`arms[${i}].name`} onChange={(v) => edit(i, put(a, 'name', v))} />
          <Num label={`Arm ${i + 1} weight`} value={a.weight} min={0} path={`arms[${i}].weight`} onChange={(v) => edit(i, { ...a, weight: v ?? 0 })} />
          <span className="share" aria-label={`Arm ${i + 1} share`}>{total > 0 && a.weight > 0 ? `${Math.round((a.weight / total) * 1000) / 10}% of profiles` : '–'}</span>
          <button type="button" className="secondary" disabled={arms.length <= 2} onClick={() => set(arms.filter((_, j) => j !== i))}>
            Remove arm {i + 1}
          </button>
        </div>
      ))}
      <button type="button" className="secondary" disabled={arms.length >= 20} onClick={() => set([...arms, { key: `arm_${arms.length + 1}`, weight: 50 }])}>
        Add arm
      </button>
    </Group>
  );
}

function Metrics({ metrics, set }: { metrics: Metric[]; set(m: Metric[]): void }) {
  const edit = (i: number, m: Metric) => set(metrics.map((x, j) => (j === i ? m : x)));
  return (
    <Group title="Metrics" hint="The primary metric is the first that is not a guardrail. Guardrails (unsubscribes, complaints) block a winner that harms them.">
      {metrics.map((m, i) => (
        <fieldset className="filters" key={i} aria-label={`Metric ${i + 1}`}>
          <legend>Metric {i + 1}{m.key ? `: ${m.key}` : ''}</legend>
          <div className="row">
            <Text label={`Metric ${i + 1} key`} value={m.key} keepEmpty required path={`metrics[${i}].key`} onChange={(v) => edit(i, { ...m, key: v ?? '' })} />
            <Text label={`Metric ${i + 1} name`} value={m.name} path={`metrics[${i}].name`} onChange={(v) => edit(i, put(m, 'name', v))} />
            <Choice
              label={`Metric ${i + 1} type`}
              value={m.type}
              path={`metrics[${i}].type`}
              options={[{ value: 'conversion', label: 'conversion (share who did the event)' }, { value: 'revenue', label: 'revenue (sum of a property)' }, { value: 'count', label: 'count (events per profile)' }]}
              onChange={(v) => edit(i, v === 'revenue' ? { ...m, type: v } : put({ ...m, type: v }, 'property', undefined))}
            />
            <Text label={`Metric ${i + 1} event`} value={m.event} keepEmpty required path={`metrics[${i}].event`} onChange={(v) => edit(i, { ...m, event: v ?? '' })} />
            {m.type === 'revenue' ? <Text label={`Metric ${i + 1} revenue property`} value={m.property} placeholder="revenue" path={`metrics[${i}].property`} onChange={(v) => edit(i, put(m, 'property', v))} /> : null}
            <Text label={`Metric ${i + 1} window after exposure`} value={m.within} placeholder="14d" path={`metrics[${i}].within`} onChange={(v) => edit(i, put(m, 'within', v))} />
          </div>
          <div className="row">
            <Check label={`Metric ${i + 1} is a guardrail`} checked={m.guardrail === true} path={`metrics[${i}].guardrail`} onChange={(v) => edit(i, put(m, 'guardrail', v ? true : undefined))} />
            <Choice
              label={`Metric ${i + 1} good direction`}
              value={m.direction ?? ''}
              path={`metrics[${i}].direction`}
              options={[{ value: '', label: m.guardrail ? 'default (decrease)' : 'default (increase)' }, 'increase', 'decrease']}
              onChange={(v) => edit(i, put(m, 'direction', v === '' ? undefined : v))}
            />
            <Text label={`Metric ${i + 1} CUPED: covariate period before exposure`} value={m.cuped?.before} placeholder="none" path={`metrics[${i}].cuped.before`} onChange={(v) => edit(i, put(m, 'cuped', v ? { before: v } : undefined))} />
            <button type="button" className="secondary" disabled={metrics.length <= 1} onClick={() => set(metrics.filter((_, j) => j !== i))}>
              Remove metric {i + 1}
            </button>
          </div>
        </fieldset>
      ))}
      <button type="button" className="secondary" disabled={metrics.length >= 20} onClick={() => set([...metrics, { key: `metric_${metrics.length + 1}`, type: 'conversion', event: '' }])}>
        Add metric
      </button>
    </Group>
  );
}

export function ExperimentForm({ value, set, isNew }: FormProps<Experiment>) {
  const arms = arrayOf<Arm>(value.arms);
  const metrics = arrayOf<Metric>(value.metrics);
  const armOptions = arms.filter((a, i) => a.key && arms.findIndex((b) => b.key === a.key) === i).map((a) => ({ value: a.key, label: a.name ? `${a.name} (${a.key})` : a.key }));
  return (
    <>
      <div className="row">
        <Text label="Experiment key" value={value.key} keepEmpty required readOnly={!isNew} path="key" hint={isNew ? 'Letters, digits, _ and -; cannot change later.' : undefined} onChange={(v) => set({ ...value, key: v ?? '' })} />
        <Text label="Experiment name" value={value.name} path="name" onChange={(v) => set(put(value, 'name', v))} />
        <Choice
          label="Status"
          value={value.status ?? 'running'}
          path="status"
          options={[{ value: 'running', label: 'running' }, { value: 'stopped', label: 'stopped (everyone gets the control, no exposures)' }]}
          onChange={(v) => set({ ...value, status: v })}
        />
      </div>
      <LongText label="Description" value={value.description} path="description" rows={2} onChange={(v) => set(put(value, 'description', v))} />
      <Arms arms={arms} set={(a) => set({ ...value, arms: a, ...(value.control && !a.some((x) => x.key === value.control) ? { control: undefined } : {}) })} />
      <div className="row">
        <Choice label="Control arm" value={value.control ?? ''} path="control" options={[{ value: '', label: `default (the first arm${arms[0]?.key ? `: ${arms[0].key}` : ''})` }, ...armOptions]} onChange={(v) => set(put(value, 'control', v || undefined))} />
        <Text label="Exposure event" value={value.exposure_event} placeholder="Experiment Exposed" path="exposure_event" onChange={(v) => set(put(value, 'exposure_event', v))} />
        <Text label="Assignment salt" value={value.salt} placeholder={value.key || 'the key'} path="salt" hint="Changing it reshuffles everyone." onChange={(v) => set(put(value, 'salt', v))} />
      </div>
      <Metrics metrics={metrics} set={(m) => set({ ...value, metrics: m })} />
      <Group title="Audience (targeting)" hint="Only profiles the condition selects take part; others get no arm and no exposure.">
        <Check label="Only some profiles take part" checked={value.targeting !== undefined} path="targeting" onChange={(v) => set(put(value, 'targeting', v ? { trait: 'email', exists: true } : undefined))} />
        {value.targeting !== undefined ? <ConditionBuilder name="Targeting" value={value.targeting} onChange={(c) => set({ ...value, targeting: c })} /> : null}
      </Group>
      <Group title="Journey holdout" hint="Profiles in the holdout arm do not enter these journeys, so the results measure the journeys' incremental effect.">
        <Check label="Hold an arm out of journeys" checked={value.holdout !== undefined} path="holdout" onChange={(v) => set(put(value, 'holdout', v ? { arm: arms[0]?.key ?? '', journeys: ['*'] } : undefined))} />
        {value.holdout ? (
          <div className="row">
            <Choice label="Holdout arm" value={value.holdout.arm} path="holdout.arm" options={armOptions.length ? armOptions : [{ value: value.holdout.arm, label: value.holdout.arm || '(no arm)' }]} onChange={(v) => set({ ...value, holdout: { ...value.holdout!, arm: v } })} />
            <Names label="Journeys held out" value={value.holdout.journeys} path="holdout.journeys" hint="Journey keys, comma separated; * for every journey." onChange={(v) => set({ ...value, holdout: { ...value.holdout!, journeys: v ?? [] } })} />
          </div>
        ) : null}
      </Group>
      <Group title="Statistics">
        <div className="row">
          <Num label="Significance level (alpha)" value={value.alpha} placeholder="0.05" min={0} max={0.5} path="alpha" onChange={(v) => set(put(value, 'alpha', v))} />
          <Num label="Minimum exposed profiles per arm" value={value.minimum_sample} placeholder="100" step={1} min={1} path="minimum_sample" onChange={(v) => set(put(value, 'minimum_sample', v))} />
          <Num label="Planned profiles per arm" value={value.planned_sample} placeholder="1000" step={1} min={1} path="planned_sample" onChange={(v) => set(put(value, 'planned_sample', v))} />
        </div>
      </Group>
    </>
  );
}
