import { parseDuration } from '../../../core/duration.js';
import type { SqlContext } from '../../node-kind.js';
import { compileEventMatch } from '../performed/sql.js';
import { occurrenceEvent, type Occurrence, type OccurrenceNode } from './schema.js';

export function occurrenceSql(node: OccurrenceNode, which: Occurrence, ctx: SqlContext): string {
  const e = ctx.alias('e');
  const age = `(${ctx.asOf} - ${which === 'first' ? 'MIN' : 'MAX'}(${e}.ts))`;
  const bounds = (['gt', 'gte', 'lt', 'lte'] as const)
    .filter((op) => node.ago[op] !== undefined)
    .map((op) => `${age} ${{ gt: '>', gte: '>=', lt: '<', lte: '<=' }[op]} ${ctx.param(parseDuration(node.ago[op]!), 'bigint')}`);
  // A profile without matching events fails: the profiles whose first (last) matching event is in range, in one
  // pass over the events grouped by profile (a semi-join) rather than an aggregate per profile. The first term of
  // the match is the correlation, left out here.
  const own = compileEventMatch(e, occurrenceEvent(node), node.where, ctx).slice(1);
  return `COALESCE(${ctx.profile}.profile_id IN (SELECT ${e}.profile_id FROM c_events ${e} WHERE ${[`${e}.profile_id IS NOT NULL`, ...own].join(' AND ')} GROUP BY ${e}.profile_id HAVING ${bounds.join(' AND ')}), FALSE)`;
}
