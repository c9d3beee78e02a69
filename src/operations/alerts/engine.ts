import { createHash } from 'node:crypto';
import { parseDuration } from '../../core/duration.js';
import { labelText, type AlertStateRow, type IncidentRow, type OperationsStore } from '../../storage/sqlite/operations-store.js';
import { evaluateMonitor, volumeReader, type MonitorContext } from '../monitors/evaluate.js';
import type { Monitor } from '../monitors/definition.js';
import { SEASONAL_DEFAULTS, seasonalScore } from '../monitors/seasonal.js';
import { floorMinute, type Aggregate, type SeriesRecorder } from '../series.js';
import type { Signal } from '../signals.js';
import { Dispatcher } from '../notify/dispatcher.js';
import type { NotifierDeps, NotifyOutcome } from '../notify/notifier.js';
import type { AlertNotice } from '../notify/pagerduty.js';
import { groupPolicy, retryPolicy, type AlertRule, type Severity } from './definition.js';
import { silencedBy } from './silences.js';

/** One group of a rule as evaluated now. */
export interface RuleGroup {
  group: Record<string, string>;
  active: boolean;
  value: number | null;
  summary: string;
  detail?: Record<string, unknown>;
}

export interface AlertEngineDeps {
  store: OperationsStore;
  recorder: SeriesRecorder;
  notifier: NotifierDeps;
  /** Base URL of the admin API, for links in notifications. */
  baseUrl(): string;
  onFiringChanged?(rule: string, severity: string, firing: number): void;
  onNotified?(outcome: NotifyOutcome): void;
  /** Jitter of retries (tests pass a fixed one). */
  random?: () => number;
}

const compare = (v: number, t: NonNullable<AlertRule['threshold']>) => (t.op === 'gt' ? v > t.value : t.op === 'gte' ? v >= t.value : t.op === 'lt' ? v < t.value : v <= t.value);
const opText = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

/** The stable PagerDuty dedup key of a rule's group: the same trigger, acknowledge and resolve, across restarts. */
export const dedupKey = (workspaceId: string, rule: string, grp: string) => `tandem-${workspaceId}-${rule}-${createHash('sha256').update(grp).digest('hex').slice(0, 16)}`;

/**
 * Alert rules: each tick a rule's groups are evaluated, and each group moves through pending (active, `for` not yet
 * elapsed), firing (an incident is open and notified) and resolved (the incident closes, the targets are told).
 * Silences hold back notifications of matching alerts; an acknowledged incident is not notified again until it resolves.
 */
export class AlertEngine {
  readonly dispatcher: Dispatcher;

  constructor(private readonly deps: AlertEngineDeps) {
    this.dispatcher = new Dispatcher({ store: deps.store, notifier: deps.notifier, random: deps.random, onNotified: (o) => deps.onNotified?.(o) });
  }

  /** The rule's groups now, active or not. */
  groups(workspaceId: string, rule: AlertRule, now: number, monitors: Map<string, Monitor>, signals: Map<string, Signal>): RuleGroup[] {
    const ctx: MonitorContext = { workspaceId, now, recorder: this.deps.recorder, store: this.deps.store };
    const t = rule.threshold;
    if (rule.monitor !== undefined) {
      const m = monitors.get(rule.monitor);
      if (!m) return [];
      return evaluateMonitor(m, ctx).map((r) => ({
        group: { ...r.group, monitor: m.key, monitor_type: m.type },
        active: !r.learning && (t ? r.value !== null && compare(r.value, t) : r.alert),
        value: r.value,
        summary: t ? `${r.summary} (${opText[t.op]} ${t.value})` : r.summary,
        detail: r.detail,
      }));
    }
    let metric: string, match: Record<string, string>, aggregate: Aggregate, window: number, groupBy: string[];
    if (rule.signal !== undefined) {
      const s = signals.get(rule.signal);
      if (!s) return [];
      metric = 'signal';
      match = { signal: s.key };
      aggregate = s.aggregate;
      window = parseDuration(s.window ?? '15m');
      groupBy = ['signal'];
    } else {
      const s = rule.series as NonNullable<AlertRule['series']>;
      metric = s.metric;
      match = s.match ?? {};
      aggregate = s.aggregate ?? 'count';
      window = parseDuration(s.window ?? '5m');
      groupBy = s.groupBy ?? [];
    }
    const end = floorMinute(now);
    const what = `${metric}${Object.keys(match).length ? `{${Object.entries(match).map(([k, v]) => `${k}=${v}`).join(',')}}` : ''} ${aggregate} over ${window / 60_000}m`;
    let found = this.deps.recorder.query(workspaceId, { metric, match, from: end - window, to: end, step: window, aggregate, groupBy });
    if (!found.length && groupBy.every((g) => g in match)) found = [{ labels: Object.fromEntries(groupBy.map((g) => [g, match[g]])), values: [null] }];
    return found.map((s) => {
      const group = s.labels;
      const value = s.values[0] ?? (aggregate === 'count' || aggregate === 'sum' ? 0 : null);
      if (rule.anomaly) {
        const o = { ...SEASONAL_DEFAULTS, ...rule.anomaly };
        const v = seasonalScore(volumeReader({ ...ctx, now: end }, metric, { ...match, ...group }, aggregate), end, window, o);
        return { group, active: v.status === 'anomaly', value: v.value, summary: `${what}${Object.keys(group).length ? ` (${labelText(group).replace(/\n/g, ', ')})` : ''}: ${v.value} against a seasonal baseline of ${v.baseline ?? 'unknown'} (score ${v.score?.toFixed(1) ?? 'n/a'})`, detail: { baseline: v.baseline, score: v.score, status: v.status } };
      }
      const active = value !== null && t !== undefined && compare(value, t);
      return { group, active, value, summary: `${what}${Object.keys(group).length ? ` (${labelText(group).replace(/\n/g, ', ')})` : ''} is ${value ?? 'no data'} (${opText[t!.op]} ${t!.value})` };
    });
  }

  /** Evaluates one rule and moves its groups' states; `rule` undefined (deleted or disabled) resolves what is open. */
  async evaluate(workspaceId: string, key: string, rule: AlertRule | undefined, now: number, monitors: Map<string, Monitor>, signals: Map<string, Signal>): Promise<void> {
    const { store } = this.deps;
    const states = new Map(store.alertStates(workspaceId, key).map((s) => [s.grp, s]));
    const groups = rule && rule.enabled !== false ? this.groups(workspaceId, rule, now, monitors, signals) : [];
    const silences = store.silences(workspaceId);
    const forMs = rule ? parseDuration(rule.for ?? '0m') : 0;
    const seen = new Set<string>();
    for (const g of groups) {
      const grp = labelText(g.group);
      seen.add(grp);
      const labels = { alert: key, severity: rule!.severity ?? 'warning', workspace: workspaceId, ...rule!.labels, ...g.group };
      const state = states.get(grp);
      if (!g.active) {
        if (state) await this.inactive(workspaceId, rule, state, now, 'the condition no longer holds');
        continue;
      }
      if (!state || state.state === 'pending') {
        const since = state?.since ?? now;
        if (now - since >= forMs) await this.fire(workspaceId, rule!, grp, labels, g, since, now, silences);
        else if (!state) store.putAlertState({ workspaceId, rule: key, grp, state: 'pending', since, labels, value: g.value, incidentId: null });
        continue;
      }
      store.putAlertState({ ...state, labels, value: g.value });
      const incident = state.incidentId !== null ? store.incident(workspaceId, state.incidentId) : undefined;
      if (incident) await this.maybeRepeat(rule!, incident, labels, g, now, silences);
    }
    for (const [grp, state] of states) if (!seen.has(grp)) await this.inactive(workspaceId, rule, state, now, rule ? 'the group is no longer reported' : 'the rule was deleted or disabled');
    const firing = store.alertStates(workspaceId, key).filter((s) => s.state === 'firing').length;
    this.deps.onFiringChanged?.(key, rule?.severity ?? 'warning', firing);
  }

  private async fire(workspaceId: string, rule: AlertRule, grp: string, labels: Record<string, string>, g: RuleGroup, since: number, now: number, silences: ReturnType<OperationsStore['silences']>): Promise<void> {
    const { store } = this.deps;
    const id = store.openIncident({ workspaceId, rule: rule.key, grp, dedupKey: dedupKey(workspaceId, rule.key, grp), severity: rule.severity ?? 'warning', labels, summary: g.summary, openedAt: now, detail: { value: g.value, pendingSince: since, ...(g.detail ?? {}), ...(rule.runbook ? { runbook: rule.runbook } : {}) } });
    store.addTimeline(id, now, 'fired', null, { value: g.value, summary: g.summary });
    store.putAlertState({ workspaceId, rule: rule.key, grp, state: 'firing', since, labels, value: g.value, incidentId: id });
    const incident = store.incident(workspaceId, id) as IncidentRow;
    const silence = silencedBy(silences, labels, now);
    if (silence) store.addTimeline(id, now, 'silenced', null, { silence: silence.id, until: new Date(silence.endsAt).toISOString() });
    else await this.send(rule, incident, 'trigger', g.value, now);
  }

  private async maybeRepeat(rule: AlertRule, incident: IncidentRow, labels: Record<string, string>, g: RuleGroup, now: number, silences: ReturnType<OperationsStore['silences']>): Promise<void> {
    if (incident.acknowledgedAt !== null) return;
    if (silencedBy(silences, labels, now)) return;
    const repeat = parseDuration(rule.repeatInterval ?? '4h');
    if (incident.lastNotifiedAt !== null && now - incident.lastNotifiedAt < repeat) return;
    this.deps.store.updateIncident(incident.id, { summary: g.summary });
    await this.send(rule, { ...incident, summary: g.summary }, 'trigger', g.value, now, incident.lastNotifiedAt !== null);
  }

  private async inactive(workspaceId: string, rule: AlertRule | undefined, state: AlertStateRow, now: number, reason: string): Promise<void> {
    const { store } = this.deps;
    store.deleteAlertState(workspaceId, state.rule, state.grp);
    if (state.state !== 'firing' || state.incidentId === null) return;
    const incident = store.incident(workspaceId, state.incidentId);
    if (!incident || incident.state === 'resolved') return;
    store.updateIncident(incident.id, { state: 'resolved', resolvedAt: now });
    store.addTimeline(incident.id, now, 'resolved', null, { reason });
    // Only targets that were told it fired are told it resolved (grouped targets: the group knows).
    if (rule) await this.send(rule, incident, 'resolve', state.value, now);
    else this.dispatcher.cancelTriggers(incident.id, undefined, now, 'the rule was deleted or disabled');
    // A rule deleted, or no longer grouped: its alert leaves the groups it was in (they would list it as firing).
    if (!rule || !groupPolicy(rule)) this.dispatcher.forget(workspaceId, incident.id);
  }

  /** Acknowledges an open incident: PagerDuty and webhooks are told; it is not notified again. */
  async acknowledge(workspaceId: string, incident: IncidentRow, rule: AlertRule | undefined, actor: string, now: number, note?: string): Promise<void> {
    this.deps.store.updateIncident(incident.id, { acknowledgedAt: now, acknowledgedBy: actor });
    this.deps.store.addTimeline(incident.id, now, 'acknowledged', actor, note ? { note } : {});
    if (rule && incident.lastNotifiedAt !== null) await this.send({ ...rule, notify: (rule.notify ?? []).filter((t) => !('channel' in t)) }, incident, 'acknowledge', null, now);
  }

  /**
   * Notifies the rule's targets: PagerDuty targets (and all targets of an ungrouped rule) at once, with retries;
   * webhook and channel targets of a grouped rule through their notification group (acknowledgements go at once).
   */
  private async send(rule: AlertRule, incident: IncidentRow, action: AlertNotice['action'], value: number | null, now: number, repeat = false): Promise<void> {
    const targets = rule.notify ?? [];
    if (!targets.length) return;
    const notice = this.notice(rule, incident, action, value, now);
    const retry = retryPolicy(rule);
    const group = groupPolicy(rule);
    let direct = false;
    for (const target of targets) {
      if (group && !('pagerduty' in target) && action !== 'acknowledge') {
        this.dispatcher.enqueue(incident.workspaceId, target, { ...group, retry }, notice, now);
        continue;
      }
      if (action !== 'trigger') {
        this.dispatcher.cancelTriggers(incident.id, target, now, action === 'resolve' ? 'the incident resolved' : 'the incident was acknowledged');
        if (incident.lastNotifiedAt === null) continue;
      }
      direct = true;
      await this.dispatcher.deliver(incident.workspaceId, [incident.id], target, notice, retry, now, 1, repeat ? { repeat: true } : {});
    }
    if (action === 'trigger' && direct) this.deps.store.updateIncident(incident.id, { lastNotifiedAt: now });
  }

  notice(rule: AlertRule, incident: IncidentRow, action: AlertNotice['action'], value: number | null, now: number): AlertNotice {
    return { action, incidentId: incident.id, dedupKey: incident.dedupKey, rule: rule.key, ruleName: rule.name, severity: (rule.severity ?? 'warning') as Severity, summary: incident.summary, labels: incident.labels, value, at: now, runbook: rule.runbook, links: incidentLinks(this.deps.baseUrl(), incident) };
  }
}

/** Where to look: the incident, the offending events, the quarantine, the series behind it. */
export function incidentLinks(base: string, i: Pick<IncidentRow, 'id' | 'labels'>): { href: string; text: string }[] {
  const q = (params: Record<string, string | undefined>) => {
    const s = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')).toString();
    return s ? `?${s}` : '';
  };
  const filter = { source: i.labels.source, event: i.labels.event };
  return [
    { href: `${base}/api/v1/incidents/${i.id}`, text: 'Incident and timeline' },
    { href: `${base}/api/v1/events${q(filter)}`, text: 'Offending events' },
    { href: `${base}/api/v1/quarantine${q(filter)}`, text: 'Quarantine' },
  ];
}
