import { compileComparison, readComparison } from '../../comparison.js';
import type { SqlContext } from '../../node-kind.js';
import { pathSegments } from '../../values.js';
import type { CatalogNode } from './schema.js';

/** SQL for the row's key (text, or NULL when there is none), following the same rules as reference.ts. */
function compileKey(node: CatalogNode, ctx: SqlContext): string {
  const d = ctx.dialect;
  if ('trait' in node.key_from) {
    const j = d.jsonGet(`${ctx.profile}.traits`, ctx.param(d.jsonPathParam(pathSegments(node.key_from.trait)), d.jsonPathType));
    return `(CASE WHEN ${d.isJsonKind(j, 'string')} THEN ${d.jsonText(j)} END)`;
  }
  const e = ctx.alias('e');
  const j = d.jsonGet(`${e}.properties`, ctx.param(d.jsonPathParam(pathSegments(node.key_from.property)), d.jsonPathType));
  const where = [`${e}.profile_id = ${ctx.profile}.profile_id`, `${e}.ts <= ${ctx.asOf}`, `${e}.event = ${ctx.param(node.key_from.last_event, 'text')}`, d.isJsonKind(j, 'string')];
  return `(SELECT ${d.jsonText(j)} FROM c_events ${e} WHERE ${where.join(' AND ')} ORDER BY ${e}.ts DESC, ${d.textOrder(d.jsonText(j))} DESC LIMIT 1)`;
}

export function catalogSql(node: CatalogNode, ctx: SqlContext): string {
  const d = ctx.dialect;
  const c = ctx.alias('c');
  const terms = [`${c}.catalog = ${ctx.param(node.catalog, 'text')}`, `${c}.key = ${compileKey(node, ctx)}`];
  for (const filter of node.where ?? []) {
    const path = ctx.param(d.jsonPathParam(pathSegments(filter.field)), d.jsonPathType);
    terms.push(compileComparison(d.jsonGet(`${c}.row`, path), readComparison(filter), ctx));
  }
  return `EXISTS (SELECT 1 FROM c_catalog_rows ${c} WHERE ${terms.join(' AND ')})`;
}
