import { parseDuration } from '../../core/duration.js';
import type { IncidentRow, OperationsStore } from '../../storage/sqlite/operations-store.js';
import type { Monitor } from '../monitors/definition.js';
import type { Signal } from '../signals.js';
import type { AlertRule } from './definition.js';

export interface Link {
  href: string;
  text: string;
}

const MESSAGE_TYPES = new Set(['identify', 'page', 'screen', 'group', 'alias']);
/** Monitors whose incidents are about property values: bad traits may need a bulk correction (data migrations). */
const VALUE_MONITORS = new Set(['null_rate', 'schema_drift', 'violation_rate']);

const query = (params: Record<string, string | number | undefined>) => {
  const s = new URLSearchParams(Object.entries(params).filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== '').map(([k, v]) => [k, String(v)])).toString();
  return s ? `?${s}` : '';
};

/** The time the incident is about: from the start of the window that first tripped the rule to its resolution (or now). */
export function incidentWindow(i: IncidentRow, rule: AlertRule | undefined, monitor: Monitor | undefined, signal: Signal | undefined, now: number): { from: number; to: number } {
  const text = monitor
    ? monitor.type === 'freshness' ? (monitor.maxAge ?? '15m') : (monitor.window ?? (monitor.type === 'processing_lag' ? '5m' : '1h'))
    : signal ? (signal.window ?? '15m')
    : rule?.series ? (rule.series.window ?? '5m')
    : '1h';
  let span = 3_600_000;
  try {
    span = parseDuration(text);
  } catch {
    // A definition edited since: the default hour.
  }
  const pendingSince = typeof i.detail.pendingSince === 'number' ? i.detail.pendingSince : i.openedAt;
  return { from: pendingSince - span, to: i.resolvedAt ?? now };
}

/**
 * Where to go from an incident (the data-issue workflow): the incident, the offending events (the events API newest
 * first from the end of the incident's window, filtered by its source and event), the quarantine of the window
 * (in all, and per violation reason found there), and a data migration to correct traits in bulk where the incident is
 * about property values. `store` reads the events and quarantine tables of store.db.
 */
export function detailedLinks(base: string, i: IncidentRow, window: { from: number; to: number }, store: OperationsStore, profileFlags: boolean): Link[] {
  const source = i.labels.source;
  const event = i.labels.event;
  const type = event !== undefined && MESSAGE_TYPES.has(event) ? event : undefined;
  const from = new Date(window.from).toISOString();
  const to = new Date(window.to).toISOString();
  const links: Link[] = [{ href: `${base}/api/v1/incidents/${i.id}`, text: 'Incident and timeline' }];
  let sourceId: string | undefined;
  try {
    if (source !== undefined) sourceId = store.all<{ id: string }>('SELECT id FROM sources WHERE workspace_id = ? AND key = ?', i.workspaceId, source)[0]?.id;
    const first = firstEventAtOrAfter(store, window.to);
    links.push({ href: `${base}/api/v1/events${query({ source, ...(type ? { type } : { event }), before: first ?? undefined })}`, text: 'Offending events' });
  } catch {
    links.push({ href: `${base}/api/v1/events${query({ source, event })}`, text: 'Offending events' });
  }
  links.push({ href: `${base}/api/v1/quarantine${query({ source, event: type ? undefined : event, from, to })}`, text: 'Quarantine' });
  try {
    const reasons = store.all<{ kind: string; n: number }>(
      `SELECT json_extract(j.value, '$.kind') AS kind, COUNT(*) AS n FROM quarantine q, json_each(q.reasons) j
       WHERE q.workspace_id = ? AND q.received_at >= ? AND q.received_at < ? AND (? IS NULL OR q.source_id = ?) AND (? IS NULL OR q.event = ?)
       GROUP BY kind ORDER BY n DESC, kind LIMIT 5`,
      i.workspaceId, window.from, window.to, sourceId ?? null, sourceId ?? null, (type ? null : event) ?? null, (type ? null : event) ?? null,
    );
    for (const r of reasons) if (r.kind) links.push({ href: `${base}/api/v1/quarantine${query({ source, reason: r.kind, event: type ? undefined : event, from, to })}`, text: `Quarantine: ${r.n} ${r.kind}` });
  } catch {
    // No quarantine table (a store without collection): the plain link above.
  }
  if (profileFlags || VALUE_MONITORS.has(i.labels.monitor_type ?? '')) {
    links.push({ href: `${base}/api/v1/migrations`, text: 'Correct traits in bulk: POST a traits-update or traits-delete data migration (docs/migrations.md)' });
  }
  return links;
}

/**
 * The smallest event id received at or after `at` (undefined: none yet), by binary search over ids (ids grow with
 * receipt, closely enough for a paging cursor): O(log n) primary-key reads instead of a scan of the events table.
 */
export function firstEventAtOrAfter(store: OperationsStore, at: number): number | undefined {
  const probe = (id: number) => store.all<{ id: number; at: number }>('SELECT id, received_at AS at FROM events WHERE id >= ? ORDER BY id LIMIT 1', id)[0];
  const max = store.all<{ id: number | null }>('SELECT MAX(id) AS id FROM events')[0]?.id ?? null;
  if (max === null || (probe(max)?.at ?? -Infinity) < at) return undefined;
  // f(x): the first event with id >= x was received at or after `at`; monotone in x. Find the smallest such x.
  let lo = 0;
  let hi = max;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if ((probe(mid)?.at ?? Infinity) >= at) hi = mid;
    else lo = mid;
  }
  return probe(hi)?.id;
}
