import type { Condition } from '../conditions/condition.js';
import type { JsonValue } from '../conditions/model.js';
import { compileConditionQuery } from '../conditions/sql/compiler.js';
import { duckdbDialect } from '../conditions/sql/duckdb.js';
import type { SqlValue } from '../core/ports/warehouse.js';
import type { ApplyDefinition } from '../apply/definitions.js';
import { AUDIENCES } from '../apply/definitions.js';
import type { BatchAnswers } from '../apply/ports.js';
import type { ProfileMirror } from './profile-mirror.js';

/** The warehouse as the SQL side of the condition language uses it: compiled queries over one workspace's c_* views. */
export interface ConditionWarehouse {
  inputsQuery(q: { workspaceId: string; sql: string; params?: SqlValue[]; upTo?: number; readOnly?: boolean }): Promise<Record<string, unknown>[]>;
}

/**
 * Answers conditions and traits with SQL "as of T" over the full history in the warehouse (ARCHITECTURE.md section
 * 5): the relational inputs of conditions/model.ts are views over the mirror (profile-mirror.ts), which the
 * apply stage keeps up to date, and over the warehouse's copy of the events. A call first copies what is queued
 * (the mirror, and the events the sink has not copied yet), then runs one query.
 */
export class WarehouseConditions implements BatchAnswers {
  constructor(
    private readonly warehouse: ConditionWarehouse,
    private readonly mirror: ProfileMirror,
    /** Copies the stored events the warehouse does not hold yet (the sink's drain). */
    private readonly catchUp: () => Promise<void>,
  ) {}

  /** Brings the mirror and the events up to date (everything committed before the call). */
  async sync(): Promise<void> {
    await this.catchUp();
    await this.mirror.sync();
  }

  /** Size and the first `sample` profile ids (in id order) for which the condition holds as of `asOf`: one query. */
  async preview(workspaceId: string, condition: Condition, asOf: number, sample: number): Promise<{ size: number; sample: string[] }> {
    await this.sync();
    const q = compileConditionQuery(condition, duckdbDialect, asOf);
    const limit = Math.max(0, Math.floor(sample));
    const rows = await this.warehouse.inputsQuery({
      workspaceId,
      sql: `WITH q AS MATERIALIZED (${q.sql}) SELECT (SELECT COUNT(*) FROM q) AS size, (SELECT list(profile_id ORDER BY profile_id) FROM (SELECT profile_id FROM q ORDER BY profile_id LIMIT ${limit})) AS sample`,
      params: q.params,
    });
    const row = rows[0] ?? {};
    return { size: Number(row.size ?? 0), sample: ((row.sample as unknown[] | null) ?? []).map(String) };
  }

  /** A backfill's answer (BatchAnswers): the definition's compiled query as of `asOf` over the events up to `upTo`. */
  async answer(workspaceId: string, def: ApplyDefinition, asOf: number, upTo: number): Promise<Map<string, JsonValue>> {
    if (!def.sql) throw new Error(`${def.id} has no SQL form`);
    await this.sync();
    const q = def.sql(duckdbDialect, asOf);
    const rows = await this.warehouse.inputsQuery({ workspaceId, sql: q.sql, params: q.params, upTo });
    const out = new Map<string, JsonValue>();
    if (def.kind === AUDIENCES) for (const r of rows) out.set(String(r.profile_id), true);
    else for (const r of rows) out.set(String(r.profile_id), r.value === null || r.value === undefined ? null : (JSON.parse(String(r.value)) as JsonValue));
    return out;
  }
}
