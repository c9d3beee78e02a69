import type { SqlContext } from '../../node-kind.js';
import type { InAudienceNode } from './schema.js';

// A semi-join on the audience's members (an IN list the engine builds once), rather than a correlated EXISTS.
export function inAudienceSql(node: InAudienceNode, ctx: SqlContext): string {
  const t = ctx.alias('m');
  return `COALESCE(${ctx.profile}.profile_id IN (SELECT ${t}.profile_id FROM c_memberships ${t} WHERE ${t}.profile_id IS NOT NULL AND ${t}.audience = ${ctx.param(node.in_audience, 'text')}), FALSE)`;
}
