import type { Clock } from '../core/clock.js';
import { labelText, parseLabelText, type OperationsStore, type SeriesPoint } from '../storage/sqlite/operations-store.js';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
export const WEEK = 7 * DAY;

/** How the points of a bucket become one number. */
export type Aggregate = 'count' | 'sum' | 'avg' | 'max' | 'last';
export const AGGREGATES: Aggregate[] = ['count', 'sum', 'avg', 'max', 'last'];

export interface SeriesQuery {
  metric: string;
  /** Only points whose labels have these values (`*`: the label is present, any value). */
  match?: Record<string, string>;
  from: number;
  to: number;
  /** Bucket width in ms (a multiple of a minute). */
  step: number;
  aggregate: Aggregate;
  /** Labels that split the answer into series; undefined: every distinct label set is its own series; []: one series. */
  groupBy?: string[];
}

export interface Series {
  labels: Record<string, string>;
  /** One value per bucket from `from` (null: no point in the bucket). */
  values: (number | null)[];
}

interface Acc {
  count: number;
  sum: number;
  max: number;
  lastMinute: number;
  /** 'last' of gauges: the last minute's value per label set, summed over the label sets of the group. */
  last: Map<string, { minute: number; value: number }>;
}

export const floorMinute = (t: number) => Math.floor(t / MINUTE) * MINUTE;

/**
 * Per-minute rollups: counters add (count, sum of a value, max), gauges keep the minute's last sample. Increments
 * are buffered in memory and written to store.db by flush() (the evaluator's tick, every minute), so a busy ingest
 * path costs a map update per event, not a write. Reads flush first: a query sees everything recorded so far.
 */
export class SeriesRecorder {
  private counters = new Map<string, SeriesPoint>();
  private gauges = new Map<string, SeriesPoint>();

  constructor(
    private readonly store: OperationsStore,
    private readonly clock: Clock,
    readonly retentionMs: number,
  ) {}

  /** Adds `n` occurrences (and `value` to the sum, and to the max) at time `at`. */
  add(workspaceId: string, metric: string, labels: Record<string, string>, at: number, n = 1, value = n): void {
    const minute = floorMinute(at);
    const text = labelText(labels);
    const key = `${workspaceId}\u0000${metric}\u0000${text}\u0000${minute}`;
    const p = this.counters.get(key);
    if (p) {
      p.count += n;
      p.sum += value;
      p.max = Math.max(p.max, value);
    } else this.counters.set(key, { workspaceId, metric, labels: text, minute, count: n, sum: value, max: value });
  }

  /** A sampled level (an audience size): the minute keeps the last sample. */
  gauge(workspaceId: string, metric: string, labels: Record<string, string>, at: number, value: number): void {
    const minute = floorMinute(at);
    const text = labelText(labels);
    this.gauges.set(`${workspaceId}\u0000${metric}\u0000${text}\u0000${minute}`, { workspaceId, metric, labels: text, minute, count: 1, sum: value, max: value });
  }

  flush(): void {
    if (this.counters.size) {
      const points = [...this.counters.values()];
      this.counters.clear();
      this.store.addPoints(points, false);
    }
    if (this.gauges.size) {
      const points = [...this.gauges.values()];
      this.gauges.clear();
      this.store.addPoints(points, true);
    }
  }

  /** Deletes minutes older than the retention. */
  prune(): number {
    return this.store.prune(this.clock.now() - this.retentionMs);
  }

  metrics(workspaceId: string): string[] {
    this.flush();
    return this.store.metrics(workspaceId);
  }

  query(workspaceId: string, q: SeriesQuery): Series[] {
    this.flush();
    const buckets = Math.max(0, Math.ceil((q.to - q.from) / q.step));
    const groups = new Map<string, { labels: Record<string, string>; accs: (Acc | undefined)[] }>();
    for (const p of this.store.points(workspaceId, q.metric, floorMinute(q.from), q.to)) {
      if (p.minute < q.from) continue;
      const labels = parseLabelText(p.labels);
      if (q.match && !matches(labels, q.match)) continue;
      const grouped = q.groupBy === undefined ? labels : Object.fromEntries(q.groupBy.map((k) => [k, labels[k] ?? ''] as const));
      const gkey = labelText(grouped);
      let g = groups.get(gkey);
      if (!g) groups.set(gkey, (g = { labels: grouped, accs: new Array<Acc | undefined>(buckets).fill(undefined) }));
      const b = Math.floor((p.minute - q.from) / q.step);
      if (b < 0 || b >= buckets) continue;
      const acc = (g.accs[b] ??= { count: 0, sum: 0, max: -Infinity, lastMinute: -Infinity, last: new Map() });
      acc.count += p.count;
      acc.sum += p.sum;
      acc.max = Math.max(acc.max, p.max);
      const prev = acc.last.get(p.labels);
      if (!prev || prev.minute < p.minute) acc.last.set(p.labels, { minute: p.minute, value: p.count ? p.sum / p.count : 0 });
    }
    return [...groups.values()]
      .sort((a, b) => labelText(a.labels).localeCompare(labelText(b.labels)))
      .map((g) => ({ labels: g.labels, values: g.accs.map((a) => (a ? value(a, q.aggregate) : null)) }));
  }

  /** One number for [from, to): the aggregate over every matching point (0 for counts with no point). */
  total(workspaceId: string, metric: string, match: Record<string, string>, from: number, to: number, aggregate: Aggregate = 'count'): number | null {
    const series = this.query(workspaceId, { metric, match, from, to, step: Math.max(MINUTE, to - from), aggregate, groupBy: [] });
    const v = series[0]?.values[0] ?? null;
    return v === null && (aggregate === 'count' || aggregate === 'sum') ? 0 : v;
  }
}

function value(a: Acc, aggregate: Aggregate): number {
  switch (aggregate) {
    case 'count':
      return a.count;
    case 'sum':
      return a.sum;
    case 'avg':
      return a.count ? a.sum / a.count : 0;
    case 'max':
      return a.max;
    case 'last':
      return [...a.last.values()].reduce((s, l) => s + l.value, 0);
  }
}

export function matches(labels: Record<string, string>, match: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(match)) {
    if (!(k in labels)) return false;
    if (v !== '*' && labels[k] !== v) return false;
  }
  return true;
}
