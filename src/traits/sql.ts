import type { SqlValue } from '../core/ports/warehouse.js';
import { compileComparison, readComparison } from '../conditions/comparison.js';
import type { SqlContext } from '../conditions/node-kind.js';
import type { CompiledQuery } from '../conditions/sql/compiler.js';
import type { SqlDialect, SqlParamType } from '../conditions/sql/dialect.js';
import { pathSegments } from '../conditions/values.js';
import { computeOf, isSqlTrait, windowOf, type EventTraitDefinition, type SqlTraitDefinition, type TraitDefinition } from './definition.js';
import type { CompileTraitQuery } from './evaluator.js';

/**
 * Event traits compiled to SQL over c_events / c_profiles (conditions/model.ts), "as of T" over the full history.
 *
 * Result: one row per c_profiles row, ordered by profile_id, with each trait's value as JSON text such that
 * JSON.parse gives the streaming value, or SQL NULL where the streaming value is null (count and unique_count are
 * 0, never NULL). T and every user value (event names, filter operands, paths, windows, limits, units) are
 * parameters.
 *
 * Shape: one pass over c_events up to T (`base`: a match flag per trait, each property read once per path; `vals`:
 * each property split into rank / number / text / JSON text), one GROUP BY profile_id with a FILTER clause per
 * trait for count, sum, avg, min, max, first, last, unique_count, since_first and since_last, and, for each
 * most_frequent or unique trait, one more GROUP BY over `vals` per (profile, value).
 *
 * Value order (ties, unique, the cap): rank (number 0, string 1, boolean 2), then the number (booleans as 0 / 1),
 * then the text by code point, as values.ts compareScalars.
 *
 * Numbers: sums and averages are the engine's floating-point sums, which depend on the order of addition; the
 * streaming side sums exactly (values.ts). They are equal whenever the sum is exact in floating point (integers,
 * halves, ...) and otherwise agree to about 1e-15 relative; the agreement test compares them with a 1e-9 tolerance.
 */
export interface CompiledTraitsQuery extends CompiledQuery {
  /** The column of each trait's value, in the order of the definitions. */
  columns: { key: string; column: string }[];
}

/** Several event traits in one pass over c_events: columns profile_id, value_0, value_1, ... (see `columns`). */
export function compileAllTraitsQuery(defs: readonly EventTraitDefinition[], dialect: SqlDialect, asOf: number): CompiledTraitsQuery {
  return build(defs, dialect, asOf, (i) => `value_${i}`);
}

/** One trait: columns profile_id, value. An SQL trait compiles to its wrapped query (it reads the views as they are; asOf does not apply). */
export const compileTraitQuery: CompileTraitQuery<TraitDefinition> = (def, dialect, asOf) => {
  if (isSqlTrait(def)) return compileSqlTraitQuery(def, dialect);
  const { sql, params } = build([def], dialect, asOf, () => 'value');
  return { sql, params };
};

/**
 * An SQL trait's query, wrapped: profile_id as text and value as JSON text (NULL stays NULL). The wrapping as a
 * subquery is one of the read-only barriers (no engine accepts a write there); run it in a read-only transaction
 * (PostgreSQL) or on a read-only connection with external access disabled (DuckDB).
 */
export function compileSqlTraitQuery(def: SqlTraitDefinition, dialect: SqlDialect): CompiledQuery {
  const body = def.sql.trim().replace(/;\s*$/, '');
  return { sql: `SELECT CAST(t.profile_id AS VARCHAR) AS profile_id, ${dialect.toJsonText('t.value')} AS value FROM (\n${body}\n) t ORDER BY 1`, params: [] };
}

function build(defs: readonly EventTraitDefinition[], dialect: SqlDialect, asOf: number, column: (i: number) => string): CompiledTraitsQuery {
  const d = dialect;
  const params: SqlValue[] = [];
  const param = (value: SqlValue, type: SqlParamType): string => {
    params.push(value);
    return d.placeholder(params.length, type);
  };
  let asOfPlaceholder: string | undefined;
  const T = () => (asOfPlaceholder ??= param(asOf, 'bigint'));
  const ctx: SqlContext = {
    dialect: d,
    param,
    get asOf() {
      return T();
    },
    profile: 'p',
    alias: (prefix) => prefix,
    compile: () => {
      throw new Error('traits compile no nested conditions');
    },
  };

  const paths = new Map<string, number>();
  const pathIndex = (path: string): number => {
    if (!paths.has(path)) paths.set(path, paths.size);
    return paths.get(path)!;
  };
  const keyed = new Set<number>();
  const computed = new Set<number>();
  const eventParams = new Map<string, string>();
  const eventParam = (name: string): string => {
    if (!eventParams.has(name)) eventParams.set(name, param(name, 'text'));
    return eventParams.get(name)!;
  };

  const base: string[] = ['profile_id', 'ts'];
  const aggregates: string[] = [];
  const extra: string[] = [];
  const joins: string[] = [];
  const outputs: string[] = [];
  const matchNames: string[] = [];

  defs.forEach((def, i) => {
    const c = computeOf(def);
    const terms = [def.event === undefined ? `type = 'track'` : `event = ${eventParam(def.event)}`];
    for (const filter of def.where ?? []) terms.push(compileComparison(`j_${pathIndex(filter.property)}`, readComparison(filter), ctx));
    const window = windowOf(def);
    if (window !== undefined) terms.push(`ts > ${T()} - ${param(window, 'bigint')}`);
    const m = `m_${i}`;
    base.push(`COALESCE(${terms.join(' AND ')}, FALSE) AS ${m}`);
    matchNames.push(m);

    const k = c.property === undefined ? -1 : pathIndex(c.property);
    if (k >= 0) computed.add(k);
    const [r, n, s, t] = [`r_${k}`, `n_${k}`, `s_${k}`, `t_${k}`];
    const a = `a.a_${i}`;
    const out = column(i);
    const agg = (sql: string) => aggregates.push(`${sql} AS a_${i}`);
    const text = (sql: string) => `CAST(${sql} AS VARCHAR)`;
    switch (c.kind) {
      case 'count':
        agg(`COUNT(*) FILTER (WHERE ${m})`);
        outputs.push(`${text(`COALESCE(${a}, 0)`)} AS ${out}`);
        break;
      case 'sum':
      case 'min':
      case 'max':
        agg(`${c.kind.toUpperCase()}(${n}) FILTER (WHERE ${m} AND ${r} = 0)`);
        outputs.push(`${text(a)} AS ${out}`);
        break;
      case 'avg':
        agg(`SUM(${n}) FILTER (WHERE ${m} AND ${r} = 0) / COUNT(*) FILTER (WHERE ${m} AND ${r} = 0)`);
        outputs.push(`${text(a)} AS ${out}`);
        break;
      case 'first':
      case 'last':
        agg(d.argExtreme(c.kind === 'first' ? 'min' : 'max', t, ['ts', r, `COALESCE(${n}, 0)`, d.textOrder(`COALESCE(${s}, '')`)], `${m} AND ${r} IS NOT NULL`));
        outputs.push(`${a} AS ${out}`);
        break;
      case 'since_first':
      case 'since_last':
        agg(`${c.kind === 'since_first' ? 'MIN' : 'MAX'}(ts) FILTER (WHERE ${m})`);
        outputs.push(`${text(`CAST(FLOOR((${T()} - ${a}) / ${param(c.unit, 'double')}) AS BIGINT)`)} AS ${out}`);
        break;
      case 'unique_count':
        keyed.add(k);
        agg(`COUNT(DISTINCT key_${k}) FILTER (WHERE ${m})`);
        outputs.push(`${text(`LEAST(COALESCE(${a}, 0), ${param(c.limit, 'bigint')})`)} AS ${out}`);
        break;
      case 'most_frequent':
      case 'unique': {
        const limit = param(c.limit, 'bigint');
        extra.push(
          `g_${i} AS (SELECT profile_id, ${r} AS r, ${n} AS n, ${s} AS s, MIN(${t}) AS t, COUNT(*) AS c FROM vals WHERE ${m} AND ${r} IS NOT NULL GROUP BY profile_id, ${r}, ${n}, ${s})`,
          `o_${i} AS (SELECT profile_id, t, c, ROW_NUMBER() OVER (PARTITION BY profile_id ORDER BY r, n, ${d.textOrder('s')}) AS rn FROM g_${i})`,
          c.kind === 'unique'
            ? `x_${i} AS (SELECT profile_id, '[' || string_agg(t, ',' ORDER BY rn) || ']' AS v FROM o_${i} WHERE rn <= ${limit} GROUP BY profile_id)`
            : `x_${i} AS (SELECT profile_id, t AS v FROM (SELECT profile_id, t, ROW_NUMBER() OVER (PARTITION BY profile_id ORDER BY c DESC, rn) AS rf FROM o_${i} WHERE rn <= ${limit}) z WHERE rf = 1)`,
        );
        joins.push(`LEFT JOIN x_${i} ON x_${i}.profile_id = p.profile_id`);
        outputs.push(`x_${i}.v AS ${out}`);
        break;
      }
    }
  });

  // Each property is read from the JSON once per event (one parameter per distinct path), then split.
  const raw: string[] = ['e.profile_id AS profile_id', 'e.ts AS ts', 'e.type AS type', 'e.event AS event'];
  const vals: string[] = ['profile_id', 'ts', ...matchNames];
  for (const [path, k] of paths) {
    raw.push(`${d.jsonGet('e.properties', param(d.jsonPathParam(pathSegments(path)), d.jsonPathType))} AS j_${k}`);
    if (!computed.has(k)) continue;
    // The value's JSON type is computed once per event (y_k) and tested from there.
    base.push(`j_${k}`, `${d.jsonType(`j_${k}`)} AS y_${k}`);
    const j = `j_${k}`;
    const y = `y_${k}`;
    const rank = `(CASE WHEN ${d.typeIsKind(y, 'number')} THEN 0 WHEN ${d.typeIsKind(y, 'string')} THEN 1 WHEN ${d.typeIsKind(y, 'boolean')} THEN 2 END)`;
    // + 0.0 turns -0 into 0, as the streaming side reads it.
    const num = `(CASE WHEN ${d.typeIsKind(y, 'number')} THEN ${d.jsonNumber(j)} + 0.0 WHEN ${d.typeIsKind(y, 'boolean')} THEN (CASE WHEN ${d.jsonBoolean(j)} THEN 1.0 ELSE 0.0 END) END)`;
    vals.push(`${rank} AS r_${k}`, `${num} AS n_${k}`, `${d.jsonText(j)} AS s_${k}`, `CAST(${j} AS VARCHAR) AS t_${k}`);
    if (keyed.has(k)) {
      // An injective text per value for COUNT(DISTINCT): the engines print doubles in their shortest exact form.
      vals.push(
        `(CASE ${rank} WHEN 0 THEN 'n' || CAST(${num} AS VARCHAR) WHEN 1 THEN 's' || ${d.jsonText(j)} WHEN 2 THEN 'b' || CAST(${num} AS VARCHAR) END) AS key_${k}`,
      );
    }
  }

  const ctes = [
    `raw AS (SELECT ${raw.join(', ')} FROM c_events e WHERE e.ts <= ${T()})`,
    `base AS (SELECT ${base.join(', ')} FROM raw)`,
    `vals AS (SELECT ${vals.join(', ')} FROM base WHERE ${matchNames.join(' OR ') || 'FALSE'})`,
    `agg AS (SELECT ${['profile_id', ...aggregates].join(', ')} FROM vals GROUP BY profile_id)`,
    ...extra,
  ];
  const sql =
    `WITH ${ctes.join(',\n')}\n` +
    `SELECT p.profile_id AS profile_id, ${outputs.join(', ')} FROM c_profiles p LEFT JOIN agg a ON a.profile_id = p.profile_id ${joins.join(' ')} ORDER BY p.profile_id`;
  return { sql, params, columns: defs.map((def, i) => ({ key: def.key, column: column(i) })) };
}
