import type { SqlValue } from '../core/ports/warehouse.js';

/** The writable warehouse connection (the same one the sink appends on). */
export interface FieldsWarehouse {
  query(sql: string, params?: SqlValue[]): Promise<Record<string, unknown>[]>;
}

export const FIELDS_TABLE = 'a_event_fields';
const UPTO = 'analytics_fields_upto';
const COUNT = 'analytics_fields_count';

/**
 * The few message fields attribution reads, pulled out of the raw JSON once per event: reading them from the
 * message at report time costs a full scan of every message (seconds at 10 million events). One row per event that
 * carries any of them; no identifiers (reports reach profiles through m_events, which erasure empties).
 */
const SCHEMA = `CREATE TABLE IF NOT EXISTS ${FIELDS_TABLE} (
  event_id BIGINT NOT NULL, workspace_id VARCHAR NOT NULL,
  utm_source VARCHAR, utm_medium VARCHAR, utm_campaign VARCHAR,
  channel VARCHAR, campaign VARCHAR, journey VARCHAR, template VARCHAR, revenue DOUBLE)`;

const PATHS = `[${[
  '$.context.campaign.source', '$.context.campaign.medium', '$.context.campaign.name',
  '$.properties.channel', '$.properties.campaign', '$.properties.campaign_name', '$.properties.campaign_id',
  '$.properties.journey', '$.properties.template', '$.properties.revenue',
].map((p) => `'${p}'`).join(', ')}]`;

/**
 * Brings a_event_fields up to the events the warehouse holds: only events after the last one read are parsed.
 * Idempotent (a repeated range inserts nothing twice). When events were deleted (privacy erasure), the rows of the
 * deleted events go too, so nothing of an erased event outlives it here.
 */
export class EventFields {
  private ready = false;
  private running: Promise<void> | undefined;

  constructor(private readonly warehouse: FieldsWarehouse) {}

  /** One refresh at a time; a caller arriving during one waits for the next, so it sees every event held at its call. */
  refresh(): Promise<void> {
    const next = (this.running ?? Promise.resolve()).then(() => this.step());
    this.running = next.catch(() => undefined);
    return next;
  }

  private async meta(key: string): Promise<number> {
    const rows = await this.warehouse.query('SELECT value FROM m_meta WHERE key = $1', [key]);
    return rows.length ? Number(rows[0].value) : 0;
  }

  private async step(): Promise<void> {
    if (!this.ready) {
      await this.warehouse.query(SCHEMA);
      this.ready = true;
    }
    const last = await this.meta(UPTO);
    const counted = await this.meta(COUNT);
    const [{ upto, held }] = await this.warehouse.query(`SELECT COALESCE(MAX(id), 0) AS upto, count(*) FILTER (WHERE id <= ${last}) AS held FROM events`);
    const upTo = Number(upto);
    if (Number(held) < counted) {
      await this.warehouse.query(`DELETE FROM ${FIELDS_TABLE} WHERE event_id NOT IN (SELECT id FROM events)`);
    }
    if (upTo <= last) {
      if (Number(held) !== counted) await this.warehouse.query(`INSERT OR REPLACE INTO m_meta VALUES ('${COUNT}', ${Number(held)})`);
      return;
    }
    // Numbers only in the text (ids read above); one message to the warehouse thread, so no other call runs between.
    await this.warehouse.query(`
      INSERT INTO ${FIELDS_TABLE}
      SELECT * FROM (
        SELECT id, workspace_id, v[1] AS utm_source, v[2] AS utm_medium, v[3] AS utm_campaign, v[4] AS channel,
               COALESCE(v[5], v[6], v[7]) AS campaign, v[8] AS journey, v[9] AS template, TRY_CAST(v[10] AS DOUBLE) AS revenue
        FROM (
          -- One parse of each message for all ten paths.
          SELECT id, workspace_id, json_extract_string(message, ${PATHS}) AS v
          FROM events
          WHERE id > ${last} AND id <= ${upTo}
            AND (contains(message, '"campaign') OR contains(message, '"channel"') OR contains(message, '"revenue"') OR contains(message, '"journey"') OR contains(message, '"template"'))
            AND id NOT IN (SELECT event_id FROM ${FIELDS_TABLE} WHERE event_id > ${last})
        )
      ) x
      WHERE COALESCE(utm_source, utm_medium, utm_campaign, channel, campaign, journey, template) IS NOT NULL OR revenue IS NOT NULL;
      INSERT OR REPLACE INTO m_meta VALUES ('${UPTO}', ${upTo});
      INSERT OR REPLACE INTO m_meta SELECT '${COUNT}', count(*) FROM events WHERE id <= ${upTo};`);
  }
}
