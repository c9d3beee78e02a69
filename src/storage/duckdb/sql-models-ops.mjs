// SQL models (src/transforms/sql-models.ts) on the warehouse thread: the checks of a model's SELECT (DuckDB's own
// parser, json_serialize_sql), its materialisation into the `sqlm` schema (full or incremental by event id), and
// previews. Plain JavaScript like warehouse-worker.mjs, which registers these ops. Every statement runs on this
// module's own connection with a timer that interrupts it (the statement timeout).
import Database from 'better-sqlite3';

/** Names a model's SELECT may read besides other models and its own CTEs: workspace-scoped views (prelude below). */
export const VIEW_NAMES = ['events', 'profiles', 'identifiers', 'memberships', 'catalogs'];
/** Table functions that read no file and no other table. */
const TABLE_FUNCTIONS = new Set(['unnest', 'generate_series', 'range']);

const literal = (s) => `'${String(s).replaceAll("'", "''")}'`;
const ident = (s) => `"${String(s).replaceAll('"', '""')}"`;
const tableOf = (ws, key) => `sqlm.${ident(`${ws}__${key}`)}`;

/** Line and column (1-based) of a character offset in `sql`. */
function lineColumn(sql, offset) {
  const before = sql.slice(0, offset).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

class SqlModelError extends Error {
  constructor(code, message, position) {
    super(message);
    this.code = code;
    this.position = position;
  }
}

const jsValue = (v) => {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : String(v);
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(jsValue);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsValue(x)]));
  return v;
};
const rowsOf = (reader) => reader.getRowObjectsJS().map(jsValue);

export function createSqlModelOps({ getInstance, storeFile }) {
  let conn;
  let connOf;
  let store;
  const connection = async () => {
    const instance = getInstance();
    if (!conn || connOf !== instance) {
      conn = await instance.connect();
      connOf = instance;
      await conn.run('CREATE SCHEMA IF NOT EXISTS sqlm; CREATE TABLE IF NOT EXISTS sqlm.watermarks (workspace_id VARCHAR, key VARCHAR, high BIGINT, version INTEGER, PRIMARY KEY (workspace_id, key))');
    }
    return conn;
  };

  /** Runs `fn` with the statement timeout: the connection is interrupted when it passes. */
  async function timed(c, timeoutMs, fn) {
    const timer = setTimeout(() => c.interrupt(), timeoutMs);
    try {
      return await fn();
    } catch (error) {
      const message = String(error?.message ?? error);
      if (/interrupt/i.test(message)) throw new SqlModelError('statement_timeout', `the query ran longer than its statement timeout of ${timeoutMs} ms and was stopped`);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Parses a model's SELECT and refuses anything but one SELECT over the allowed names: no schema-qualified name,
   * no file or table function, no CTE that shadows a real table. Returns the names it reads (its dependencies).
   */
  async function check(sql, allowed) {
    const c = await connection();
    const body = sql.replace(/;\s*$/, '');
    const json = (await c.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR) AS j', [body])).getRowObjectsJS()[0].j;
    const ast = JSON.parse(String(json));
    if (ast.error) {
      const position = ast.position !== undefined ? lineColumn(body, Number(ast.position)) : undefined;
      if (/Only SELECT/i.test(ast.error_message)) throw new SqlModelError('not_select', 'only one SELECT statement is allowed (models and previews are read-only)');
      throw new SqlModelError('sql_syntax', ast.error_message + (position ? ` at line ${position.line}, column ${position.column}` : ''), position);
    }
    if (ast.statements.length !== 1) throw new SqlModelError('not_select', 'write exactly one SELECT statement');
    const real = new Set(rowsOf(await c.runAndReadAll('SELECT lower(table_name) AS n FROM duckdb_tables() UNION SELECT lower(view_name) FROM duckdb_views()')).map((r) => r.n));
    const ctes = new Set();
    const refs = [];
    const walk = (node) => {
      if (Array.isArray(node)) return node.forEach(walk);
      if (node === null || typeof node !== 'object') return;
      if (node.cte_map?.map) for (const m of node.cte_map.map) ctes.add(String(m.key).toLowerCase());
      if (node.type === 'BASE_TABLE') refs.push(node);
      if (node.type === 'TABLE_FUNCTION') {
        const name = String(node.function?.function_name ?? '').toLowerCase();
        if (!TABLE_FUNCTIONS.has(name)) throw new SqlModelError('not_allowed', `table function ${name}() is not allowed here${at(node)}`, pos(node));
      }
      for (const v of Object.values(node)) walk(v);
    };
    const pos = (node) => (node.query_location !== undefined && node.query_location < body.length ? lineColumn(body, node.query_location) : undefined);
    const at = (node) => {
      const p = pos(node);
      return p ? ` (line ${p.line}, column ${p.column})` : '';
    };
    walk(ast.statements[0]);
    for (const name of ctes) if (real.has(name) && !allowed.includes(name)) throw new SqlModelError('not_allowed', `a CTE may not be named ${name}: the name is taken`);
    const reads = new Set();
    for (const ref of refs) {
      const name = String(ref.table_name).toLowerCase();
      if (ref.schema_name || ref.catalog_name) throw new SqlModelError('not_allowed', `${ref.schema_name || ref.catalog_name}.${ref.table_name}: only the workspace views (${VIEW_NAMES.join(', ')}) and models may be read, unqualified${at(ref)}`, pos(ref));
      if (ctes.has(name)) continue;
      if (!allowed.includes(name)) throw new SqlModelError('unknown_relation', `${ref.table_name} is not a view or model of this workspace; read ${VIEW_NAMES.join(', ')} or a model${at(ref)}`, pos(ref));
      reads.add(name);
    }
    return { sql: body, reads: [...reads] };
  }

  /** The workspace's highest event id that the mirror has mapped to a profile (events above it wait for the next run). */
  async function highWatermark(c, ws) {
    const r = rowsOf(await c.runAndReadAll(
      "SELECT LEAST((SELECT COALESCE(MAX(id), 0) FROM main.events WHERE workspace_id = $1), COALESCE((SELECT value FROM main.m_meta WHERE key = 'mapped'), 0)) AS high",
      [ws],
    ))[0];
    return Number(r.high);
  }

  /** One line of CTEs (so that DuckDB's LINE n of an error is the model's line n + 1) and the model's SELECT under it. */
  async function wrapped(c, m, reads, window) {
    const ws = literal(m.workspaceId);
    const parts = [];
    if (reads.includes('events')) {
      parts.push(`events AS (SELECT e.id AS event_id, e.message_id, e.source_id, e.type, e.event, e.user_id, e.anonymous_id, me.profile_id, e.timestamp_ms AS ts, make_timestamp(e.timestamp_ms * 1000) AS "timestamp", json_extract(e.message, '$.properties') AS properties, json_extract(e.message, '$.traits') AS traits, json_extract(e.message, '$.context') AS context FROM main.events e LEFT JOIN main.m_events me ON me.event_id = e.id WHERE e.workspace_id = ${ws} AND e.id > ${Number(window.low)} AND e.id <= ${Number(window.high)})`);
    }
    if (reads.includes('profiles')) parts.push(`profiles AS (SELECT profile_id, traits, computed FROM main.m_profiles WHERE workspace_id = ${ws})`);
    if (reads.includes('identifiers')) parts.push(`identifiers AS (SELECT profile_id, type, value FROM main.m_identifiers WHERE workspace_id = ${ws})`);
    if (reads.includes('memberships')) parts.push(`memberships AS (SELECT profile_id, audience FROM main.m_memberships WHERE workspace_id = ${ws})`);
    if (reads.includes('catalogs')) {
      store ??= new Database(storeFile, { readonly: true, fileMustExist: true });
      const rows = store.prepare('SELECT catalog, key, row FROM catalog_rows WHERE workspace_id = ?').raw().all(m.workspaceId);
      await c.run('CREATE OR REPLACE TEMP TABLE sqlm_catalog_rows (catalog VARCHAR, key VARCHAR, "row" JSON)');
      const appender = await c.createAppender('sqlm_catalog_rows', 'main', 'temp');
      for (const r of rows) {
        appender.appendVarchar(r[0]);
        appender.appendVarchar(r[1]);
        appender.appendVarchar(r[2]);
        appender.endRow();
      }
      appender.closeSync();
      parts.push('catalogs AS (SELECT catalog, key, "row" FROM temp.sqlm_catalog_rows)');
    }
    for (const [key, table] of Object.entries(m.models ?? {})) if (reads.includes(key)) parts.push(`${ident(key)} AS (SELECT * FROM ${tableOf(table.workspaceId, table.key)})`);
    return `${parts.length ? `WITH ${parts.join(', ')} ` : ''}SELECT * FROM (\n${m.checked}\n) AS model`;
  }

  /** DuckDB's "LINE n:" counts the prelude line: shift it back to the model's own lines. */
  function explain(error) {
    if (error instanceof SqlModelError) return error;
    const message = String(error?.message ?? error).replace(/LINE (\d+):/g, (_, n) => `LINE ${Math.max(1, Number(n) - 1)}:`);
    const line = /LINE (\d+):/.exec(message);
    return new SqlModelError('sql_error', message, line ? { line: Number(line[1]) } : undefined);
  }

  const guard = (fn) => async (m) => {
    try {
      return await fn(m);
    } catch (error) {
      const e = explain(error);
      return { error: { code: e.code, message: e.message, ...(e.position ? { position: e.position } : {}) } };
    }
  };

  return {
    sqlModelCheck: guard(async (m) => ({ reads: (await check(m.sql, m.allowed)).reads })),

    sqlModelPreview: guard(async (m) => {
      const c = await connection();
      const checked = await check(m.sql, m.allowed);
      const high = await highWatermark(c, m.workspaceId);
      const sql = await wrapped(c, { ...m, checked: checked.sql }, checked.reads, { low: 0, high });
      return timed(c, m.timeoutMs, async () => {
        const reader = await c.runAndReadAll(`SELECT * FROM (${sql}) LIMIT ${Number(m.limit) + 1}`);
        const rows = rowsOf(reader);
        return { columns: reader.columnNames(), rows: rows.slice(0, m.limit), truncated: rows.length > m.limit, reads: checked.reads };
      });
    }),

    /** Materialises one model: `full` rebuilds it; otherwise new events only (event id above its watermark). */
    sqlModelRun: guard(async (m) => {
      const c = await connection();
      const checked = await check(m.sql, m.allowed);
      const high = await highWatermark(c, m.workspaceId);
      const table = tableOf(m.workspaceId, m.key);
      const mark = rowsOf(await c.runAndReadAll('SELECT high, version FROM sqlm.watermarks WHERE workspace_id = $1 AND key = $2', [m.workspaceId, m.key]))[0];
      const exists = rowsOf(await c.runAndReadAll("SELECT count(*) AS n FROM duckdb_tables() WHERE schema_name = 'sqlm' AND table_name = $1", [`${m.workspaceId}__${m.key}`]))[0].n > 0;
      const incremental = m.mode === 'incremental' && exists && mark !== undefined && mark.version === m.version;
      const low = incremental ? Number(mark.high) : 0;
      const sql = await wrapped(c, { ...m, checked: checked.sql }, checked.reads, { low, high });
      await c.run('BEGIN TRANSACTION');
      try {
        let added;
        await timed(c, m.timeoutMs, async () => {
          if (!incremental) {
            await c.run(`CREATE OR REPLACE TABLE ${table} AS ${sql}`);
            added = rowsOf(await c.runAndReadAll(`SELECT count(*) AS n FROM ${table}`))[0].n;
          } else {
            await c.run(`CREATE OR REPLACE TEMP TABLE sqlm_fresh AS ${sql}`);
            added = rowsOf(await c.runAndReadAll('SELECT count(*) AS n FROM temp.sqlm_fresh'))[0].n;
            if (m.uniqueKey?.length) {
              const same = m.uniqueKey.map((k) => `t.${ident(k)} IS NOT DISTINCT FROM f.${ident(k)}`).join(' AND ');
              await c.run(`DELETE FROM ${table} AS t USING temp.sqlm_fresh AS f WHERE ${same}`);
            }
            await c.run(`INSERT INTO ${table} BY NAME SELECT * FROM temp.sqlm_fresh`);
            await c.run('DROP TABLE temp.sqlm_fresh');
          }
        });
        await c.run('INSERT OR REPLACE INTO sqlm.watermarks VALUES ($1, $2, $3, $4)', [m.workspaceId, m.key, high, m.version]);
        const rows = rowsOf(await c.runAndReadAll(`SELECT count(*) AS n FROM ${table}`))[0].n;
        await c.run('COMMIT');
        return { mode: incremental ? 'incremental' : 'full', low, high, added, rows, reads: checked.reads };
      } catch (error) {
        await c.run('ROLLBACK');
        throw error;
      }
    }),

    /** A model's rows (for its output trait or catalog, and GET .../rows), ordered by the given columns. */
    sqlModelRows: guard(async (m) => {
      const c = await connection();
      const order = m.orderBy?.length ? ` ORDER BY ${m.orderBy.map(ident).join(', ')}` : '';
      const limit = m.limit !== undefined ? ` LIMIT ${Number(m.limit)} OFFSET ${Number(m.offset ?? 0)}` : '';
      const reader = await c.runAndReadAll(`SELECT * FROM ${tableOf(m.workspaceId, m.key)}${order}${limit}`);
      return { columns: reader.columnNames(), rows: rowsOf(reader) };
    }),

    sqlModelDrop: guard(async (m) => {
      const c = await connection();
      await c.run(`DROP TABLE IF EXISTS ${tableOf(m.workspaceId, m.key)}`);
      await c.run('DELETE FROM sqlm.watermarks WHERE workspace_id = $1 AND key = $2', [m.workspaceId, m.key]);
      return {};
    }),

    /** Closes the connection (before the instance closes: compaction, shutdown); the next op opens another. */
    close() {
      store?.close();
      store = undefined;
      conn?.closeSync();
      conn = undefined;
    },
  };
}
