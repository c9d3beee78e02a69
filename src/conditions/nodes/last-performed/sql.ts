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
  // With no matching event the aggregate is NULL, and so is the answer, which COALESCE turns into false.
  const terms = compileEventMatch(e, occurrenceEvent(node), node.where, ctx);
  return `COALESCE((SELECT ${bounds.join(' AND ')} FROM c_events ${e} WHERE ${terms.join(' AND ')}), FALSE)`;
}
