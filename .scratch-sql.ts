import { compileConditionQuery, duckdbDialect, parseCondition } from './src/conditions/index.js';
import { AUDIENCES } from './bench/_audiences/definitions.js';
for (const k of process.argv.slice(2)) {
  const a = AUDIENCES.find((x) => x.key === k)!;
  const q = compileConditionQuery(parseCondition(a.definition), duckdbDialect, 0);
  console.log(k, q.sql, JSON.stringify(q.params));
}
