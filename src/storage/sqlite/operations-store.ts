import { migrate, prepared, type Sqlite } from './database.js';

/**
 * Forward-only migrations of the operations tables in store.db (component `operations`). Append; never edit a
 * released entry. Every statement is IF NOT EXISTS so that a store.db touched by an older build opens cleanly.
 */
const OPERATIONS_MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS ops_series (
     workspace_id TEXT NOT NULL, metric TEXT NOT NULL, labels TEXT NOT NULL, minute INTEGER NOT NULL,
     count REAL NOT NULL, sum REAL NOT NULL, max REAL NOT NULL,
     PRIMARY KEY (workspace_id, metric, minute, labels)
   ) WITHOUT ROWID;
   CREATE INDEX IF NOT EXISTS ops_series_minute ON ops_series (minute);
   CREATE TABLE IF NOT EXISTS ops_watermarks (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
   CREATE TABLE IF NOT EXISTS ops_schema (
     workspace_id TEXT NOT NULL, event TEXT NOT NULL, property TEXT NOT NULL, type TEXT NOT NULL, first_seen INTEGER NOT NULL,
     PRIMARY KEY (workspace_id, event, property, type)
   ) WITHOUT ROWID;
   CREATE TABLE IF NOT EXISTS ops_alert_states (
     workspace_id TEXT NOT NULL, rule TEXT NOT NULL, grp TEXT NOT NULL, state TEXT NOT NULL, since INTEGER NOT NULL,
     labels TEXT NOT NULL, value REAL, incident_id INTEGER,
     PRIMARY KEY (workspace_id, rule, grp)
   ) WITHOUT ROWID;
   CREATE TABLE IF NOT EXISTS ops_incidents (
     id INTEGER PRIMARY KEY AUTOINCREMENT, workspace_id TEXT NOT NULL, rule TEXT NOT NULL, grp TEXT NOT NULL, dedup_key TEXT NOT NULL,
     severity TEXT NOT NULL, labels TEXT NOT NULL, summary TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN ('firing', 'resolved')),
     opened_at INTEGER NOT NULL, resolved_at INTEGER, acknowledged_at INTEGER, acknowledged_by TEXT, last_notified_at INTEGER,
     detail TEXT NOT NULL
   );
   CREATE INDEX IF NOT EXISTS ops_incidents_ws ON ops_incidents (workspace_id, state, id);
   CREATE TABLE IF NOT EXISTS ops_timeline (
     id INTEGER PRIMARY KEY AUTOINCREMENT, incident_id INTEGER NOT NULL, at INTEGER NOT NULL, kind TEXT NOT NULL, actor TEXT, detail TEXT NOT NULL
   );
   CREATE INDEX IF NOT EXISTS ops_timeline_incident ON ops_timeline (incident_id, id);
   CREATE TABLE IF NOT EXISTS ops_silences (
     id INTEGER PRIMARY KEY AUTOINCREMENT, workspace_id TEXT NOT NULL, matchers TEXT NOT NULL, starts_at INTEGER NOT NULL, ends_at INTEGER NOT NULL,
     comment TEXT NOT NULL, created_by TEXT NOT NULL, created_at INTEGER NOT NULL, expired_at INTEGER
   );
   CREATE TABLE IF NOT EXISTS ops_flags (
     id INTEGER PRIMARY KEY AUTOINCREMENT, workspace_id TEXT NOT NULL, target_type TEXT NOT NULL, target_id TEXT NOT NULL, note TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('open', 'resolved')), incident_id INTEGER, created_by TEXT NOT NULL, created_at INTEGER NOT NULL,
     resolved_at INTEGER, resolution TEXT
   );
   CREATE INDEX IF NOT EXISTS ops_flags_target ON ops_flags (workspace_id, target_type, target_id);`,
  // 2: notification retries (exponential backoff) and notification groups (group_by, group_wait, group_interval).
  `CREATE TABLE IF NOT EXISTS ops_notify_retries (
     id INTEGER PRIMARY KEY AUTOINCREMENT, workspace_id TEXT NOT NULL, incidents TEXT NOT NULL, target TEXT NOT NULL, notice TEXT NOT NULL,
     action TEXT NOT NULL, attempt INTEGER NOT NULL, next_at INTEGER NOT NULL, policy TEXT NOT NULL
   );
   CREATE INDEX IF NOT EXISTS ops_notify_retries_next ON ops_notify_retries (next_at);
   CREATE TABLE IF NOT EXISTS ops_notify_groups (
     workspace_id TEXT NOT NULL, key TEXT NOT NULL, target TEXT NOT NULL, labels TEXT NOT NULL, policy TEXT NOT NULL,
     flush_at INTEGER, last_sent_at INTEGER, PRIMARY KEY (workspace_id, key)
   ) WITHOUT ROWID;
   CREATE TABLE IF NOT EXISTS ops_notify_group_items (
     workspace_id TEXT NOT NULL, key TEXT NOT NULL, incident_id INTEGER NOT NULL, action TEXT NOT NULL, pending INTEGER NOT NULL,
     notice TEXT NOT NULL, PRIMARY KEY (workspace_id, key, incident_id)
   ) WITHOUT ROWID;`,
];

export interface RetryRow {
  id: number;
  workspaceId: string;
  incidents: number[];
  target: unknown;
  notice: Record<string, unknown>;
  action: string;
  /** The attempt that is due next (2 for the first retry). */
  attempt: number;
  nextAt: number;
  policy: { attempts: number; backoffMs: number; maxBackoffMs: number };
}

export interface NotifyGroupRow {
  workspaceId: string;
  key: string;
  target: unknown;
  labels: Record<string, string>;
  policy: { waitMs: number; intervalMs: number; by: string[] };
  flushAt: number | null;
  lastSentAt: number | null;
}

export interface NotifyGroupItem {
  incidentId: number;
  action: 'trigger' | 'resolve';
  pending: boolean;
  notice: Record<string, unknown>;
}

export interface SeriesPoint {
  workspaceId: string;
  metric: string;
  /** Canonical label text (labelText). */
  labels: string;
  minute: number;
  count: number;
  sum: number;
  max: number;
}

export interface AlertStateRow {
  workspaceId: string;
  rule: string;
  grp: string;
  state: 'pending' | 'firing';
  since: number;
  labels: Record<string, string>;
  value: number | null;
  incidentId: number | null;
}

export interface IncidentRow {
  id: number;
  workspaceId: string;
  rule: string;
  grp: string;
  dedupKey: string;
  severity: string;
  labels: Record<string, string>;
  summary: string;
  state: 'firing' | 'resolved';
  openedAt: number;
  resolvedAt: number | null;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  lastNotifiedAt: number | null;
  detail: Record<string, unknown>;
}

export interface TimelineEntry {
  at: number;
  kind: string;
  actor: string | null;
  detail: Record<string, unknown>;
}

export interface SilenceRow {
  id: number;
  workspaceId: string;
  matchers: Record<string, string>;
  startsAt: number;
  endsAt: number;
  comment: string;
  createdBy: string;
  createdAt: number;
  expiredAt: number | null;
}

export interface FlagRow {
  id: number;
  workspaceId: string;
  targetType: 'event' | 'profile';
  targetId: string;
  note: string;
  status: 'open' | 'resolved';
  incidentId: number | null;
  createdBy: string;
  createdAt: number;
  resolvedAt: number | null;
  resolution: string | null;
}

/** Labels as stored: sorted `k=v` pairs joined by newlines, so equal label sets are equal texts. */
export function labelText(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join('\n');
}

export function parseLabelText(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (text === '') return out;
  for (const pair of text.split('\n')) {
    const i = pair.indexOf('=');
    out[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return out;
}

const json = (text: string | null) => (text === null ? {} : (JSON.parse(text) as Record<string, unknown>));

type Row = Record<string, unknown>;
const toIncident = (r: Row): IncidentRow => ({
  id: r.id as number,
  workspaceId: r.workspace_id as string,
  rule: r.rule as string,
  grp: r.grp as string,
  dedupKey: r.dedup_key as string,
  severity: r.severity as string,
  labels: json(r.labels as string) as Record<string, string>,
  summary: r.summary as string,
  state: r.state as IncidentRow['state'],
  openedAt: r.opened_at as number,
  resolvedAt: (r.resolved_at as number | null) ?? null,
  acknowledgedAt: (r.acknowledged_at as number | null) ?? null,
  acknowledgedBy: (r.acknowledged_by as string | null) ?? null,
  lastNotifiedAt: (r.last_notified_at as number | null) ?? null,
  detail: json(r.detail as string),
});
const toSilence = (r: Row): SilenceRow => ({
  id: r.id as number,
  workspaceId: r.workspace_id as string,
  matchers: json(r.matchers as string) as Record<string, string>,
  startsAt: r.starts_at as number,
  endsAt: r.ends_at as number,
  comment: r.comment as string,
  createdBy: r.created_by as string,
  createdAt: r.created_at as number,
  expiredAt: (r.expired_at as number | null) ?? null,
});
const toFlag = (r: Row): FlagRow => ({
  id: r.id as number,
  workspaceId: r.workspace_id as string,
  targetType: r.target_type as FlagRow['targetType'],
  targetId: r.target_id as string,
  note: r.note as string,
  status: r.status as FlagRow['status'],
  incidentId: (r.incident_id as number | null) ?? null,
  createdBy: r.created_by as string,
  createdAt: r.created_at as number,
  resolvedAt: (r.resolved_at as number | null) ?? null,
  resolution: (r.resolution as string | null) ?? null,
});

const toGroup = (r: Row): NotifyGroupRow => ({
  workspaceId: r.workspace_id as string,
  key: r.key as string,
  target: JSON.parse(r.target as string),
  labels: json(r.labels as string) as Record<string, string>,
  policy: JSON.parse(r.policy as string) as NotifyGroupRow['policy'],
  flushAt: (r.flush_at as number | null) ?? null,
  lastSentAt: (r.last_sent_at as number | null) ?? null,
});

/** The operations tables over the shared store.db handle (series, schema seen, alert states, incidents, silences, flags). */
export function openSqliteOperationsStore(db: Sqlite) {
  migrate(db, 'operations', OPERATIONS_MIGRATIONS);
  const all = <T = Row>(sql: string, ...params: unknown[]) => prepared(db, sql).all(...params) as T[];
  const one = <T = Row>(sql: string, ...params: unknown[]) => prepared(db, sql).get(...params) as T | undefined;
  const run = (sql: string, ...params: unknown[]) => prepared(db, sql).run(...params);

  const store = {
    /** Adds counts into per-minute rows; gauges (`replace`) overwrite the minute's value. */
    addPoints: db.transaction((points: SeriesPoint[], replace: boolean) => {
      const sql = replace
        ? `INSERT INTO ops_series (workspace_id, metric, labels, minute, count, sum, max) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT DO UPDATE SET count = excluded.count, sum = excluded.sum, max = excluded.max`
        : `INSERT INTO ops_series (workspace_id, metric, labels, minute, count, sum, max) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT DO UPDATE SET count = count + excluded.count, sum = sum + excluded.sum, max = MAX(max, excluded.max)`;
      for (const p of points) run(sql, p.workspaceId, p.metric, p.labels, p.minute, p.count, p.sum, p.max);
    }),
    /** Points of a metric in [from, to) (minutes as epoch ms), oldest first. */
    points(workspaceId: string, metric: string, from: number, to: number): SeriesPoint[] {
      return all<Row>('SELECT labels, minute, count, sum, max FROM ops_series WHERE workspace_id = ? AND metric = ? AND minute >= ? AND minute < ? ORDER BY minute', workspaceId, metric, from, to).map((r) => ({
        workspaceId, metric, labels: r.labels as string, minute: r.minute as number, count: r.count as number, sum: r.sum as number, max: r.max as number,
      }));
    },
    /** The last minute with a point of the metric whose labels include these (ms), per label text. */
    lastMinutes(workspaceId: string, metric: string, since: number): { labels: string; minute: number }[] {
      return all<{ labels: string; minute: number }>('SELECT labels, MAX(minute) AS minute FROM ops_series WHERE workspace_id = ? AND metric = ? AND minute >= ? GROUP BY labels', workspaceId, metric, since);
    },
    metrics(workspaceId: string): string[] {
      return all<{ metric: string }>('SELECT DISTINCT metric FROM ops_series WHERE workspace_id = ? ORDER BY metric', workspaceId).map((r) => r.metric);
    },
    prune(before: number): number {
      return run('DELETE FROM ops_series WHERE minute < ?', before).changes;
    },
    watermark(name: string): number | undefined {
      return one<{ value: number }>('SELECT value FROM ops_watermarks WHERE name = ?', name)?.value;
    },
    setWatermark(name: string, value: number): void {
      run('INSERT INTO ops_watermarks (name, value) VALUES (?, ?) ON CONFLICT DO UPDATE SET value = excluded.value', name, value);
    },

    /** Records (event, property, type) triples; returns those never seen before. */
    noteSchema: db.transaction((workspaceId: string, triples: { event: string; property: string; type: string }[], at: number) => {
      const fresh: typeof triples = [];
      for (const t of triples) {
        if (run('INSERT OR IGNORE INTO ops_schema (workspace_id, event, property, type, first_seen) VALUES (?, ?, ?, ?, ?)', workspaceId, t.event, t.property, t.type, at).changes) fresh.push(t);
      }
      return fresh;
    }),
    schemaSince(workspaceId: string, since: number): { event: string; property: string; type: string; firstSeen: number }[] {
      return all<{ event: string; property: string; type: string; first_seen: number }>('SELECT event, property, type, first_seen FROM ops_schema WHERE workspace_id = ? AND first_seen >= ? ORDER BY first_seen', workspaceId, since).map((r) => ({ event: r.event, property: r.property, type: r.type, firstSeen: r.first_seen }));
    },
    schemaFirstSeen(workspaceId: string): number | undefined {
      return one<{ at: number | null }>('SELECT MIN(first_seen) AS at FROM ops_schema WHERE workspace_id = ?', workspaceId)?.at ?? undefined;
    },
    schemaKnown(workspaceId: string, event: string, property: string, before: number): string[] {
      return all<{ type: string }>('SELECT type FROM ops_schema WHERE workspace_id = ? AND event = ? AND property = ? AND first_seen < ?', workspaceId, event, property, before).map((r) => r.type);
    },

    alertStates(workspaceId: string, rule: string): AlertStateRow[] {
      return all<Row>('SELECT * FROM ops_alert_states WHERE workspace_id = ? AND rule = ?', workspaceId, rule).map((r) => ({
        workspaceId, rule, grp: r.grp as string, state: r.state as AlertStateRow['state'], since: r.since as number,
        labels: json(r.labels as string) as Record<string, string>, value: (r.value as number | null) ?? null, incidentId: (r.incident_id as number | null) ?? null,
      }));
    },
    putAlertState(s: AlertStateRow): void {
      run(
        `INSERT INTO ops_alert_states (workspace_id, rule, grp, state, since, labels, value, incident_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT DO UPDATE SET state = excluded.state, since = excluded.since, labels = excluded.labels, value = excluded.value, incident_id = excluded.incident_id`,
        s.workspaceId, s.rule, s.grp, s.state, s.since, JSON.stringify(s.labels), s.value, s.incidentId,
      );
    },
    deleteAlertState(workspaceId: string, rule: string, grp: string): void {
      run('DELETE FROM ops_alert_states WHERE workspace_id = ? AND rule = ? AND grp = ?', workspaceId, rule, grp);
    },
    alertRulesWithState(workspaceId: string): string[] {
      return all<{ rule: string }>('SELECT DISTINCT rule FROM ops_alert_states WHERE workspace_id = ?', workspaceId).map((r) => r.rule);
    },

    openIncident(i: Omit<IncidentRow, 'id' | 'resolvedAt' | 'acknowledgedAt' | 'acknowledgedBy' | 'lastNotifiedAt' | 'state'>): number {
      return Number(
        run(
          `INSERT INTO ops_incidents (workspace_id, rule, grp, dedup_key, severity, labels, summary, state, opened_at, detail) VALUES (?, ?, ?, ?, ?, ?, ?, 'firing', ?, ?)`,
          i.workspaceId, i.rule, i.grp, i.dedupKey, i.severity, JSON.stringify(i.labels), i.summary, i.openedAt, JSON.stringify(i.detail),
        ).lastInsertRowid,
      );
    },
    incident(workspaceId: string, id: number): IncidentRow | undefined {
      const r = one<Row>('SELECT * FROM ops_incidents WHERE workspace_id = ? AND id = ?', workspaceId, id);
      return r && toIncident(r);
    },
    incidents(workspaceId: string, filter: { state?: string; rule?: string; before?: number; limit: number }): IncidentRow[] {
      return all<Row>(
        `SELECT * FROM ops_incidents WHERE workspace_id = ? AND (? IS NULL OR state = ?) AND (? IS NULL OR rule = ?) AND (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?`,
        workspaceId, filter.state ?? null, filter.state ?? null, filter.rule ?? null, filter.rule ?? null, filter.before ?? null, filter.before ?? null, filter.limit,
      ).map(toIncident);
    },
    updateIncident(id: number, change: Partial<Pick<IncidentRow, 'state' | 'resolvedAt' | 'acknowledgedAt' | 'acknowledgedBy' | 'lastNotifiedAt' | 'summary'>>): void {
      const columns: Record<string, string> = { state: 'state', resolvedAt: 'resolved_at', acknowledgedAt: 'acknowledged_at', acknowledgedBy: 'acknowledged_by', lastNotifiedAt: 'last_notified_at', summary: 'summary' };
      const keys = Object.keys(change) as (keyof typeof change)[];
      if (!keys.length) return;
      run(`UPDATE ops_incidents SET ${keys.map((k) => `${columns[k]} = ?`).join(', ')} WHERE id = ?`, ...keys.map((k) => change[k] ?? null), id);
    },
    addTimeline(incidentId: number, at: number, kind: string, actor: string | null, detail: Record<string, unknown> = {}): void {
      run('INSERT INTO ops_timeline (incident_id, at, kind, actor, detail) VALUES (?, ?, ?, ?, ?)', incidentId, at, kind, actor, JSON.stringify(detail));
    },
    timeline(incidentId: number): TimelineEntry[] {
      return all<Row>('SELECT at, kind, actor, detail FROM ops_timeline WHERE incident_id = ? ORDER BY id', incidentId).map((r) => ({ at: r.at as number, kind: r.kind as string, actor: (r.actor as string | null) ?? null, detail: json(r.detail as string) }));
    },

    addSilence(s: Omit<SilenceRow, 'id' | 'expiredAt'>): number {
      return Number(
        run('INSERT INTO ops_silences (workspace_id, matchers, starts_at, ends_at, comment, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)', s.workspaceId, JSON.stringify(s.matchers), s.startsAt, s.endsAt, s.comment, s.createdBy, s.createdAt).lastInsertRowid,
      );
    },
    silences(workspaceId: string): SilenceRow[] {
      return all<Row>('SELECT * FROM ops_silences WHERE workspace_id = ? ORDER BY id DESC', workspaceId).map(toSilence);
    },
    silence(workspaceId: string, id: number): SilenceRow | undefined {
      const r = one<Row>('SELECT * FROM ops_silences WHERE workspace_id = ? AND id = ?', workspaceId, id);
      return r && toSilence(r);
    },
    expireSilence(workspaceId: string, id: number, at: number): boolean {
      return run('UPDATE ops_silences SET expired_at = ?, ends_at = MIN(ends_at, ?) WHERE workspace_id = ? AND id = ? AND expired_at IS NULL', at, at, workspaceId, id).changes > 0;
    },

    addFlag(f: Omit<FlagRow, 'id' | 'status' | 'resolvedAt' | 'resolution'>): number {
      return Number(
        run("INSERT INTO ops_flags (workspace_id, target_type, target_id, note, status, incident_id, created_by, created_at) VALUES (?, ?, ?, ?, 'open', ?, ?, ?)", f.workspaceId, f.targetType, f.targetId, f.note, f.incidentId, f.createdBy, f.createdAt).lastInsertRowid,
      );
    },
    flag(workspaceId: string, id: number): FlagRow | undefined {
      const r = one<Row>('SELECT * FROM ops_flags WHERE workspace_id = ? AND id = ?', workspaceId, id);
      return r && toFlag(r);
    },
    flags(workspaceId: string, filter: { status?: string; targetType?: string; targetId?: string; limit: number }): FlagRow[] {
      return all<Row>(
        'SELECT * FROM ops_flags WHERE workspace_id = ? AND (? IS NULL OR status = ?) AND (? IS NULL OR target_type = ?) AND (? IS NULL OR target_id = ?) ORDER BY id DESC LIMIT ?',
        workspaceId, filter.status ?? null, filter.status ?? null, filter.targetType ?? null, filter.targetType ?? null, filter.targetId ?? null, filter.targetId ?? null, filter.limit,
      ).map(toFlag);
    },
    resolveFlag(workspaceId: string, id: number, at: number, resolution: string): boolean {
      return run("UPDATE ops_flags SET status = 'resolved', resolved_at = ?, resolution = ? WHERE workspace_id = ? AND id = ? AND status = 'open'", at, resolution, workspaceId, id).changes > 0;
    },

    addRetry(r: Omit<RetryRow, 'id'>): number {
      return Number(
        run('INSERT INTO ops_notify_retries (workspace_id, incidents, target, notice, action, attempt, next_at, policy) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', r.workspaceId, JSON.stringify(r.incidents), JSON.stringify(r.target), JSON.stringify(r.notice), r.action, r.attempt, r.nextAt, JSON.stringify(r.policy)).lastInsertRowid,
      );
    },
    /** Retries due at `now`, oldest first. */
    dueRetries(now: number): RetryRow[] {
      return all<Row>('SELECT * FROM ops_notify_retries WHERE next_at <= ? ORDER BY next_at, id', now).map((r) => ({
        id: r.id as number, workspaceId: r.workspace_id as string, incidents: JSON.parse(r.incidents as string) as number[], target: JSON.parse(r.target as string), notice: json(r.notice as string),
        action: r.action as string, attempt: r.attempt as number, nextAt: r.next_at as number, policy: JSON.parse(r.policy as string) as RetryRow['policy'],
      }));
    },
    deleteRetry(id: number): boolean {
      return run('DELETE FROM ops_notify_retries WHERE id = ?', id).changes > 0;
    },
    /** Pending retries of a trigger for an incident (cancelled when it resolves), with their targets. */
    retriesOf(incidentId: number): { id: number; target: unknown; action: string; incidents: number[] }[] {
      return all<Row>("SELECT r.id, r.target, r.action, r.incidents FROM ops_notify_retries r, json_each(r.incidents) j WHERE j.value = ?", incidentId).map((r) => ({ id: r.id as number, target: JSON.parse(r.target as string), action: r.action as string, incidents: JSON.parse(r.incidents as string) as number[] }));
    },
    nextDue(): number | undefined {
      const a = one<{ at: number | null }>('SELECT MIN(next_at) AS at FROM ops_notify_retries')?.at ?? null;
      const b = one<{ at: number | null }>('SELECT MIN(flush_at) AS at FROM ops_notify_groups')?.at ?? null;
      const all2 = [a, b].filter((x): x is number => x !== null);
      return all2.length ? Math.min(...all2) : undefined;
    },

    notifyGroup(workspaceId: string, key: string): NotifyGroupRow | undefined {
      const r = one<Row>('SELECT * FROM ops_notify_groups WHERE workspace_id = ? AND key = ?', workspaceId, key);
      return r && toGroup(r);
    },
    putNotifyGroup(g: NotifyGroupRow): void {
      run(
        `INSERT INTO ops_notify_groups (workspace_id, key, target, labels, policy, flush_at, last_sent_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT DO UPDATE SET target = excluded.target, labels = excluded.labels, policy = excluded.policy, flush_at = excluded.flush_at, last_sent_at = excluded.last_sent_at`,
        g.workspaceId, g.key, JSON.stringify(g.target), JSON.stringify(g.labels), JSON.stringify(g.policy), g.flushAt, g.lastSentAt,
      );
    },
    deleteNotifyGroup(workspaceId: string, key: string): void {
      run('DELETE FROM ops_notify_groups WHERE workspace_id = ? AND key = ?', workspaceId, key);
      run('DELETE FROM ops_notify_group_items WHERE workspace_id = ? AND key = ?', workspaceId, key);
    },
    dueNotifyGroups(now: number): NotifyGroupRow[] {
      return all<Row>('SELECT * FROM ops_notify_groups WHERE flush_at IS NOT NULL AND flush_at <= ? ORDER BY flush_at', now).map(toGroup);
    },
    groupItems(workspaceId: string, key: string): NotifyGroupItem[] {
      return all<Row>('SELECT * FROM ops_notify_group_items WHERE workspace_id = ? AND key = ? ORDER BY incident_id', workspaceId, key).map((r) => ({ incidentId: r.incident_id as number, action: r.action as NotifyGroupItem['action'], pending: (r.pending as number) === 1, notice: json(r.notice as string) }));
    },
    putGroupItem(workspaceId: string, key: string, item: NotifyGroupItem): void {
      run(
        `INSERT INTO ops_notify_group_items (workspace_id, key, incident_id, action, pending, notice) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT DO UPDATE SET action = excluded.action, pending = excluded.pending, notice = excluded.notice`,
        workspaceId, key, item.incidentId, item.action, item.pending ? 1 : 0, JSON.stringify(item.notice),
      );
    },
    /** Removes an incident from every notification group; groups left empty are closed. */
    forgetGroupIncident(workspaceId: string, incidentId: number): void {
      run('DELETE FROM ops_notify_group_items WHERE workspace_id = ? AND incident_id = ?', workspaceId, incidentId);
      run('DELETE FROM ops_notify_groups WHERE workspace_id = ? AND key NOT IN (SELECT key FROM ops_notify_group_items WHERE workspace_id = ?)', workspaceId, workspaceId);
    },
    deleteGroupItem(workspaceId: string, key: string, incidentId: number): void {
      run('DELETE FROM ops_notify_group_items WHERE workspace_id = ? AND key = ? AND incident_id = ?', workspaceId, key, incidentId);
    },

    /** Raw reads for the samplers (tables of other components in the same store.db). */
    all,
  };
  return store;
}

export type OperationsStore = ReturnType<typeof openSqliteOperationsStore>;
