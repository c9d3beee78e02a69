import { compileComparison, readComparison } from '../../comparison.js';
import type { SqlContext } from '../../node-kind.js';
import { pathSegments } from '../../values.js';
import { profilePath, type ComputedNode, type ProfileSource, type TraitNode } from './schema.js';

export function profileComparisonSql(node: TraitNode | ComputedNode, source: ProfileSource, ctx: SqlContext): string {
  const d = ctx.dialect;
  const path = ctx.param(d.jsonPathParam(pathSegments(profilePath(node))), d.jsonPathType);
  return compileComparison(d.jsonGet(`${ctx.profile}.${source}`, path), readComparison(node), ctx);
}
