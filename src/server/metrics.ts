import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Every counter Tandem exposes on /metrics. One registry per running app, so tests can run several. */
export function createMetrics(options: { processMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'tandem_process_' });
  const m = {
    registry,
    received: new Counter({ name: 'tandem_collect_received_total', help: 'Messages received by /v1, before validation.', labelNames: ['source'] as const, registers: [registry] }),
    accepted: new Counter({ name: 'tandem_collect_accepted_total', help: 'Messages written durably to the log as events.', labelNames: ['source'] as const, registers: [registry] }),
    rejected: new Counter({ name: 'tandem_collect_rejected_total', help: 'Messages or requests refused with a 4xx, by reason.', labelNames: ['reason'] as const, registers: [registry] }),
    quarantined: new Counter({ name: 'tandem_collect_quarantined_total', help: 'Messages blocked by a tracking plan and held in quarantine.', labelNames: ['source'] as const, registers: [registry] }),
    flagged: new Counter({ name: 'tandem_collect_flagged_total', help: 'Messages accepted with tracking-plan violations recorded.', labelNames: ['source'] as const, registers: [registry] }),
    duplicates: new Counter({ name: 'tandem_events_duplicates_total', help: 'Messages dropped as duplicates of a messageId seen within the dedup window.', registers: [registry] }),
    stored: new Counter({ name: 'tandem_events_stored_total', help: 'Events stored after deduplication.', registers: [registry] }),
    rateLimited: new Counter({ name: 'tandem_collect_rate_limited_total', help: 'Requests refused with 429.', registers: [registry] }),
    lag: new Gauge({ name: 'tandem_events_lag_batches', help: 'Log batches written but not yet processed by the events stage.', registers: [registry] }),
    requestSeconds: new Histogram({
      name: 'tandem_http_request_duration_seconds',
      help: 'HTTP request latency by route and status.',
      labelNames: ['route', 'method', 'status'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    membershipDelay: new Histogram({
      name: 'tandem_audience_change_delay_seconds',
      help: "The fast loop's latency: from the arrival of the event (or the instant of the timer) that changed an audience membership to the commit of that change.",
      buckets: [0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
