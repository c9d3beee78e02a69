import { parseDuration } from '../core/duration.js';
import type { SqlValue } from '../core/ports/warehouse.js';
import { DEFAULT_WINDOW, type Experiment, type Metric } from './definition.js';
import type { ArmSums } from './stats/summary.js';

/** Runs a read-only query over one workspace's condition views (c_events: profile_id, event, ts, properties). */
export interface ExperimentWarehouse {
  run(workspaceId: string, sql: string, params: SqlValue[]): Promise<Record<string, unknown>[]>;
}

export interface MetricSums {
  metric: Metric;
  /** Per arm key (arms without exposures are absent). */
  arms: Map<string, ArmSums>;
  /** Profiles exposed to more than one arm (merged profiles), left out of the sums. */
  crossovers: number;
}

/**
 * One query per metric, entirely in the warehouse. The unit is the profile: its arm is the `arm` property of its
 * first exposure event (`exposure_event` with `experiment` = the key); the outcome counts the metric's events from
 * that first exposure to `within` after it (inclusive), and the CUPED covariate the same over `cuped.before` before
 * it. Per arm the query returns the sufficient statistics n, Σy, Σy², Σx, Σx², Σxy.
 */
export function metricQuery(experiment: Experiment, metric: Metric): { sql: string; params: SqlValue[] } {
  const within = parseDuration(metric.within ?? DEFAULT_WINDOW, 'within');
  const before = metric.cuped ? parseDuration(metric.cuped.before, 'cuped.before') : 0;
  const params: SqlValue[] = [];
  const p = (v: SqlValue, type: 'VARCHAR' | 'BIGINT') => (params.push(v), `CAST($${params.length} AS ${type})`);
  const exposure = p(experiment.exposure_event, 'VARCHAR');
  const key = p(experiment.key, 'VARCHAR');
  const event = p(metric.event, 'VARCHAR');
  const after = p(within, 'BIGINT');
  const prior = p(before, 'BIGINT');
  // Per event: 1 for conversions and counts, the numeric property for revenue (non-numbers count as 0).
  const value = metric.type === 'revenue' ? `coalesce(TRY_CAST(json_extract_string(e.properties, ${p(`$.${metric.property ?? 'revenue'}`, 'VARCHAR')}) AS DOUBLE), 0)` : '1.0';
  const agg = metric.type === 'conversion' ? 'max' : 'sum';
  const sql = `
    WITH firsts AS (
      SELECT profile_id, min(ts) AS first_ts, arg_min(json_extract_string(properties, '$.arm'), ts) AS arm,
             count(DISTINCT json_extract_string(properties, '$.arm')) AS arms
      FROM c_events
      WHERE event = ${exposure} AND json_extract_string(properties, '$.experiment') = ${key}
        AND json_extract_string(properties, '$.arm') IS NOT NULL
      GROUP BY profile_id
    ),
    units AS (SELECT profile_id, first_ts, arm FROM firsts WHERE arms = 1),
    outcomes AS (
      SELECT u.profile_id, u.arm,
        coalesce(${agg}(CASE WHEN e.ts >= u.first_ts AND e.ts <= u.first_ts + ${after} THEN ${value} END), 0) AS y,
        coalesce(${agg}(CASE WHEN e.ts < u.first_ts AND e.ts >= u.first_ts - ${prior} THEN ${value} END), 0) AS x
      FROM units u LEFT JOIN c_events e ON e.profile_id = u.profile_id AND e.event = ${event}
      GROUP BY u.profile_id, u.arm
    )
    SELECT arm, CAST(count(*) AS DOUBLE) AS n, CAST(sum(y) AS DOUBLE) AS sy, CAST(sum(y * y) AS DOUBLE) AS syy,
           CAST(sum(x) AS DOUBLE) AS sx, CAST(sum(x * x) AS DOUBLE) AS sxx, CAST(sum(x * y) AS DOUBLE) AS sxy, false AS crossover
    FROM outcomes GROUP BY arm
    UNION ALL
    SELECT NULL, CAST(count(*) AS DOUBLE), 0, 0, 0, 0, 0, true FROM firsts WHERE arms > 1`;
  return { sql, params };
}

export async function metricSums(warehouse: ExperimentWarehouse, workspaceId: string, experiment: Experiment, metric: Metric): Promise<MetricSums> {
  const q = metricQuery(experiment, metric);
  const rows = await warehouse.run(workspaceId, q.sql, q.params);
  const arms = new Map<string, ArmSums>();
  let crossovers = 0;
  for (const r of rows) {
    if (r.crossover === true) {
      crossovers = Number(r.n);
      continue;
    }
    const sums: ArmSums = { n: Number(r.n), sumY: Number(r.sy), sumY2: Number(r.syy) };
    if (metric.cuped) Object.assign(sums, { sumX: Number(r.sx), sumX2: Number(r.sxx), sumXY: Number(r.sxy) });
    arms.set(String(r.arm), sums);
  }
  return { metric, arms, crossovers };
}
