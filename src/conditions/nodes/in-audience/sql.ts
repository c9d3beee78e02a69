import type { SqlContext } from '../../node-kind.js';
import type { InAudienceNode } from './schema.js';

export function inAudienceSql(node: InAudienceNode, ctx: SqlContext): string {
  const t = ctx.alias('m');
  return `EXISTS (SELECT 1 FROM c_memberships ${t} WHERE ${t}.profile_id = ${ctx.profile}.profile_id AND ${t}.audience = ${ctx.param(node.in_audience, 'text')})`;
}
