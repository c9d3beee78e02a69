import { api } from '../../api';
import { useLoad } from '../../components/common';
import type { FormProps } from '../forms/DefinitionPage';
import { Check, Choice, Group, LongText, Names, Num, objectOf, Pairs, put, Text } from '../forms/fields';

/** The alert rule (src/operations/alerts/definition.ts, kind `alerts`) as the console edits it. */
type SecretRef = { secret: string } | { env: string };
export type Target = { pagerduty: { routingKey: SecretRef | string; url?: string } } | { webhook: { url: string } } | { channel: string; to?: string };
type Op = 'gt' | 'gte' | 'lt' | 'lte';
export interface AlertRule {
  key: string; name?: string; severity: 'critical' | 'error' | 'warning' | 'info'; enabled?: boolean;
  monitor?: string; signal?: string;
  series?: { metric: string; match?: Record<string, string>; aggregate?: 'count' | 'sum' | 'avg' | 'max' | 'last'; window?: string; groupBy?: string[] };
  threshold?: { op: Op; value: number };
  anomaly?: { sensitivity?: number; weeks?: number; minHistoryWeeks?: number; direction?: 'up' | 'down' | 'both'; minChange?: number };
  for?: string; labels?: Record<string, string>; notify?: Target[]; repeatInterval?: string;
  group?: { by: string[]; wait?: string; interval?: string };
  retry?: { attempts?: number; backoff?: string; maxBackoff?: string };
  runbook?: string;
}

export const METRICS = ['events', 'violations', 'quarantined', 'lag', 'delivery', 'journey', 'audience_size', 'signal', 'schema_changes', 'property_null'] as const;
const AGGREGATES = ['count', 'sum', 'avg', 'max', 'last'] as const;
const OPS = [{ value: 'gt', label: 'above (>)' }, { value: 'gte', label: 'at or above (≥)' }, { value: 'lt', label: 'below (<)' }, { value: 'lte', label: 'at or below (≤)' }] as const;

export const blankAlert = (): AlertRule => ({ key: '', severity: 'warning', series: { metric: 'events', aggregate: 'count', window: '5m' }, threshold: { op: 'lt', value: 1 }, for: '5m' });

type Watch = 'series' | 'signal' | 'monitor';
const watchOf = (a: AlertRule): Watch => (a.monitor !== undefined ? 'monitor' : a.signal !== undefined ? 'signal' : 'series');
type Kind = 'pagerduty' | 'webhook' | 'channel';
const kindOf = (t: Target): Kind => ('pagerduty' in t ? 'pagerduty' : 'webhook' in t ? 'webhook' : 'channel');
const blankTarget = (k: Kind): Target => (k === 'pagerduty' ? { pagerduty: { routingKey: { secret: '' } } } : k === 'webhook' ? { webhook: { url: 'https://' } } : { channel: '' });

function Route({ t, i, set, remove, channels }: { t: Target; i: number; set(t: Target): void; remove(): void; channels: { key: string; type: string }[] }) {
  const kind = kindOf(t);
  const n = i + 1;
  const at = `notify[${i}]`;
  return (
    <fieldset className="filters" aria-label={`Destination ${n}`}>
      <legend>Destination {n}</legend>
      <div className="row">
        <Choice
          label={`Destination ${n} type`}
          value={kind}
          options={[{ value: 'channel', label: 'a channel (Slack, e-mail, webhook channel)' }, { value: 'pagerduty', label: 'PagerDuty' }, { value: 'webhook', label: 'a webhook URL' }]}
          onChange={(k) => set(blankTarget(k))}
        />
        {'channel' in t ? (
          <>
            <Choice
              label={`Destination ${n} channel`}
              value={t.channel}
              path={`${at}.channel`}
              options={[{ value: '', label: channels.length ? 'Choose a channel' : 'No channel defined yet' }, ...channels.map((c) => ({ value: c.key, label: `${c.key} (${c.type})` })), ...(t.channel && !channels.some((c) => c.key === t.channel) ? [t.channel] : [])]}
              onChange={(v) => set(put(t, 'channel', v))}
            />
            {channels.find((c) => c.key === t.channel)?.type === 'email' || t.to !== undefined ? <Text label={`Destination ${n} e-mail recipient`} value={t.to} path={`${at}.to`} onChange={(v) => set(put(t, 'to', v))} /> : null}
          </>
        ) : null}
        {'pagerduty' in t ? (
          <PagerDuty n={n} at={at} p={t.pagerduty} set={(p) => set({ pagerduty: p })} />
        ) : null}
        {'webhook' in t ? <Text label={`Destination ${n} webhook URL`} type="url" value={t.webhook.url} keepEmpty path={`${at}.webhook.url`} onChange={(v) => set({ webhook: { url: v ?? '' } })} /> : null}
        <button type="button" className="secondary" onClick={remove}>
          Remove destination {n}
        </button>
      </div>
    </fieldset>
  );
}

function PagerDuty({ n, at, p, set }: { n: number; at: string; p: { routingKey: SecretRef | string; url?: string }; set(p: { routingKey: SecretRef | string; url?: string }): void }) {
  const ref = typeof p.routingKey === 'string' ? { secret: '' } : p.routingKey;
  const from = 'env' in ref ? 'env' : 'secret';
  const name = 'env' in ref ? ref.env : ref.secret;
  return (
    <>
      <Choice
        label={`Destination ${n} routing key from`}
        value={from}
        path={`${at}.pagerduty.routingKey`}
        options={[{ value: 'secret', label: 'a workspace secret' }, { value: 'env', label: 'an environment variable' }]}
        onChange={(v) => set({ ...p, routingKey: v === 'env' ? { env: name } : { secret: name } })}
      />
      <Text label={`Destination ${n} ${from === 'env' ? 'environment variable' : 'secret name'}`} value={name} keepEmpty path={`${at}.pagerduty.routingKey`} hint={from === 'secret' ? 'Stored with PUT /api/v1/secrets/NAME; the key is never kept in the rule.' : undefined} onChange={(v) => set({ ...p, routingKey: from === 'env' ? { env: v ?? '' } : { secret: v ?? '' } })} />
      <Text label={`Destination ${n} Events API URL`} type="url" value={p.url} placeholder="https://events.pagerduty.com/v2/enqueue" path={`${at}.pagerduty.url`} onChange={(v) => set(put(p, 'url', v))} />
    </>
  );
}

export function AlertForm({ value, set, isNew }: FormProps<AlertRule>) {
  const watch = watchOf(value);
  const lists = useLoad(
    async () => {
      const [signals, monitors, channels] = await Promise.all([
        api<{ data: { key: string }[] }>('/signals'),
        api<{ data: { key: string }[] }>('/monitors'),
        api<{ data: { key: string; type: string }[] }>('/channels'),
      ]);
      return { signals: signals.data.map((s) => s.key), monitors: monitors.data.map((m) => m.key), channels: channels.data.map((c) => ({ key: c.key, type: c.type })) };
    },
    [],
  );
  const keys = (list: string[] | undefined, current: string | undefined) => [{ value: '', label: list?.length ? 'Choose' : 'None defined yet' }, ...(list ?? []).map((k) => k), ...(current && !list?.includes(current) ? [current] : [])];
  const setWatch = (w: Watch) => {
    const { monitor: _m, signal: _s, series: _x, anomaly: _a, ...rest } = value;
    set(w === 'monitor' ? { ...rest, monitor: '' } : w === 'signal' ? { ...rest, signal: '' } : { ...rest, series: { metric: 'events', aggregate: 'count', window: '5m' } });
  };
  const condition = value.threshold ? 'threshold' : value.anomaly ? 'anomaly' : 'verdict';
  const setCondition = (c: string) => {
    const { threshold: _t, anomaly: _a, ...rest } = value;
    set(c === 'threshold' ? { ...rest, threshold: { op: 'gt', value: 0 } } : c === 'anomaly' ? { ...rest, anomaly: {} } : rest);
  };
  const series = objectOf<NonNullable<AlertRule['series']>>(value.series);
  const notify = Array.isArray(value.notify) ? value.notify : [];
  return (
    <>
      <div className="row">
        <Text label="Rule key" value={value.key} keepEmpty required readOnly={!isNew} path="key" onChange={(v) => set({ ...value, key: v ?? '' })} />
        <Text label="Rule name" value={value.name} path="name" onChange={(v) => set(put(value, 'name', v))} />
        <Choice label="Severity" value={value.severity ?? 'warning'} path="severity" options={['critical', 'error', 'warning', 'info'] as const} onChange={(v) => set({ ...value, severity: v })} />
        <Check label="Enabled" checked={value.enabled !== false} path="enabled" onChange={(v) => set(put(value, 'enabled', v ? undefined : false))} />
      </div>
      <Group title="What it watches">
        <div className="row">
          <Choice label="Watches" value={watch} options={[{ value: 'series', label: 'a metric series' }, { value: 'signal', label: 'a signal' }, { value: 'monitor', label: "a monitor's verdict" }]} onChange={setWatch} />
          {watch === 'monitor' ? <Choice label="Monitor" value={value.monitor ?? ''} path="monitor" options={keys(lists.data?.monitors, value.monitor)} onChange={(v) => set({ ...value, monitor: v })} /> : null}
          {watch === 'signal' ? <Choice label="Signal" value={value.signal ?? ''} path="signal" options={keys(lists.data?.signals, value.signal)} onChange={(v) => set({ ...value, signal: v })} /> : null}
          {watch === 'series' && series ? (
            <>
              <Choice label="Metric" value={series.metric} path="series.metric" options={[...METRICS, ...(METRICS.includes(series.metric as never) ? [] : [series.metric])]} onChange={(v) => set({ ...value, series: { ...series, metric: v } })} />
              <Choice label="Aggregate" value={series.aggregate ?? 'count'} path="series.aggregate" options={AGGREGATES} onChange={(v) => set({ ...value, series: { ...series, aggregate: v } })} />
              <Text label="Window" value={series.window} placeholder="5m" path="series.window" hint="At least 1m." onChange={(v) => set({ ...value, series: put(series, 'window', v) })} />
              <Names label="Group by labels" value={series.groupBy} path="series.groupBy" onChange={(v) => set({ ...value, series: put(series, 'groupBy', v) })} />
            </>
          ) : null}
        </div>
        {watch === 'series' && series ? <Pairs label="Match labels" nameLabel="Label" value={series.match} path="series.match" onChange={(v) => set({ ...value, series: put(series, 'match', v as Record<string, string> | undefined) })} /> : null}
      </Group>
      <Group title="When it fires">
        <div className="row">
          <Choice
            label="Condition"
            value={condition}
            path={value.threshold ? 'threshold' : 'anomaly'}
            options={[...(watch === 'monitor' ? [{ value: 'verdict', label: "the monitor's verdict is alert" }] : []), { value: 'threshold', label: 'a threshold' }, ...(watch !== 'monitor' ? [{ value: 'anomaly', label: 'an anomaly (seasonal, hour of week)' }] : [])]}
            onChange={setCondition}
          />
          {value.threshold ? (
            <>
              <Choice label="Fires when the value is" value={value.threshold.op} path="threshold.op" options={OPS} onChange={(v) => set({ ...value, threshold: { ...value.threshold!, op: v } })} />
              <Num label="Threshold" value={value.threshold.value} path="threshold.value" onChange={(v) => set({ ...value, threshold: { ...value.threshold!, value: v ?? 0 } })} />
            </>
          ) : null}
          {value.anomaly ? (
            <>
              <Choice label="Direction" value={value.anomaly.direction ?? 'both'} path="anomaly.direction" options={[{ value: 'both', label: 'up or down' }, { value: 'up', label: 'up' }, { value: 'down', label: 'down' }]} onChange={(v) => set({ ...value, anomaly: put(value.anomaly!, 'direction', v) })} />
              <Num label="Sensitivity" value={value.anomaly.sensitivity} min={0} path="anomaly.sensitivity" onChange={(v) => set({ ...value, anomaly: put(value.anomaly!, 'sensitivity', v) })} />
              <Num label="Weeks of history" value={value.anomaly.weeks} step={1} min={1} max={12} path="anomaly.weeks" onChange={(v) => set({ ...value, anomaly: put(value.anomaly!, 'weeks', v) })} />
              <Num label="Least weeks before alerting" value={value.anomaly.minHistoryWeeks} step={1} min={1} max={12} path="anomaly.minHistoryWeeks" onChange={(v) => set({ ...value, anomaly: put(value.anomaly!, 'minHistoryWeeks', v) })} />
              <Num label="Least change" value={value.anomaly.minChange} min={0} path="anomaly.minChange" onChange={(v) => set({ ...value, anomaly: put(value.anomaly!, 'minChange', v) })} />
            </>
          ) : null}
          <Text label="For at least" value={value.for} placeholder="0m" path="for" hint="How long the condition holds before it fires." onChange={(v) => set(put(value, 'for', v))} />
        </div>
      </Group>
      <Group title="Routing" hint="Where notifications go: PagerDuty, a Slack (or e-mail, or webhook) channel, or a webhook URL.">
        {notify.map((t, i) => (
          <Route key={i} t={t} i={i} channels={lists.data?.channels ?? []} set={(x) => set({ ...value, notify: notify.map((y, j) => (j === i ? x : y)) })} remove={() => set(put(value, 'notify', notify.length > 1 ? notify.filter((_, j) => j !== i) : undefined))} />
        ))}
        <button type="button" className="secondary" onClick={() => set({ ...value, notify: [...notify, blankTarget('channel')] })}>
          Add destination
        </button>
        <div className="row">
          <Text label="Notify again every" value={value.repeatInterval} placeholder="4h" path="repeatInterval" hint="While firing and not acknowledged." onChange={(v) => set(put(value, 'repeatInterval', v))} />
          <Check label="Group notifications" checked={value.group !== undefined} path="group" onChange={(v) => set(put(value, 'group', v ? { by: ['rule'] } : undefined))} />
          {value.group ? (
            <>
              <Names label="Group by labels" value={value.group.by} path="group.by" onChange={(v) => set({ ...value, group: { ...value.group!, by: v ?? [] } })} />
              <Text label="Group wait" value={value.group.wait} placeholder="30s" path="group.wait" onChange={(v) => set({ ...value, group: put(value.group!, 'wait', v) })} />
              <Text label="Group interval" value={value.group.interval} placeholder="5m" path="group.interval" onChange={(v) => set({ ...value, group: put(value.group!, 'interval', v) })} />
            </>
          ) : null}
        </div>
        <div className="row">
          <Num label="Delivery attempts" value={value.retry?.attempts} placeholder="5" step={1} min={1} max={20} path="retry.attempts" onChange={(v) => set(put(value, 'retry', cleanRetry(put(retryOf(value), 'attempts', v))))} />
          <Text label="First retry after" value={value.retry?.backoff} placeholder="30s" path="retry.backoff" onChange={(v) => set(put(value, 'retry', cleanRetry(put(retryOf(value), 'backoff', v))))} />
          <Text label="Longest retry delay" value={value.retry?.maxBackoff} placeholder="15m" path="retry.maxBackoff" onChange={(v) => set(put(value, 'retry', cleanRetry(put(retryOf(value), 'maxBackoff', v))))} />
        </div>
      </Group>
      <Pairs label="Labels" nameLabel="Label" value={value.labels} path="labels" onChange={(v) => set(put(value, 'labels', v as Record<string, string> | undefined))} />
      <LongText label="Runbook (Markdown)" value={value.runbook} path="runbook" rows={6} hint="Shown with the incident and sent with its notifications." onChange={(v) => set(put(value, 'runbook', v))} />
    </>
  );
}

const retryOf = (a: AlertRule): NonNullable<AlertRule['retry']> => a.retry ?? {};
const cleanRetry = (r: NonNullable<AlertRule['retry']>) => (Object.keys(r).length ? r : undefined);
