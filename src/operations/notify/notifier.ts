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
  env: NodeJS.ProcessEnv;
  /** The delivery channels (email, slack, webhook) a target may name; absent: channel targets fail. */
  channels?: Pick<Channels, 'get'>;
  /** `source` of PagerDuty events: which Tandem raised them. */
  instance: string;
  timeoutMs?: number;
}

/** Plain text of a notice, for e-mail, Slack and the webhook's `text`. */
export function noticeText(n: AlertNotice): string {
  const head = n.action === 'trigger' ? `FIRING [${n.severity}]` : n.action === 'resolve' ? 'RESOLVED' : 'ACKNOWLEDGED';
  const lines = [`${head} ${n.ruleName ?? n.rule}: ${n.summary}`, `labels: ${Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(', ')}`, ...n.links.map((l) => `${l.text}: ${l.href}`)];
  if (n.runbook && n.action === 'trigger') lines.push('', 'Runbook:', n.runbook);
  return lines.join('\n');
}

const describe = (t: NotifyTarget) => ('pagerduty' in t ? 'pagerduty' : 'webhook' in t ? 'webhook' : `channel:${t.channel}`);

/** Sends a notice to one target; never throws (the outcome goes on the incident's timeline). */
export async function notify(target: NotifyTarget, n: AlertNotice, deps: NotifierDeps): Promise<NotifyOutcome> {
  const name = describe(target);
  try {
    if ('pagerduty' in target) {
      const rk = target.pagerduty.routingKey;
      const key = typeof rk === 'string' ? rk : deps.env[rk.env];
      if (!key) return { target: name, ok: false, error: `environment variable ${(rk as { env: string }).env} is not set` };
      return post(name, target.pagerduty.url ?? PAGERDUTY_EVENTS_URL, pagerDutyEvent(n, key, deps.instance), deps.timeoutMs);
    }
    if ('webhook' in target) {
      return post(name, target.webhook.url, { status: n.action === 'trigger' ? 'firing' : n.action === 'resolve' ? 'resolved' : 'acknowledged', ...n, at: new Date(n.at).toISOString(), text: noticeText(n) }, deps.timeoutMs);
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

async function post(target: string, url: string, body: unknown, timeoutMs = 10_000): Promise<NotifyOutcome> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
  await res.arrayBuffer().catch(() => undefined);
  return res.ok ? { target, ok: true, status: res.status } : { target, ok: false, status: res.status, error: `HTTP ${res.status}` };
}
