import type { SqlValue } from '../../core/ports/warehouse.js';
import type { Condition } from '../condition.js';
import { kindOf } from '../kinds.js';
import type { SqlContext } from '../node-kind.js';
import type { SqlDialect, SqlParamType } from './dialect.js';

/** A compiled query and its parameters, in placeholder order. */
export interface CompiledQuery {
  sql: string;
  params: SqlValue[];
}

/**
 * Compiles a condition into a boolean expression over a profile row aliased `profileAlias` (a c_profiles row).
 * T, the instant "as of" which the condition is evaluated, is a parameter like the user values, bound once and
 * only when the condition reads time (engines refuse parameters a statement does not use). The expression is
 * never NULL. Use this to embed a condition in a larger query; compileConditionQuery wraps it.
 */
export function compileConditionExpression(condition: Condition, dialect: SqlDialect, asOf: number, profileAlias = 'p'): CompiledQuery {
  const params: SqlValue[] = [];
  let aliases = 0;
  let asOfPlaceholder: string | undefined;
  const ctx: SqlContext = {
    dialect,
    get asOf() {
      asOfPlaceholder ??= ctx.param(asOf, 'bigint');
      return asOfPlaceholder;
    },
    profile: profileAlias,
    param(value: SqlValue, type: SqlParamType) {
      params.push(value);
      return dialect.placeholder(params.length, type);
    },
    alias: (prefix) => `${prefix}${++aliases}`,
    compile: (child) => kindOf(child).sql(child, ctx),
  };
  return { sql: ctx.compile(condition), params };
}

/** One query "as of T" over the relational inputs (model.ts SQL_INPUTS): the ids of the profiles for which the condition holds. */
export function compileConditionQuery(condition: Condition, dialect: SqlDialect, asOf: number): CompiledQuery {
  const { sql, params } = compileConditionExpression(condition, dialect, asOf, 'p');
  return { sql: `SELECT p.profile_id FROM c_profiles p WHERE ${sql} ORDER BY p.profile_id`, params };
}
