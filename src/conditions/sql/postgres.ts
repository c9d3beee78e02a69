import { ISO_INSTANT_PATTERN } from '../values.js';
import type { SqlDialect, SqlParamType } from './dialect.js';

const TYPES: Record<SqlParamType, string> = { text: 'TEXT', double: 'DOUBLE PRECISION', bigint: 'BIGINT', boolean: 'BOOLEAN' };

/** A text[] literal for the `#>` operator: each segment quoted, backslashes and quotes escaped. */
const textArray = (segments: string[]) => `{${segments.map((s) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;

/**
 * PostgreSQL (15+), with the JSON columns of the inputs as JSONB. Casts sit inside CASE so they only run on values
 * of the right kind (PostgreSQL does not promise to short-circuit AND).
 * Known difference: a path segment such as `-1` or `01` indexes a JSON array here (from the end, or as 1), where
 * the reference interpreter and DuckDB find nothing.
 */
export const postgresDialect: SqlDialect = {
  name: 'postgres',
  placeholder: (index, type) => `CAST($${index} AS ${TYPES[type]})`,
  jsonPathParam: textArray,
  jsonPathType: 'text',
  jsonGet: (json, path) => `(${json} #> CAST(${path} AS TEXT[]))`,
  isJsonKind: (json, kind) => `(jsonb_typeof(${json}) = '${kind}')`,
  jsonType: (json) => `jsonb_typeof(${json})`,
  typeIsKind: (type, kind) => `(${type} = '${kind}')`,
  jsonText: (json) => `(CASE WHEN jsonb_typeof(${json}) = 'string' THEN ${json} #>> '{}' END)`,
  jsonNumber: (json) => `(CASE WHEN jsonb_typeof(${json}) = 'number' THEN CAST(${json} #>> '{}' AS DOUBLE PRECISION) END)`,
  jsonBoolean: (json) => `(CASE WHEN jsonb_typeof(${json}) = 'boolean' THEN CAST(${json} #>> '{}' AS BOOLEAN) END)`,
  jsonArrayHasString: (json, needle) => `(CASE WHEN jsonb_typeof(${json}) = 'array' THEN ${json} @> jsonb_build_array(${needle}) END)`,
  jsonInstant(json) {
    const s = `(${json} #>> '{}')`;
    // The pattern bounds every field; the day is then checked against the length of its month, because a cast of
    // 2024-02-30 raises an error instead of giving NULL. A timestamp without time zone ignores the Z, which is UTC.
    const monthLength = `EXTRACT(DAY FROM make_date(CAST(substr(${s}, 1, 4) AS INT), CAST(substr(${s}, 6, 2) AS INT), 1) + INTERVAL '1 month - 1 day')`;
    return (
      `(CASE WHEN jsonb_typeof(${json}) = 'number' THEN CAST(${s} AS DOUBLE PRECISION)` +
      ` WHEN jsonb_typeof(${json}) = 'string' AND ${s} ~ '${ISO_INSTANT_PATTERN}' THEN` +
      ` CASE WHEN CAST(substr(${s}, 9, 2) AS INT) <= ${monthLength} THEN CAST(EXTRACT(EPOCH FROM CAST(${s} AS TIMESTAMP)) * 1000 AS DOUBLE PRECISION) END END)`
    );
  },
  textContains: (haystack, needle) => `(strpos(${haystack}, ${needle}) > 0)`,
  textStartsWith: (text, prefix) => `starts_with(${text}, ${prefix})`,
  textOrder: (text) => `(${text}) COLLATE "C"`,
  argExtreme: (which, value, keys, filter) =>
    `(array_agg(${value} ORDER BY ${keys.map((k) => (which === 'min' ? k : `${k} DESC`)).join(', ')}) FILTER (WHERE ${filter}))[1]`,
  toJsonText: (expr) => `CAST(to_jsonb(${expr}) AS TEXT)`,
  // bit(32) to bigint zero-extends, so the 32 bits read as an unsigned number, as in JavaScript and DuckDB.
  bucket: (profileId, salt) => `(CAST(CAST('x' || substr(md5(${salt} || ':' || ${profileId}), 1, 8) AS BIT(32)) AS BIGINT) % 100)`,
};
