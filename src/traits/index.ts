/** Computed traits (kind `traits`): one definition, three evaluators that agree (ARCHITECTURE.md section 5). */
export type { TraitEvaluator, CompileTraitQuery } from './evaluator.js';
export {
  COMPUTE_KINDS,
  ComputeSchema,
  computeOf,
  DEFAULT_LIMIT,
  EventTraitSchema,
  isSqlTrait,
  MAX_LIMIT,
  parseTraitDefinition,
  parseTraitDefinitionText,
  SqlTraitSchema,
  TIME_UNITS,
  TraitDefinitionSchema,
  traitMode,
  type ComputeKind,
  type EventTraitDefinition,
  type SqlTraitDefinition,
  type TimeUnit,
  type TraitCompute,
  type TraitDefinition,
} from './definition.js';
export { traitReference } from './reference.js';
export { createTraitEvaluator, WINDOW_ENTRY_CAP } from './streaming.js';
export { compileAllTraitsQuery, compileSqlTraitQuery, compileTraitQuery, type CompiledTraitsQuery } from './sql.js';
export { checkSqlTrait, SQL_TRAIT_VIEWS } from './sql-check.js';
