import { readSecret, SecretMissing, type SecretSource } from '../../secrets/reference.js';
import { STRICT_GUARD, type DestinationGuard } from '../../network/destination-guard.js';
import type { Channels } from '../../channels/registry.js';
import type { NotifyTarget } from '../alerts/definition.js';
import { PAGERDUTY_EVENTS_URL, pagerDutyEvent, type AlertNotice } from './pagerduty.js';

export interface NotifyOutcome {
  target: string;
  ok: boolean;
  status?: number;
  error?: string;
}

export interface NotifierDeps {
  secrets: SecretSource;
  /** The delivery channels (email, slack, webhook) a target may name; absent: channel targets fail. */
  channels?: Pick<Channels, 'get'>;
  /** `source` of PagerDuty events: which Tandem raised them. */
  instance: string;
  timeoutMs?: number;
  /** The SSRF guard (src/network); absent: every non-public address is refused. */
  guard?: DestinationGuard;
}

/** Plain text of a notice, for e-mail, Slack and the webhook's `text`. */
export function noticeText(n: AlertNotice): string {
  const head = n.action === 'trigger' ? `FIRING [${n.severity}]` : n.action === 'resolve' ? 'RESOLVED' : 'ACKNOWLEDGED';
  const lines = [`${head} ${n.ruleName ?? n.rule}: ${n.summary}`, `labels: ${Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(', ')}`, ...n.links.map((l) => `${l.text}: ${l.href}`)];
  if (n.runbook && n.action === 'trigger') lines.push('', 'Runbook:', n.runbook);
  return lines.join('\n');
}

/** Several alerts notified together (rules with `group`: same target, same values of the `group.by` labels). */
export interface GroupNotice {
  action: 'trigger' | 'resolve';
  group: { key: string; labels: Record<string, string> };
  /** Every alert of the group: firing ones (new or already notified) and those resolved since the last notification. */
  alerts: AlertNotice[];
  at: number;
}

export const isGroup = (n: AlertNotice | GroupNotice): n is GroupNotice => 'alerts' in n;

/** Plain text of a grouped notice: one heading, then one block per alert. */
export function groupText(g: GroupNotice): string {
  const firing = g.alerts.filter((a) => a.action === 'trigger');
  const resolved = g.alerts.filter((a) => a.action === 'resolve');
  const labels = Object.entries(g.group.labels).map(([k, v]) => `${k}=${v}`).join(', ');
  const head = `${firing.length ? `FIRING ${firing.length}` : ''}${firing.length && resolved.length ? ', ' : ''}${resolved.length ? `RESOLVED ${resolved.length}` : ''} alert${g.alerts.length === 1 ? '' : 's'}${labels ? ` [${labels}]` : ''}`;
  return [head, ...g.alerts.map((a) => `\n- ${noticeText(a).split('\n').join('\n  ')}`)].join('\n');
}

const describe = (t: NotifyTarget) => ('pagerduty' in t ? 'pagerduty' : 'webhook' in t ? 'webhook' : `channel:${t.channel}`);

/** Sends a notice to one target; never throws (the outcome goes on the incident's timeline). */
export async function notify(target: NotifyTarget, n: AlertNotice | GroupNotice, deps: NotifierDeps): Promise<NotifyOutcome> {
  const name = describe(target);
  try {
    if (isGroup(n)) return await notifyGroup(name, target, n, deps);
    if ('pagerduty' in target) {
      const rk = target.pagerduty.routingKey;
      let key: string;
      try {
        key = typeof rk === 'string' ? rk : (readSecret(rk, deps.secrets, n.labels.workspace ?? 'default', 'pagerduty.routingKey') as string);
      } catch (error) {
        if (error instanceof SecretMissing) return { target: name, ok: false, error: error.message };
        throw error;
      }
      return post(name, target.pagerduty.url ?? PAGERDUTY_EVENTS_URL, pagerDutyEvent(n, key, deps.instance), deps.timeoutMs, deps.guard);
    }
    if ('webhook' in target) {
      return post(name, target.webhook.url, { status: n.action === 'trigger' ? 'firing' : n.action === 'resolve' ? 'resolved' : 'acknowledged', ...n, at: new Date(n.at).toISOString(), text: noticeText(n) }, deps.timeoutMs, deps.guard);
    }
    const live = await deps.channels?.get(n.labels.workspace ?? 'default', target.channel);
    if (!live) return { target: name, ok: false, error: `channel '${target.channel}' does not exist` };
    const text = noticeText(n);
    const subject = text.split('\n')[0].slice(0, 200);
    const outcome = await live.channel.send({
      id: `alert-${n.incidentId}-${n.action}-${n.at}`,
      idempotencyKey: `alert-${n.dedupKey}-${n.incidentId}-${n.action}-${n.at}`,
      workspaceId: n.labels.workspace ?? 'default',
      profile: { id: 'on-call', traits: target.to ? { email: target.to } : {}, identifiers: [] },
      content: { subject, text, body: text, variant: 'default' },
      payload: { text, subject, ...(target.to ? { to: target.to } : {}), alert: { ...n } },
      journey: null,
      node: null,
    });
    return outcome.status === 'sent' || outcome.status === 'delivered' ? { target: name, ok: true } : { target: name, ok: false, error: 'reason' in outcome ? outcome.reason : outcome.status };
  } catch (error) {
    return { target: name, ok: false, error: (error as Error).message };
  }
}

/** A grouped notice to a webhook or channel target (PagerDuty targets are never grouped: each alert has its dedup_key). */
async function notifyGroup(name: string, target: NotifyTarget, g: GroupNotice, deps: NotifierDeps): Promise<NotifyOutcome> {
  const text = groupText(g);
  const status = g.alerts.some((a) => a.action === 'trigger') ? 'firing' : 'resolved';
  if ('pagerduty' in target) return { target: name, ok: false, error: 'PagerDuty targets are not grouped' };
  if ('webhook' in target) {
    const alerts = g.alerts.map((a) => ({ status: a.action === 'trigger' ? 'firing' : 'resolved', ...a, at: new Date(a.at).toISOString() }));
    return post(name, target.webhook.url, { status, groupKey: g.group.key, groupLabels: g.group.labels, alerts, at: new Date(g.at).toISOString(), text }, deps.timeoutMs, deps.guard);
  }
  const workspaceId = g.alerts[0]?.labels.workspace ?? 'default';
  const live = await deps.channels?.get(workspaceId, target.channel);
  if (!live) return { target: name, ok: false, error: `channel '${target.channel}' does not exist` };
  const subject = text.split('\n')[0].slice(0, 200);
  const outcome = await live.channel.send({
    id: `alert-group-${g.group.key}-${g.at}`,
    idempotencyKey: `alert-group-${g.group.key}-${g.at}`,
    workspaceId,
    profile: { id: 'on-call', traits: target.to ? { email: target.to } : {}, identifiers: [] },
    content: { subject, text, body: text, variant: 'default' },
    payload: { text, subject, ...(target.to ? { to: target.to } : {}), group: { ...g } },
    journey: null,
    node: null,
  });
  return outcome.status === 'sent' || outcome.status === 'delivered' ? { target: name, ok: true } : { target: name, ok: false, error: 'reason' in outcome ? outcome.reason : outcome.status };
}

async function post(target: string, url: string, body: unknown, timeoutMs = 10_000, guard = STRICT_GUARD): Promise<NotifyOutcome> {
  // Through the SSRF guard: refused destinations (also after a redirect) are never requested.
  const res = await guard.fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), timeoutMs, redirect: 'follow' });
  await res.arrayBuffer().catch(() => undefined);
  return res.ok ? { target, ok: true, status: res.status } : { target, ok: false, status: res.status, error: `HTTP ${res.status}` };
}
