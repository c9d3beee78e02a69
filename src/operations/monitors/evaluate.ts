import { parseDuration } from '../../core/duration.js';
import type { OperationsStore } from '../../storage/sqlite/operations-store.js';
import { schemaChange } from '../feeds.js';
import { DAY, floorMinute, MINUTE, WEEK, type SeriesRecorder } from '../series.js';
import type { Monitor } from './definition.js';
import { SEASONAL_DEFAULTS, seasonalScore, type SeasonalOptions } from './seasonal.js';

/** One verdict of a monitor: for the whole monitor, or for one group (a source, an event name, a channel, ...). */
export interface MonitorResult {
  group: Record<string, string>;
  /** The measured value (a count, a rate, an age in seconds, ...); null when there is not enough data. */
  value: number | null;
  alert: boolean;
  /** A learning monitor has not seen enough history to judge. */
  learning?: boolean;
  summary: string;
  detail?: Record<string, unknown>;
}

export interface MonitorContext {
  workspaceId: string;
  now: number;
  recorder: SeriesRecorder;
  store: OperationsStore;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const dur = (ms: number) => (ms >= DAY ? `${(ms / DAY).toFixed(1)}d` : ms >= 3_600_000 ? `${(ms / 3_600_000).toFixed(1)}h` : `${Math.round(ms / MINUTE)}m`);

/** Volume of events (by the monitor's event / source filter), as a function of a window, for the seasonal score. */
export function volumeReader(ctx: MonitorContext, metric: string, match: Record<string, string>, aggregate: 'count' | 'sum' | 'avg' | 'max' | 'last' = 'count') {
  const first = ctx.recorder.query(ctx.workspaceId, { metric, match, from: ctx.now - 13 * WEEK, to: ctx.now, step: DAY, aggregate: 'count', groupBy: [] })[0];
  const firstDay = first ? first.values.findIndex((v) => v !== null) : -1;
  // The day the series began: windows before it have no data (undefined), not zero.
  const begin = firstDay < 0 ? Infinity : ctx.now - 13 * WEEK + firstDay * DAY;
  return (from: number, to: number) => (to <= begin ? undefined : (ctx.recorder.total(ctx.workspaceId, metric, match, from, to, aggregate) ?? 0));
}

const eventMatch = (m: Monitor) => ({ ...(m.event !== undefined ? { event: m.event } : {}), ...(m.source !== undefined ? { source: m.source } : {}) });

/** The distinct values of a label seen in a metric over the last week (the groups of a `per` monitor). */
function seen(ctx: MonitorContext, metric: string, label: string, match: Record<string, string>, since = ctx.now - WEEK): string[] {
  return ctx.recorder.query(ctx.workspaceId, { metric, match, from: floorMinute(since), to: ctx.now + MINUTE, step: ctx.now + MINUTE - floorMinute(since), aggregate: 'count', groupBy: [label] }).map((s) => s.labels[label]).filter((v) => v !== '');
}

function groupsOf(ctx: MonitorContext, m: Monitor, metric = 'events'): Record<string, string>[] {
  const base = eventMatch(m);
  if (m.per === undefined) return [base];
  return seen(ctx, metric, m.per, base).map((v) => ({ ...base, [m.per as string]: v }));
}

export function evaluateMonitor(m: Monitor, ctx: MonitorContext): MonitorResult[] {
  const now = floorMinute(ctx.now);
  const window = parseDuration(m.window ?? (m.type === 'processing_lag' ? '5m' : '1h'), 'window');
  const from = now - window;
  const total = (metric: string, match: Record<string, string>, agg: 'count' | 'sum' | 'avg' | 'max' | 'last' = 'count', a = from, b = now) => ctx.recorder.total(ctx.workspaceId, metric, match, a, b, agg) ?? 0;
  const minCount = m.minCount ?? 20;
  switch (m.type) {
    case 'volume_anomaly': {
      const o: SeasonalOptions = {
        sensitivity: m.sensitivity ?? SEASONAL_DEFAULTS.sensitivity, weeks: m.weeks ?? SEASONAL_DEFAULTS.weeks, minHistoryWeeks: m.minHistoryWeeks ?? SEASONAL_DEFAULTS.minHistoryWeeks,
        direction: m.direction ?? SEASONAL_DEFAULTS.direction, minChange: m.minChange ?? SEASONAL_DEFAULTS.minChange,
      };
      return groupsOf(ctx, m).map((group) => {
        const v = seasonalScore(volumeReader({ ...ctx, now }, 'events', group), now, window, o);
        const what = Object.values(group).join(' / ') || 'all events';
        return {
          group, value: v.value, alert: v.status === 'anomaly', learning: v.status === 'learning',
          summary: v.status === 'learning'
            ? `${what}: learning (${v.history} of ${o.minHistoryWeeks} weeks of history)`
            : `${what}: ${v.value} in the last ${dur(window)} against a seasonal baseline of ${v.baseline} (${v.change === undefined ? '' : `${v.change >= 0 ? '+' : ''}${pct(v.change)}`}, score ${v.score?.toFixed(1)})`,
          detail: { baseline: v.baseline, score: v.score, change: v.change, historyWeeks: v.history },
        };
      });
    }
    case 'freshness': {
      const maxAge = parseDuration(m.maxAge ?? '15m', 'maxAge');
      const last = new Map<string, number>();
      for (const r of ctx.store.lastMinutes(ctx.workspaceId, 'events', now - 5 * WEEK)) {
        const labels = Object.fromEntries(r.labels.split('\n').map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
        if (m.event !== undefined && labels.event !== m.event) continue;
        if (m.source !== undefined && labels.source !== m.source) continue;
        const k = m.per === undefined ? '' : (labels[m.per] ?? '');
        last.set(k, Math.max(last.get(k) ?? 0, r.minute + MINUTE));
      }
      const groups = m.per === undefined ? [''] : [...last.keys()];
      return groups.map((k) => {
        const group = { ...eventMatch(m), ...(m.per !== undefined ? { [m.per]: k } : {}) };
        const at = last.get(k);
        const what = Object.values(group).join(' / ') || 'events';
        if (at === undefined) return { group, value: null, alert: true, summary: `${what}: no event in the last 5 weeks` };
        const age = Math.max(0, ctx.now - at);
        return { group, value: Math.round(age / 1000), alert: age > maxAge, summary: `${what}: newest event ${dur(age)} ago (limit ${dur(maxAge)})`, detail: { lastEventAt: new Date(at).toISOString() } };
      });
    }
    case 'zero_volume':
      return groupsOf(ctx, m).map((group) => {
        const n = total('events', group);
        return { group, value: n, alert: n === 0, summary: `${Object.values(group).join(' / ')}: ${n} events in the last ${dur(window)}` };
      });
    case 'schema_drift': {
      const first = ctx.store.schemaFirstSeen(ctx.workspaceId);
      const learning = parseDuration(m.learning ?? '24h', 'learning');
      if (first === undefined || now - learning < first) return [{ group: {}, value: null, alert: false, learning: true, summary: 'learning the schema' }];
      const changes = ctx.store
        .schemaSince(ctx.workspaceId, Math.max(from, first + learning))
        .filter((c) => m.event === undefined || c.event === m.event)
        .map((c) => ({ ...c, change: schemaChange(ctx.store, ctx.workspaceId, c, c.firstSeen) }));
      const newEvents = new Set(changes.filter((c) => c.change === 'new_event').map((c) => c.event));
      const shown = changes.filter((c) => c.change === 'new_event' || !newEvents.has(c.event));
      const text = shown.slice(0, 10).map((c) => (c.change === 'new_event' ? `new event '${c.event}'` : c.change === 'type_change' ? `'${c.event}'.${c.property} is now ${c.type}` : `new property '${c.event}'.${c.property} (${c.type})`));
      return [{ group: m.event !== undefined ? { event: m.event } : {}, value: shown.length, alert: shown.length > 0, summary: shown.length ? `schema drift in the last ${dur(window)}: ${text.join('; ')}${shown.length > 10 ? ` and ${shown.length - 10} more` : ''}` : 'no schema change', detail: { changes: shown.slice(0, 100) } }];
    }
    case 'null_rate': {
      const n = total('property_null', { monitor: m.key });
      const nulls = total('property_null', { monitor: m.key }, 'sum');
      const threshold = m.threshold ?? 0.1;
      const rate = n ? nulls / n : 0;
      return [{ group: eventMatch(m), value: n < minCount ? null : rate, alert: n >= minCount && rate > threshold, summary: `${m.property} null or empty in ${pct(rate)} of ${n} events in the last ${dur(window)} (limit ${pct(threshold)})` }];
    }
    case 'violation_rate': {
      const match = eventMatch(m);
      const bad = total('violations', match) + total('quarantined', match);
      const n = total('events', match) + total('quarantined', match);
      const threshold = m.threshold ?? 0.05;
      const rate = n ? bad / n : 0;
      return [{ group: match, value: n < minCount ? null : rate, alert: n >= minCount && rate > threshold, summary: `${bad} of ${n} messages broke the tracking plan in the last ${dur(window)} (${pct(rate)}, limit ${pct(threshold)})` }];
    }
    case 'delivery_failure_rate': {
      const channels = m.channel !== undefined ? [m.channel] : seen(ctx, 'delivery', 'channel', {});
      const threshold = m.threshold ?? 0.1;
      return channels.map((channel) => {
        const count = (status: string) => total('delivery', { channel, status });
        const failures = count('attempt_failed') + count('failed') + count('bounced');
        const attempts = count('sent') + count('attempt_failed') + count('failed');
        const rate = attempts ? Math.min(1, failures / attempts) : 0;
        return { group: { channel }, value: attempts < minCount ? null : rate, alert: attempts >= minCount && rate > threshold, summary: `channel ${channel}: ${failures} failures in ${attempts} attempts in the last ${dur(window)} (${pct(rate)}, limit ${pct(threshold)})` };
      });
    }
    case 'audience_jump': {
      const audiences = m.audience !== undefined ? [m.audience] : seen(ctx, 'audience_size', 'audience', {}, now - window - 10 * MINUTE);
      const threshold = m.threshold ?? 0.2;
      return audiences.map((audience) => {
        const size = (at: number) => ctx.recorder.query(ctx.workspaceId, { metric: 'audience_size', match: { audience }, from: at - 10 * MINUTE, to: at + MINUTE, step: 11 * MINUTE, aggregate: 'last', groupBy: [] })[0]?.values[0] ?? null;
        const before = size(now - window);
        const after = size(now);
        if (before === null || after === null || Math.max(before, after) < minCount) return { group: { audience }, value: null, alert: false, learning: before === null, summary: `audience ${audience}: not enough data` };
        const change = before ? (after - before) / before : Infinity;
        return { group: { audience }, value: change, alert: Math.abs(change) > threshold, summary: `audience ${audience}: ${before} -> ${after} members in ${dur(window)} (${change >= 0 ? '+' : ''}${pct(change)}, limit ${pct(threshold)})` };
      });
    }
    case 'processing_lag': {
      const worst = ctx.recorder.total(ctx.workspaceId, 'lag', {}, from, now + MINUTE, 'max');
      const threshold = m.threshold ?? 300;
      const seconds = worst === null ? 0 : worst / 1000;
      return [{ group: {}, value: seconds, alert: seconds > threshold, summary: `processing lag up to ${seconds.toFixed(1)} s in the last ${dur(window)} (limit ${threshold} s)` }];
    }
  }
}
