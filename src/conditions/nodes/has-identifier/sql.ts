import type { SqlContext } from '../../node-kind.js';
import type { HasIdentifierNode } from './schema.js';

export function hasIdentifierSql(node: HasIdentifierNode, ctx: SqlContext): string {
  const t = ctx.alias('i');
  return `EXISTS (SELECT 1 FROM c_identifiers ${t} WHERE ${t}.profile_id = ${ctx.profile}.profile_id AND ${t}.type = ${ctx.param(node.has_identifier, 'text')})`;
}
