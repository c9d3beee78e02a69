import type { SqlValue } from '../../core/ports/warehouse.js';

/** The SQL type a parameter is bound as; dialects cast placeholders so engines never have to guess. */
export type SqlParamType = 'text' | 'double' | 'bigint' | 'boolean';

/** The kinds of JSON value a comparison distinguishes. */
export type JsonKind = 'null' | 'string' | 'number' | 'boolean' | 'array' | 'object';

/**
 * Everything that differs between SQL engines, and nothing else: JSON access, text and time functions,
 * placeholders. The compiler (sql/compiler.ts) and the node kinds build the rest of the query in standard SQL.
 * Every function returns an SQL expression; JSON arguments are expressions of the engine's JSON type.
 */
export interface SqlDialect {
  readonly name: 'duckdb' | 'postgres';
  /** The placeholder of the index-th parameter (1-based), cast to its type. */
  placeholder(index: number, type: SqlParamType): string;
  /** The parameter value that stands for a dotted path's segments in jsonGet. */
  jsonPathParam(segments: string[]): SqlValue;
  /** The JSON value at a path (a placeholder of jsonPathParam), or NULL when missing. */
  jsonGet(json: string, pathPlaceholder: string): string;
  /** The SQL type a path placeholder is bound as. */
  readonly jsonPathType: SqlParamType;
  isJsonKind(json: string, kind: JsonKind): string;
  /** The engine's name of a JSON value's type, to compute once and test with typeIsKind. */
  jsonType(json: string): string;
  /** Whether a jsonType result is of this kind (isJsonKind(j, k) is typeIsKind(jsonType(j), k)). */
  typeIsKind(type: string, kind: JsonKind): string;
  /** The text of a JSON string (NULL for other kinds). */
  jsonText(json: string): string;
  /** The number of a JSON number as a double (NULL for other kinds, never an error, so no kind test is needed). */
  jsonNumber(json: string): string;
  jsonBoolean(json: string): string;
  /** Whether a JSON array has an element that is the string `needle`. */
  jsonArrayHasString(json: string, needle: string): string;
  /** A date read from JSON, as ms since the epoch (double): a number, or a strict ISO string (values.ts); else NULL. */
  jsonInstant(json: string): string;
  textContains(haystack: string, needle: string): string;
  textStartsWith(text: string, prefix: string): string;
  /** ORDER BY term that sorts text by code point, as compareCodePoints does. */
  textOrder(text: string): string;
  /** The bucket 0-99 of values.ts bucketOf: first 32 bits of md5(salt || ':' || id), mod 100. */
  bucket(profileId: string, salt: string): string;
  /**
   * Aggregate (computed traits): `value` of the row whose tuple `keys` is the least (`min`) or greatest (`max`)
   * among the rows where `filter` holds; NULL when none. Keys are never NULL.
   */
  argExtreme(which: 'min' | 'max', value: string, keys: string[], filter: string): string;
  /**
   * Optional: several paths of one JSON value read in one parse. `columns` go in one SELECT list (aliases from
   * `alias`), `items[i]` reads path i from them in the SELECT over it. Without it, each path is a jsonGet.
   */
  jsonGetMany?(json: string, pathPlaceholders: string[], alias: string): { columns: string[]; items: string[] };
  /**
   * Optional (computed traits' `unique`): an aggregate of the distinct values (rank, number, text) of the rows where
   * `filter` holds, and the JSON array text of the `limit` least of them in value order (values.ts compareScalars).
   * Without them, `unique` is computed by a GROUP BY and a window over each profile's values.
   */
  valueSetAggregate?(rank: string, num: string, text: string, filter: string): string;
  valueSetJson?(set: string, limit: string): string;
  /** The JSON text of any SQL value, NULL for NULL (SQL traits' value column). */
  toJsonText(expr: string): string;
}
