import type { Severity } from '../alerts/definition.js';

export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

/** What a notification says about an incident (the same for every target type). */
export interface AlertNotice {
  action: 'trigger' | 'acknowledge' | 'resolve';
  incidentId: number;
  dedupKey: string;
  rule: string;
  ruleName?: string;
  severity: Severity;
  summary: string;
  labels: Record<string, string>;
  value: number | null;
  at: number;
  runbook?: string;
  /** Links back to the console and the API: the incident, the offending events, the quarantine. */
  links: { href: string; text: string }[];
}

/** Tandem severities are PagerDuty's (critical, error, warning, info); anything else maps to warning. */
export function pagerDutySeverity(s: string): 'critical' | 'error' | 'warning' | 'info' {
  return s === 'critical' || s === 'error' || s === 'warning' || s === 'info' ? s : 'warning';
}

/**
 * An Events API v2 event (developer.pagerduty.com/docs/events-api-v2/overview). A trigger carries the payload
 * (summary at most 1024 characters, source, severity, ISO 8601 timestamp) and links; acknowledge and resolve carry
 * only the routing key, the action and the dedup key, which is the same for the whole life of the alert group.
 */
export function pagerDutyEvent(n: AlertNotice, routingKey: string, source: string): Record<string, unknown> {
  const base = { routing_key: routingKey, event_action: n.action, dedup_key: n.dedupKey };
  if (n.action !== 'trigger') return base;
  const summary = `[${n.severity}] ${n.ruleName ?? n.rule}: ${n.summary}`;
  return {
    ...base,
    payload: {
      summary: summary.length > 1024 ? `${summary.slice(0, 1021)}...` : summary,
      source,
      severity: pagerDutySeverity(n.severity),
      timestamp: new Date(n.at).toISOString(),
      component: n.labels.source ?? n.labels.event ?? n.labels.channel ?? n.labels.audience,
      group: n.rule,
      class: n.labels.monitor_type ?? 'alert',
      custom_details: { labels: n.labels, value: n.value, incident: n.incidentId, ...(n.runbook ? { runbook: n.runbook.slice(0, 4000) } : {}) },
    },
    links: n.links,
    client: 'Tandem',
    client_url: n.links[0]?.href,
  };
}
