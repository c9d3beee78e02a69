import { parseDuration } from '../../../core/duration.js';
import { compileComparison, readComparison } from '../../comparison.js';
import type { SqlContext } from '../../node-kind.js';
import { parseIsoInstant, pathSegments } from '../../values.js';
import { countHolds, countOf, type CountComparison, type PerformedNode, type PropertyFilter } from './schema.js';

/** The WHERE terms that select a profile's matching events up to T in the events table aliased `e`. */
export function compileEventMatch(e: string, name: string, where: PropertyFilter[] | undefined, ctx: SqlContext): string[] {
  const d = ctx.dialect;
  const terms = [`${e}.profile_id = ${ctx.profile}.profile_id`, `${e}.ts <= ${ctx.asOf}`, `${e}.event = ${ctx.param(name, 'text')}`];
  for (const filter of where ?? []) {
    const path = ctx.param(d.jsonPathParam(pathSegments(filter.property)), d.jsonPathType);
    terms.push(compileComparison(d.jsonGet(`${e}.properties`, path), readComparison(filter), ctx));
  }
  return terms;
}

function compileCount(n: string, count: CountComparison, ctx: SqlContext): string {
  const p = (v: number) => ctx.param(v, 'bigint');
  if (count.eq !== undefined) return `${n} = ${p(count.eq)}`;
  if (count.gt !== undefined) return `${n} > ${p(count.gt)}`;
  if (count.gte !== undefined) return `${n} >= ${p(count.gte)}`;
  if (count.lt !== undefined) return `${n} < ${p(count.lt)}`;
  if (count.lte !== undefined) return `${n} <= ${p(count.lte)}`;
  return `${n} BETWEEN ${p(count.between![0])} AND ${p(count.between![1])}`;
}

export function performedSql(node: PerformedNode, ctx: SqlContext): string {
  const e = ctx.alias('e');
  const terms = compileEventMatch(e, node.performed, node.where, ctx);
  if (node.within !== undefined) terms.push(`${e}.ts > ${ctx.asOf} - ${ctx.param(parseDuration(node.within), 'bigint')}`);
  if (node.between !== undefined) {
    terms.push(`${e}.ts >= ${ctx.param(parseIsoInstant(node.between[0])!, 'bigint')}`, `${e}.ts < ${ctx.param(parseIsoInstant(node.between[1])!, 'bigint')}`);
  }
  const count = countOf(node);
  if (!countHolds(count, 0)) {
    // A profile without matching events fails: the profiles with enough of them, in one pass over the events
    // (a semi-join) rather than a count per profile. The first term is the correlation, left out here.
    const own = terms.slice(1);
    const once = count.gte === 1 || count.gt === 0;
    const having = once ? '' : ` GROUP BY ${e}.profile_id HAVING ${compileCount('COUNT(*)', count, ctx)}`;
    return `COALESCE(${ctx.profile}.profile_id IN (SELECT ${e}.profile_id FROM c_events ${e} WHERE ${[`${e}.profile_id IS NOT NULL`, ...own].join(' AND ')}${having}), FALSE)`;
  }
  const n = `(SELECT COUNT(*) FROM c_events ${e} WHERE ${terms.join(' AND ')})`;
  return `COALESCE(${compileCount(n, count, ctx)}, FALSE)`;
}
