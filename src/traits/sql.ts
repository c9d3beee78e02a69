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
 * Shape: one pass over c_events up to T (`raw`: every property path read in one parse of the properties where the
 * dialect can; `base`: one match flag per distinct selection of events, shared by the traits that make it; `vals`:
 * each property split into only what its traits need: the number alone (q) for sum / avg / min / max, rank / number
 * / text / JSON text for the others), one GROUP BY profile_id with a FILTER clause per trait for every kind but
 * most_frequent, and, for each most_frequent trait (and unique, where the dialect has no value-set aggregate), one
 * more GROUP BY over `vals` per (profile, value).
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
  // What each property path must be split into: its number only (sum, avg, min, max) or its typed parts.
  const numeric = new Set<number>();
  const typed = new Set<number>();
  const eventParams = new Map<string, string>();
  const eventParam = (name: string): string => {
    if (!eventParams.has(name)) eventParams.set(name, param(name, 'text'));
    return eventParams.get(name)!;
  };
  // Traits that select the same events (same name, filters and window) share one match flag.
  const flags = new Map<string, string>();
  const flagTerms: string[] = [];

  const aggregates: string[] = [];
  const extra: string[] = [];
  const joins: string[] = [];
  const outputs: string[] = [];

  defs.forEach((def, i) => {
    const c = computeOf(def);
    const window = windowOf(def);
    const selects = JSON.stringify([def.event ?? null, def.where ?? [], window ?? null]);
    if (!flags.has(selects)) {
      const terms = [def.event === undefined ? `type = 'track'` : `event = ${eventParam(def.event)}`];
      for (const filter of def.where ?? []) terms.push(compileComparison(`j_${pathIndex(filter.property)}`, readComparison(filter), ctx));
      if (window !== undefined) terms.push(`ts > ${T()} - ${param(window, 'bigint')}`);
      flags.set(selects, `m_${flags.size}`);
      flagTerms.push(`COALESCE(${terms.join(' AND ')}, FALSE) AS m_${flags.size - 1}`);
    }
    const m = flags.get(selects)!;

    const k = c.property === undefined ? -1 : pathIndex(c.property);
    const numberOnly = c.kind === 'sum' || c.kind === 'avg' || c.kind === 'min' || c.kind === 'max';
    if (k >= 0) (numberOnly ? numeric : typed).add(k);
    const [q, r, n, s, t] = [`q_${k}`, `r_${k}`, `n_${k}`, `s_${k}`, `t_${k}`];
    const a = `a.a_${i}`;
    const out = column(i);
    const agg = (sql: string) => aggregates.push(`${sql} AS a_${i}`);
    const text = (sql: string) => `CAST(${sql} AS VARCHAR)`;
    switch (c.kind) {
      case 'count':
        agg(`COUNT(*) FILTER (WHERE ${m})`);
        outputs.push(`${text(`COALESCE(${a}, 0)`)} AS ${out}`);
        break;
      // Non-numbers contribute nothing (values.ts contributionOf): q is NULL for them, which the aggregates skip.
      case 'sum':
      case 'min':
      case 'max':
        agg(`${c.kind.toUpperCase()}(${q}) FILTER (WHERE ${m})`);
        outputs.push(`${text(a)} AS ${out}`);
        break;
      case 'avg':
        agg(`SUM(${q}) FILTER (WHERE ${m}) / COUNT(${q}) FILTER (WHERE ${m})`);
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
        // Distinct numbers, strings and booleans counted apart (a number and a string never collide), no key text.
        agg(`COUNT(DISTINCT ${n}) FILTER (WHERE ${m} AND ${r} = 0) + COUNT(DISTINCT ${s}) FILTER (WHERE ${m}) + COUNT(DISTINCT ${n}) FILTER (WHERE ${m} AND ${r} = 2)`);
        outputs.push(`${text(`LEAST(COALESCE(${a}, 0), ${param(c.limit, 'bigint')})`)} AS ${out}`);
        break;
      case 'unique':
        if (d.valueSetAggregate && d.valueSetJson) {
          agg(d.valueSetAggregate(r, n, s, `${m} AND ${r} IS NOT NULL`));
          outputs.push(`${d.valueSetJson(a, param(c.limit, 'bigint'))} AS ${out}`);
          break;
        }
      // falls through: without a value-set aggregate, unique is computed as most_frequent is, per (profile, value)
      case 'most_frequent': {
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

  // Each property is read from the JSON once per event (one parameter per distinct path; one parse of the whole
  // document where the dialect can), then split into only the parts the traits over it need.
  const pathPlaceholders = [...paths.keys()].map((path) => param(d.jsonPathParam(pathSegments(path)), d.jsonPathType));
  const many = d.jsonGetMany && pathPlaceholders.length > 1 ? d.jsonGetMany('e.properties', pathPlaceholders, 'js') : undefined;
  const raw: string[] = ['e.profile_id AS profile_id', 'e.ts AS ts', 'e.type AS type', 'e.event AS event', ...(many?.columns ?? [])];
  const items: string[] = ['profile_id', 'ts', 'type', 'event'];
  const base: string[] = ['profile_id', 'ts', ...flagTerms];
  const vals: string[] = ['profile_id', 'ts', ...[...flags.values()]];
  for (const [, k] of paths) {
    if (many) items.push(`${many.items[k]} AS j_${k}`);
    else raw.push(`${d.jsonGet('e.properties', pathPlaceholders[k])} AS j_${k}`);
    if (!numeric.has(k) && !typed.has(k)) continue;
    const j = `j_${k}`;
    // + 0.0 turns -0 into 0, as the streaming side reads it. NULL for every value that is not a number.
    base.push(`(${d.jsonNumber(j)} + 0.0) AS q_${k}`);
    if (numeric.has(k)) vals.push(`q_${k}`);
    if (!typed.has(k)) continue;
    // The value's JSON type is computed once per event (y_k) and tested from there.
    const y = `y_${k}`;
    base.push(j, `${d.jsonType(j)} AS ${y}`);
    vals.push(
      `(CASE WHEN q_${k} IS NOT NULL THEN 0 WHEN ${d.typeIsKind(y, 'string')} THEN 1 WHEN ${d.typeIsKind(y, 'boolean')} THEN 2 END) AS r_${k}`,
      `COALESCE(q_${k}, CASE WHEN ${d.typeIsKind(y, 'boolean')} THEN (CASE WHEN ${d.jsonBoolean(j)} THEN 1.0 ELSE 0.0 END) END) AS n_${k}`,
      `${d.jsonText(j)} AS s_${k}`,
      `CAST(${j} AS VARCHAR) AS t_${k}`,
    );
  }

  const ctes = [
    `raw AS (SELECT ${raw.join(', ')} FROM c_events e WHERE e.ts <= ${T()})`,
    ...(many ? [`items AS (SELECT ${items.join(', ')} FROM raw)`] : []),
    `base AS (SELECT ${base.join(', ')} FROM ${many ? 'items' : 'raw'})`,
    `vals AS (SELECT ${vals.join(', ')} FROM base WHERE ${[...flags.values()].join(' OR ') || 'FALSE'})`,
    `agg AS (SELECT ${['profile_id', ...aggregates].join(', ')} FROM vals GROUP BY profile_id)`,
    ...extra,
  ];
  const sql =
    `WITH ${ctes.join(',\n')}\n` +
    `SELECT p.profile_id AS profile_id, ${outputs.join(', ')} FROM c_profiles p LEFT JOIN agg a ON a.profile_id = p.profile_id ${joins.join(' ')} ORDER BY p.profile_id`;
  return { sql, params, columns: defs.map((def, i) => ({ key: def.key, column: column(i) })) };
}
