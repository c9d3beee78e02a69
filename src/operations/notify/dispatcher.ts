import { createHash } from 'node:crypto';
import type { NotifyGroupRow, OperationsStore } from '../../storage/sqlite/operations-store.js';
import type { NotifyTarget } from '../alerts/definition.js';
import { notify, type GroupNotice, type NotifierDeps, type NotifyOutcome } from './notifier.js';
import type { AlertNotice } from './pagerduty.js';
import { retryDelay, type RetryPolicy } from './retry.js';

/** Grouping of a rule's notifications (alert rule field `group`), as Alertmanager's group_by, group_wait, group_interval. */
export interface GroupPolicy {
  by: string[];
  waitMs: number;
  intervalMs: number;
}

export interface DispatcherDeps {
  store: OperationsStore;
  notifier: NotifierDeps;
  random?: () => number;
  onNotified?(outcome: NotifyOutcome): void;
}

const targetText = (t: NotifyTarget) => JSON.stringify(t);

/**
 * Failures a retry cannot fix: a 4xx answer other than 408 (timeout) and 429 (rate limited), as Alertmanager treats
 * webhook answers, and a destination the SSRF guard refuses.
 */
export const notRetryable = (o: NotifyOutcome) =>
  (o.status !== undefined && o.status >= 400 && o.status < 500 && o.status !== 408 && o.status !== 429) || /^refused destination/.test(o.error ?? '');
const sameTarget = (a: unknown, b: NotifyTarget) => JSON.stringify(a) === targetText(b);

/** The key of a notification group: the target and the values of the `by` labels (so groups span rules). */
export function notifyGroupKey(target: NotifyTarget, by: string[], labels: Record<string, string>): { key: string; labels: Record<string, string> } {
  const sorted = [...new Set(by)].sort();
  const values = Object.fromEntries(sorted.map((k) => [k, labels[k] ?? ''] as const));
  const key = createHash('sha256').update(JSON.stringify([targetText(target), sorted, values])).digest('hex').slice(0, 20);
  return { key, labels: values };
}

/**
 * Sends notices, retries failures and batches grouped ones. A failed send is retried with exponential backoff and
 * jitter (retry.ts) up to the rule's attempts; each attempt and the final failure go on the incidents' timelines, and
 * pending retries live in store.db (a restart resumes them). Grouped notices wait in a notification group (target +
 * `group.by` label values, across rules): the first alert of a new group waits `wait` for others, later changes are
 * sent at most every `interval`, and each notification lists every alert of the group (Prometheus Alertmanager).
 */
export class Dispatcher {
  private readonly random: () => number;

  constructor(private readonly deps: DispatcherDeps) {
    this.random = deps.random ?? Math.random;
  }

  /** One attempt; schedules the next on failure. Returns whether it was delivered. */
  async deliver(workspaceId: string, incidents: number[], target: NotifyTarget, notice: AlertNotice | GroupNotice, policy: RetryPolicy, now: number, attempt = 1, extra: Record<string, unknown> = {}): Promise<boolean> {
    const { store } = this.deps;
    const outcome = await notify(target, notice, this.deps.notifier);
    this.deps.onNotified?.(outcome);
    const base = { action: notice.action, ...outcome, attempt, ...extra, ...('alerts' in notice ? { group: notice.group.key, alerts: notice.alerts.map((a) => a.incidentId) } : {}) };
    if (outcome.ok) {
      for (const id of incidents) store.addTimeline(id, now, 'notified', null, base);
      return true;
    }
    const permanent = notRetryable(outcome);
    if (attempt < policy.attempts && !permanent) {
      const nextAt = now + retryDelay(attempt, policy, this.random);
      store.addRetry({ workspaceId, incidents, target, notice: notice as unknown as Record<string, unknown>, action: notice.action, attempt: attempt + 1, nextAt, policy });
      for (const id of incidents) store.addTimeline(id, now, 'notify_failed', null, { ...base, retryAt: new Date(nextAt).toISOString() });
    } else {
      for (const id of incidents) {
        store.addTimeline(id, now, 'notify_failed', null, base);
        store.addTimeline(id, now, 'notify_gave_up', null, { action: notice.action, target: outcome.target, attempts: attempt, error: outcome.error, ...(permanent ? { retryable: false } : {}) });
      }
    }
    return false;
  }

  /** Drops pending retries of a trigger to this target for an incident (it resolved or was acknowledged). */
  cancelTriggers(incidentId: number, target: NotifyTarget | undefined, now: number, reason: string): void {
    for (const r of this.deps.store.retriesOf(incidentId)) {
      if (r.action !== 'trigger' || (target && !sameTarget(r.target, target))) continue;
      // A grouped trigger also names other incidents: it stays while any of them is still firing (checked when due).
      if (r.incidents.length > 1) continue;
      if (this.deps.store.deleteRetry(r.id)) this.deps.store.addTimeline(incidentId, now, 'notify_cancelled', null, { action: 'trigger', reason });
    }
  }

  /** Runs due retries and flushes due groups. */
  async due(now: number): Promise<void> {
    const { store } = this.deps;
    for (const r of store.dueRetries(now)) {
      if (!store.deleteRetry(r.id)) continue;
      if (r.action === 'trigger') {
        const live = r.incidents.filter((id) => {
          const i = store.incident(r.workspaceId, id);
          return i && i.state === 'firing' && i.acknowledgedAt === null;
        });
        if (!live.length) {
          for (const id of r.incidents) store.addTimeline(id, now, 'notify_cancelled', null, { action: 'trigger', reason: 'resolved or acknowledged before the retry' });
          continue;
        }
      }
      await this.deliver(r.workspaceId, r.incidents, r.target as NotifyTarget, r.notice as unknown as AlertNotice | GroupNotice, r.policy, now, r.attempt);
    }
    for (const g of store.dueNotifyGroups(now)) await this.flush(g, now);
  }

  /** When the next retry or group flush is due (for the evaluator's loop). */
  nextDue(): number | undefined {
    return this.deps.store.nextDue();
  }

  /**
   * Queues an alert's notice in its notification group. A resolve of an alert whose trigger is still waiting in the
   * group cancels both (the target never heard of it). Returns false when nothing is queued.
   */
  enqueue(workspaceId: string, target: NotifyTarget, policy: GroupPolicy & { retry: RetryPolicy }, notice: AlertNotice, now: number): boolean {
    const { store } = this.deps;
    const { key, labels } = notifyGroupKey(target, policy.by, notice.labels);
    const group: NotifyGroupRow = store.notifyGroup(workspaceId, key) ?? { workspaceId, key, target, labels, policy: { by: policy.by, waitMs: policy.waitMs, intervalMs: policy.intervalMs }, flushAt: null, lastSentAt: null };
    const items = store.groupItems(workspaceId, key);
    const existing = items.find((i) => i.incidentId === notice.incidentId);
    if (notice.action === 'resolve') {
      if (!existing) return false;
      if (existing.notice.told !== true) {
        store.deleteGroupItem(workspaceId, key, notice.incidentId);
        if (items.length === 1 && group.lastSentAt === null) store.deleteNotifyGroup(workspaceId, key);
        return false;
      }
    }
    store.putGroupItem(workspaceId, key, { incidentId: notice.incidentId, action: notice.action === 'resolve' ? 'resolve' : 'trigger', pending: true, notice: { ...notice, retry: policy.retry, told: existing?.notice.told === true } as unknown as Record<string, unknown> });
    if (group.flushAt === null) group.flushAt = group.lastSentAt === null ? now + policy.waitMs : Math.max(now, group.lastSentAt + policy.intervalMs);
    store.putNotifyGroup(group);
    return true;
  }

  /** Sends one notification for the group: every alert in it; resolved alerts leave the group once told. */
  private async flush(g: NotifyGroupRow, now: number): Promise<void> {
    const { store } = this.deps;
    const items = store.groupItems(g.workspaceId, g.key);
    if (!items.some((i) => i.pending)) {
      store.putNotifyGroup({ ...g, flushAt: null });
      return;
    }
    const alerts = items.map((i) => i.notice as unknown as AlertNotice & { retry?: RetryPolicy; told?: boolean });
    const retry = alerts.find((a) => a.retry)?.retry ?? { attempts: 1, backoffMs: 60_000, maxBackoffMs: 60_000 };
    const notice: GroupNotice = { action: alerts.some((a) => a.action === 'trigger') ? 'trigger' : 'resolve', group: { key: g.key, labels: g.labels }, alerts: alerts.map(({ retry: _r, told: _t, ...a }) => a), at: now };
    for (const i of items) {
      if (i.action === 'resolve') store.deleteGroupItem(g.workspaceId, g.key, i.incidentId);
      else store.putGroupItem(g.workspaceId, g.key, { ...i, pending: false, notice: { ...i.notice, told: true } });
    }
    const left = items.filter((i) => i.action === 'trigger').length;
    if (left) store.putNotifyGroup({ ...g, flushAt: null, lastSentAt: now });
    else store.deleteNotifyGroup(g.workspaceId, g.key);
    for (const i of items) if (i.action === 'trigger' && i.pending) store.updateIncident(i.incidentId, { lastNotifiedAt: now });
    await this.deliver(g.workspaceId, items.map((i) => i.incidentId), g.target as NotifyTarget, notice, retry, now);
  }

  /** Drops an incident from its notification groups (its rule was deleted, or no longer groups). */
  forget(workspaceId: string, incidentId: number): void {
    this.deps.store.forgetGroupIncident(workspaceId, incidentId);
  }

  /** Marks an alert's trigger as pending again in its groups (repeat notification of a grouped rule). */
  repeat(workspaceId: string, target: NotifyTarget, policy: GroupPolicy & { retry: RetryPolicy }, notice: AlertNotice, now: number): void {
    this.enqueue(workspaceId, target, policy, notice, now);
  }
}
