import type { SqlValue } from '../core/ports/warehouse.js';
import { FIELDS_TABLE } from './event-fields.js';

/** The writable warehouse connection, with statements run in one transaction (DuckDbWarehouse). */
export interface SequenceWarehouse {
  query(sql: string, params?: SqlValue[]): Promise<Record<string, unknown>[]>;
  transaction(sql: string): Promise<void>;
}

export const SEQ_TABLE = 'a_event_seq';
export const NAMES_TABLE = 'a_event_names';
/** Per profile: how many rows it has in the sequence and its last time (NULL when some row has none). */
const LAST_TABLE = 'a_event_last';
const UPTO = 'analytics_seq_upto';
const FIELDS_SEEN = 'analytics_seq_fields';
const CHANGES_SEEN = 'analytics_seq_changes';
const FIELDS_UPTO = 'analytics_fields_upto';
const CHANGED_SEQ = 'events_changed_seq';
const VERSION_KEY = 'analytics_seq_version';
/** The table's layout; another one found is dropped and built again. */
const VERSION = 4;
const BUILT = 'analytics_seq_built';
const ADDED = 'analytics_seq_added';

/**
 * The compact event sequence reports read instead of m_events and the raw messages (docs/analytics.md, "How it is
 * computed"): one row per resolved event, keyed by the profile's 64-bit hash `pk` (as reports join profiles), with
 * the event's name as a small integer (`nid`, see a_event_names), its place `rn` among its profile's events in
 * (ts, event_id) order, `rn0` the place of the profile's first event at the same millisecond, and the fields
 * attribution reads (copied from a_event_fields). No identifiers.
 *
 * Kept incrementally: only profiles with new events, with fields extracted since, or whose m_events rows changed
 * in place (m_events_changes: merges, recomputes, erasure, data migrations) get their rows recomputed.
 */
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS ${NAMES_TABLE} (nid INTEGER NOT NULL, type VARCHAR, event VARCHAR);
  CREATE TABLE IF NOT EXISTS ${LAST_TABLE} (workspace_id VARCHAR NOT NULL, pk UBIGINT NOT NULL, n INTEGER NOT NULL, last_ts BIGINT);
  CREATE TABLE IF NOT EXISTS ${SEQ_TABLE} (
    workspace_id VARCHAR NOT NULL, pk UBIGINT NOT NULL, ts BIGINT, event_id BIGINT NOT NULL, nid INTEGER NOT NULL, rn INTEGER NOT NULL, rn0 INTEGER NOT NULL,
    utm BOOLEAN NOT NULL, utm_source VARCHAR, utm_medium VARCHAR, utm_campaign VARCHAR,
    channel VARCHAR, campaign VARCHAR, journey VARCHAR, template VARCHAR, revenue DOUBLE)`;

/** A name of a_event_names: the (type, event) pair of m_events (event only for track events). */
export interface EventName {
  nid: number;
  type: string | null;
  event: string | null;
}

const FIELD_COLS = 'f.utm_source, f.utm_medium, f.utm_campaign, f.channel, f.campaign, f.journey, f.template, f.revenue';

/** New (type, event) pairs of the rows of `from` get the next numbers. */
const addNames = (from: string) => `
  INSERT INTO ${NAMES_TABLE}
  SELECT (SELECT COALESCE(max(nid), 0) FROM ${NAMES_TABLE}) + row_number() OVER (ORDER BY type, event), type, event
  FROM (SELECT DISTINCT type, event FROM ${from}) x
  WHERE NOT EXISTS (SELECT 1 FROM ${NAMES_TABLE} n WHERE n.type IS NOT DISTINCT FROM x.type AND n.event IS NOT DISTINCT FROM x.event);`;

/**
 * Rows of `from` (workspace_id, pk, ts, event_id, nid) with their place per profile and their fields; `utm`: the
 * event carries UTM parameters. `sorted` (a full build): in (workspace, name, utm) order, so that a scan for a few
 * names, or for the events with UTM parameters, reads only their row groups (DuckDB skips the others by their
 * min/max); rows added later are appended unsorted, and the table is built again when they reach a quarter of it.
 */
const insertRows = (from: string, sorted = false) => `
  INSERT INTO ${SEQ_TABLE}
  SELECT r.workspace_id, r.pk, r.ts, r.event_id, r.nid, row_number() OVER (PARTITION BY r.workspace_id, r.pk ORDER BY r.ts, r.event_id),
         rank() OVER (PARTITION BY r.workspace_id, r.pk ORDER BY r.ts), COALESCE(f.utm_source, f.utm_medium, f.utm_campaign) IS NOT NULL, ${FIELD_COLS}
  FROM ${from} r LEFT JOIN ${sorted ? FIELDS_TABLE : `(SELECT * FROM ${FIELDS_TABLE} WHERE event_id IN (SELECT event_id FROM ${from}))`} f ON f.event_id = r.event_id${sorted ? '\n  ORDER BY r.workspace_id, r.nid, 8' : ''};`;

const withNid = (raw: string) =>
  `SELECT r.workspace_id, r.pk, r.ts, r.event_id, n.nid FROM ${raw} r JOIN ${NAMES_TABLE} n ON n.type IS NOT DISTINCT FROM r.type AND n.event IS NOT DISTINCT FROM r.event`;

export class EventSequence {
  private ready = false;
  private running: Promise<void> | undefined;

  constructor(private readonly warehouse: SequenceWarehouse) {}

  /**
   * Brings a_event_seq up to m_events (call after the event fields' refresh). One at a time; a caller arriving
   * during one waits for the next, so it sees every change held at its call.
   */
  refresh(): Promise<void> {
    const next = (this.running ?? Promise.resolve()).then(() => this.step());
    this.running = next.catch(() => undefined);
    return next;
  }

  /** The event names, for matching by number. */
  async names(): Promise<EventName[]> {
    const rows = await this.warehouse.query(`SELECT nid, type, event FROM ${NAMES_TABLE}`);
    return rows.map((r) => ({ nid: Number(r.nid), type: (r.type as string | null) ?? null, event: (r.event as string | null) ?? null }));
  }

  private async step(): Promise<void> {
    if (!this.ready) {
      const [v] = await this.warehouse.query(`SELECT value FROM m_meta WHERE key = '${VERSION_KEY}'`);
      if (Number(v?.value) !== VERSION) {
        await this.warehouse.transaction(`DROP TABLE IF EXISTS ${SEQ_TABLE}; DROP TABLE IF EXISTS ${LAST_TABLE}; DELETE FROM m_meta WHERE key = '${UPTO}'; ${SCHEMA}; INSERT OR REPLACE INTO m_meta VALUES ('${VERSION_KEY}', ${VERSION});`);
      } else {
        await this.warehouse.query(SCHEMA);
      }
      this.ready = true;
    }
    const meta = (key: string) => `(SELECT value FROM m_meta WHERE key = '${key}')`;
    // Upper bounds of this refresh, read first; the lower bounds are read again inside the transaction (another
    // instance may have refreshed in between: then the ranges are empty and nothing is done twice).
    const [b] = await this.warehouse.query(`SELECT (SELECT COALESCE(max(event_id), 0) FROM m_events) AS w1, COALESCE(${meta(FIELDS_UPTO)}, 0) AS f1,
      COALESCE(${meta(CHANGED_SEQ)}, 0) AS s1, ${meta(UPTO)} AS w, COALESCE(${meta(FIELDS_SEEN)}, 0) AS fw, COALESCE(${meta(CHANGES_SEEN)}, 0) AS cs,
      COALESCE(${meta(BUILT)}, 0) AS built, COALESCE(${meta(ADDED)}, 0) AS added`);
    const [w1, f1, s1, fw, cs] = [b.w1, b.f1, b.s1, b.fw, b.cs].map(Number);
    const setMeta = `
      INSERT OR REPLACE INTO m_meta VALUES ('${UPTO}', ${w1}), ('${FIELDS_SEEN}', ${f1}), ('${CHANGES_SEEN}', ${s1});
      DELETE FROM m_events_changes WHERE seq <= ${s1};`;
    // First build, or rows appended since the last build reach a quarter of it: every event, sorted.
    if (b.w === null || b.w === undefined || Number(b.added) > Math.max(100_000, Number(b.built) / 4)) {
      await this.warehouse.transaction(`
        DELETE FROM ${SEQ_TABLE};
        CREATE OR REPLACE TEMP TABLE a_raw AS SELECT workspace_id, hash(profile_id) AS pk, ts, event_id, type, event FROM m_events WHERE event_id <= ${w1};
        ${addNames('a_raw')}
        ${insertRows(`(${withNid('a_raw')})`, true)}
        DROP TABLE a_raw;
        DELETE FROM ${LAST_TABLE};
        INSERT INTO ${LAST_TABLE} SELECT workspace_id, pk, count(*), CASE WHEN count(ts) = count(*) THEN max(ts) END FROM ${SEQ_TABLE} GROUP BY workspace_id, pk;
        INSERT OR REPLACE INTO m_meta SELECT '${BUILT}', count(*) FROM ${SEQ_TABLE};
        INSERT OR REPLACE INTO m_meta VALUES ('${ADDED}', 0);
        ${setMeta}`);
      return;
    }
    const w = Number(b.w);
    if (w1 <= w && f1 <= fw && s1 <= cs) return;
    // Numbers only in the text (read above). The bounds read above also stand beside the variables in the filters:
    // constants let DuckDB skip row groups by their min/max (m_events and a_event_fields grow in id order).
    const vars = `
      SET VARIABLE a_w = COALESCE(${meta(UPTO)}, 0);
      SET VARIABLE a_fw = COALESCE(${meta(FIELDS_SEEN)}, 0);
      SET VARIABLE a_cs = COALESCE(${meta(CHANGES_SEEN)}, 0);`;
    const remaps = s1 > cs;
    await this.warehouse.transaction(`
      ${vars}
      -- Profiles whose rows changed in place: all their rows are read again from m_events.
      CREATE OR REPLACE TEMP TABLE a_remap AS
        SELECT DISTINCT workspace_id, hash(profile_id) AS pk FROM m_events_changes WHERE seq > getvariable('a_cs') AND seq <= ${s1};
      -- New events of the profiles not remapped.
      CREATE OR REPLACE TEMP TABLE a_fresh AS
        SELECT m.workspace_id, hash(m.profile_id) AS pk, m.ts, m.event_id, m.type, m.event FROM m_events m
        WHERE m.event_id > ${w} AND m.event_id > getvariable('a_w') AND m.event_id <= ${w1}
          AND NOT EXISTS (SELECT 1 FROM a_remap c WHERE c.workspace_id = m.workspace_id AND c.pk = hash(m.profile_id));
      ${addNames('a_fresh')}
      -- Profiles with fields extracted since their rows were written (their events reached the mirror first).
      CREATE OR REPLACE TEMP TABLE a_late AS
        SELECT DISTINCT m.workspace_id, hash(m.profile_id) AS pk FROM ${FIELDS_TABLE} f JOIN m_events m ON m.event_id = f.event_id
        WHERE f.event_id > ${fw} AND f.event_id > getvariable('a_fw') AND f.event_id <= ${f1} AND m.event_id <= getvariable('a_w')
          AND m.event_id > ${fw} AND m.event_id <= ${f1};
      -- A profile whose new events all come after its last one (the usual case) gets them appended, places
      -- continuing from its count, and any other (an earlier time, a time missing, late fields) is renumbered whole.
      CREATE OR REPLACE TEMP TABLE a_new AS
        SELECT x.workspace_id, x.pk, COALESCE(l.n, 0) AS n0,
               COALESCE(l.pk IS NULL OR (x.first_ts > l.last_ts AND x.timeless = 0), FALSE)
                 AND NOT EXISTS (SELECT 1 FROM a_late t WHERE t.workspace_id = x.workspace_id AND t.pk = x.pk) AS append
        FROM (SELECT workspace_id, pk, min(ts) AS first_ts, count(*) - count(ts) AS timeless FROM a_fresh GROUP BY workspace_id, pk) x
        LEFT JOIN ${LAST_TABLE} l ON l.workspace_id = x.workspace_id AND l.pk = x.pk
        UNION ALL
        SELECT t.workspace_id, t.pk, 0, FALSE FROM a_late t
        WHERE NOT EXISTS (SELECT 1 FROM a_fresh x WHERE x.workspace_id = t.workspace_id AND x.pk = t.pk)
          AND NOT EXISTS (SELECT 1 FROM a_remap r WHERE r.workspace_id = t.workspace_id AND r.pk = t.pk);
      INSERT INTO ${SEQ_TABLE}
        SELECT r.workspace_id, r.pk, r.ts, r.event_id, r.nid,
               c.n0 + row_number() OVER (PARTITION BY r.workspace_id, r.pk ORDER BY r.ts, r.event_id), c.n0 + rank() OVER (PARTITION BY r.workspace_id, r.pk ORDER BY r.ts),
               COALESCE(f.utm_source, f.utm_medium, f.utm_campaign) IS NOT NULL, ${FIELD_COLS}
        FROM (${withNid('a_fresh')}) r JOIN a_new c ON c.workspace_id = r.workspace_id AND c.pk = r.pk AND c.append
        LEFT JOIN (SELECT * FROM ${FIELDS_TABLE} WHERE event_id > ${w} AND event_id <= ${w1}) f ON f.event_id = r.event_id;
      -- Renumbered and remapped profiles: all their rows again.
      CREATE OR REPLACE TEMP TABLE a_redo AS SELECT workspace_id, pk FROM a_new WHERE NOT append UNION ALL SELECT workspace_id, pk FROM a_remap;
      CREATE OR REPLACE TEMP TABLE a_raw AS
        SELECT r.* FROM a_fresh r SEMI JOIN a_redo c ON c.pk = r.pk AND c.workspace_id = r.workspace_id
        ${remaps ? `UNION ALL
        SELECT m.workspace_id, hash(m.profile_id), m.ts, m.event_id, m.type, m.event FROM m_events m
        WHERE m.event_id <= ${w1} AND EXISTS (SELECT 1 FROM a_remap c WHERE c.workspace_id = m.workspace_id AND c.pk = hash(m.profile_id))` : ''};
      ${addNames('a_raw')}
      CREATE OR REPLACE TEMP TABLE a_rows AS
        ${withNid('a_raw')}
        UNION ALL
        -- (The table holds events up to a_w only, and a remapped profile's rows are all read from m_events.)
        SELECT s.workspace_id, s.pk, s.ts, s.event_id, s.nid FROM ${SEQ_TABLE} s
        SEMI JOIN (SELECT workspace_id, pk FROM a_new WHERE NOT append) c ON c.pk = s.pk AND c.workspace_id = s.workspace_id;
      DELETE FROM ${SEQ_TABLE} s WHERE EXISTS (SELECT 1 FROM a_redo c WHERE c.workspace_id = s.workspace_id AND c.pk = s.pk);
      ${insertRows('a_rows')}
      -- The per-profile counts and last times of every profile touched.
      DELETE FROM ${LAST_TABLE} l WHERE EXISTS (SELECT 1 FROM (SELECT workspace_id, pk FROM a_new UNION ALL SELECT workspace_id, pk FROM a_remap) c WHERE c.workspace_id = l.workspace_id AND c.pk = l.pk);
      INSERT INTO ${LAST_TABLE}
        SELECT x.workspace_id, x.pk, c.n0 + count(*), max(x.ts) FROM a_fresh x JOIN a_new c ON c.workspace_id = x.workspace_id AND c.pk = x.pk AND c.append GROUP BY x.workspace_id, x.pk, c.n0
        UNION ALL
        SELECT workspace_id, pk, count(*), CASE WHEN count(ts) = count(*) THEN max(ts) END FROM a_rows GROUP BY workspace_id, pk;
      INSERT OR REPLACE INTO m_meta SELECT '${ADDED}', COALESCE(${meta(ADDED)}, 0) + (SELECT count(*) FROM a_fresh) + (SELECT count(*) FROM a_rows);
      DROP TABLE a_raw; DROP TABLE a_rows; DROP TABLE a_new; DROP TABLE a_remap; DROP TABLE a_fresh; DROP TABLE a_late; DROP TABLE a_redo;
      INSERT OR REPLACE INTO m_meta VALUES ('${UPTO}', GREATEST(getvariable('a_w'), ${w1})), ('${FIELDS_SEEN}', GREATEST(getvariable('a_fw'), ${f1})), ('${CHANGES_SEEN}', GREATEST(getvariable('a_cs'), ${s1}));
      DELETE FROM m_events_changes WHERE seq <= ${s1};`);
  }
}
