import type { DestinationGuard } from '../../network/destination-guard.js';
import type { AlertRule } from '../alerts/definition.js';

/** Refuses, on save, a webhook or PagerDuty URL of an alert rule that points at a refused address (see src/network). */
export function checkAlertDestinations(rule: AlertRule, guard: DestinationGuard): AlertRule {
  rule.notify?.forEach((t, i) => {
    if ('webhook' in t) guard.checkStatic(t.webhook.url, `notify[${i}].webhook.url`);
    if ('pagerduty' in t && t.pagerduty.url !== undefined) guard.checkStatic(t.pagerduty.url, `notify[${i}].pagerduty.url`);
  });
  return rule;
}
