import type { Condition } from '../conditions/condition.js';
import { compileConditionQuery } from '../conditions/sql/compiler.js';
import { duckdbDialect } from '../conditions/sql/duckdb.js';
import type { SqlValue } from '../core/ports/warehouse.js';
import type { FactsProvider } from '../apply/apply-stage.js';
import type { ApplyStore } from '../apply/ports.js';

/** The warehouse as the SQL side of the condition language uses it: queries, and TEMP input tables. */
export interface ConditionWarehouse {
  query(sql: string, params?: SqlValue[]): Promise<Record<string, unknown>[]>;
  loadTable(table: string, columns: [string, 'BIGINT' | 'VARCHAR' | 'JSON'][], rows: (string | number | null)[][]): Promise<void>;
}

/**
 * c_events over the warehouse's copy of the history, with the profile each event resolved to. The event name and
 * time are read as the streaming side reads them (apply-stage eventRecordOf): names of track events only, time
 * clamped to arrival.
 */
const EVENTS_VIEW = `CREATE OR REPLACE TEMP VIEW c_events AS
  SELECT m.profile_id AS profile_id, e.type AS type, CASE WHEN e.type = 'track' THEN json_extract_string(e.message, '$.event') END AS event,
         LEAST(e.timestamp_ms, e.received_at_ms) AS ts, COALESCE(json_extract(e.message, '$.properties'), '{}'::JSON) AS properties
  FROM events e JOIN c_event_profiles m ON m.event_id = e.id`;

/**
 * Answers conditions with SQL "as of T" over the full history in the warehouse (ARCHITECTURE.md section 5): the
 * relational inputs of conditions/model.ts are loaded as TEMP tables from the Store (profiles, identifiers,
 * memberships as of T, computed values, the event -> profile mapping) and joined to the warehouse's events.
 * One evaluation at a time: the TEMP tables are shared by the warehouse's one connection.
 */
export class WarehouseConditions {
  private lock: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly warehouse: ConditionWarehouse,
    private readonly apply: ApplyStore,
    private readonly facts: FactsProvider,
  ) {}

  /** Profile ids for which the condition holds as of `asOf`, in id order. */
  members(workspaceId: string, condition: Condition, asOf: number): Promise<string[]> {
    const run = this.lock.then(async () => {
      await this.loadInputs(workspaceId, asOf);
      const query = compileConditionQuery(condition, duckdbDialect, asOf);
      const rows = await this.warehouse.query(query.sql, query.params);
      return rows.map((r) => String(r.profile_id));
    });
    this.lock = run.catch(() => undefined);
    return run;
  }

  private async loadInputs(workspaceId: string, asOf: number): Promise<void> {
    const profiles: (string | null)[][] = [];
    const identifiers: string[][] = [];
    const subscriptions: string[][] = [];
    const computed = this.apply.allComputed(workspaceId);
    for (let after = ''; ;) {
      const ids = this.apply.profiles(workspaceId, after, 1000);
      for (const id of ids) {
        const f = await this.facts(workspaceId, id);
        if (!f) continue;
        profiles.push([id, JSON.stringify(f.traits), JSON.stringify(computed.get(id) ?? {})]);
        for (const i of f.identifiers) identifiers.push([id, i.type, i.value]);
        for (const [group, status] of Object.entries(f.subscriptions)) subscriptions.push([id, group, status]);
      }
      if (ids.length < 1000) break;
      after = ids[ids.length - 1];
    }
    const w = this.warehouse;
    await w.loadTable('c_profiles', [['profile_id', 'VARCHAR'], ['traits', 'JSON'], ['computed', 'JSON']], profiles);
    await w.loadTable('c_identifiers', [['profile_id', 'VARCHAR'], ['type', 'VARCHAR'], ['value', 'VARCHAR']], identifiers);
    await w.loadTable('c_subscriptions', [['profile_id', 'VARCHAR'], ['grp', 'VARCHAR'], ['status', 'VARCHAR']], subscriptions);
    await w.loadTable('c_memberships', [['profile_id', 'VARCHAR'], ['audience', 'VARCHAR']], this.apply.membershipsAsOf(workspaceId, asOf).map((m) => [m.profileId, m.audience]));
    await w.loadTable('c_catalog_rows', [['catalog', 'VARCHAR'], ['key', 'VARCHAR'], ['row', 'JSON']], []);
    await w.loadTable('c_event_profiles', [['event_id', 'BIGINT'], ['profile_id', 'VARCHAR']], this.apply.eventProfiles(workspaceId));
    await w.query(EVENTS_VIEW);
  }
}
