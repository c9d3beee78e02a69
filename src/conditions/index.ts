/** The condition language: one definition, three evaluators that agree (ARCHITECTURE.md section 5). */
export type { Condition } from './condition.js';
export type { CatalogLookup, EventRecord, JsonValue, ProfileView, ReferenceInput, StreamingInput } from './model.js';
export { emptyCatalogs, SQL_INPUTS } from './model.js';
export { parseCondition, parseConditionText } from './parse.js';
export { ConditionSchema, NODE_KEYS } from './kinds.js';
export { evaluate } from './reference.js';
export { createStreamingEvaluator, type StreamingEvaluator, type StreamingState } from './streaming.js';
export { compileConditionExpression, compileConditionQuery, type CompiledQuery } from './sql/compiler.js';
export type { SqlDialect } from './sql/dialect.js';
export { duckdbDialect } from './sql/duckdb.js';
export { postgresDialect } from './sql/postgres.js';
export { loadDuckDbInputs, DUCKDB_INPUT_TABLES, type ConditionInputs } from './sql/duckdb-inputs.js';
