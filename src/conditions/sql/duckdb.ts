import { ISO_INSTANT_PATTERN } from '../values.js';
import type { JsonKind, SqlDialect, SqlParamType } from './dialect.js';

const TYPES: Record<SqlParamType, string> = { text: 'VARCHAR', double: 'DOUBLE', bigint: 'BIGINT', boolean: 'BOOLEAN' };

// json_type names per kind; large integers come out as UBIGINT, HUGEINT or DOUBLE.
const KINDS: Record<JsonKind, string> = {
  null: "('NULL')",
  string: "('VARCHAR')",
  number: "('BIGINT', 'UBIGINT', 'HUGEINT', 'DOUBLE')",
  boolean: "('BOOLEAN')",
  array: "('ARRAY')",
  object: "('OBJECT')",
};

/** A JSON Pointer (`/a/b`), which DuckDB's json_extract follows as values.ts valueAt does. */
const pointer = (segments: string[]) => segments.map((s) => `/${s.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');

export const duckdbDialect: SqlDialect = {
  name: 'duckdb',
  placeholder: (index, type) => `CAST($${index} AS ${TYPES[type]})`,
  jsonPathParam: pointer,
  jsonPathType: 'text',
  jsonGet: (json, path) => `json_extract(${json}, ${path})`,
  isJsonKind: (json, kind) => `(json_type(${json}) IN ${KINDS[kind]})`,
  jsonType: (json) => `json_type(${json})`,
  typeIsKind: (type, kind) => `(${type} IN ${KINDS[kind]})`,
  jsonText: (json) => `(CASE WHEN json_type(${json}) = 'VARCHAR' THEN json_extract_string(${json}, '$') END)`,
  // The value's JSON text cast as text: only a JSON number's text reads as a double (a string's has its quotes), so
  // no json_type test is needed. JSON texts from json_extract are minified.
  jsonNumber: (json) => `TRY_CAST(CAST(${json} AS VARCHAR) AS DOUBLE)`,
  jsonBoolean: (json) => `TRY_CAST(${json} AS BOOLEAN)`,
  jsonArrayHasString: (json, needle) =>
    `(len(list_filter(json_extract(${json}, '$[*]'), x -> json_type(x) = 'VARCHAR' AND json_extract_string(x, '$') = ${needle})) > 0)`,
  jsonInstant: (json) =>
    `(CASE WHEN json_type(${json}) IN ${KINDS.number} THEN TRY_CAST(${json} AS DOUBLE)` +
    ` WHEN json_type(${json}) = 'VARCHAR' AND regexp_full_match(json_extract_string(${json}, '$'), '${ISO_INSTANT_PATTERN}')` +
    ` THEN CAST(epoch_ms(TRY_CAST(json_extract_string(${json}, '$') AS TIMESTAMP)) AS DOUBLE) END)`,
  textContains: (haystack, needle) => `contains(${haystack}, ${needle})`,
  textStartsWith: (text, prefix) => `starts_with(${text}, ${prefix})`,
  // DuckDB compares VARCHAR by bytes by default, which for UTF-8 is code point order.
  textOrder: (text) => text,
  // One parse of the document for all paths (json_extract with a list of paths returns a list).
  jsonGetMany: (json, paths, alias) => ({ columns: [`json_extract(${json}, [${paths.join(', ')}]) AS ${alias}`], items: paths.map((_, i) => `${alias}[${i + 1}]`) }),
  valueSetAggregate: (rank, num, text, filter) => `list(DISTINCT {r: ${rank}, n: COALESCE(${num}, 0), s: COALESCE(${text}, '')}) FILTER (WHERE ${filter})`,
  // Structs sort field by field, text by bytes (code point order); a number prints in its shortest exact form.
  valueSetJson: (set, limit) =>
    `('[' || array_to_string(list_transform(list_slice(list_sort(${set}), 1, ${limit}), x -> CASE x.r WHEN 0 THEN CAST(x.n AS VARCHAR) WHEN 1 THEN CAST(to_json(x.s) AS VARCHAR) WHEN 2 THEN (CASE WHEN x.n = 1 THEN 'true' ELSE 'false' END) END), ',') || ']')`,
  argExtreme: (which, value, keys, filter) => `arg_${which}(${value}, (${keys.join(', ')})) FILTER (WHERE ${filter})`,
  toJsonText: (expr) => `CAST(to_json(${expr}) AS VARCHAR)`,
  bucket: (profileId, salt) => `(CAST(('0x' || substr(md5(${salt} || ':' || ${profileId}), 1, 8)) AS BIGINT) % 100)`,
};
