import type { SqlContext } from '../../node-kind.js';
import type { SubscribedNode } from './schema.js';

export function subscribedSql(node: SubscribedNode, ctx: SqlContext): string {
  const t = ctx.alias('s');
  return `EXISTS (SELECT 1 FROM c_subscriptions ${t} WHERE ${t}.profile_id = ${ctx.profile}.profile_id AND ${t}.grp = ${ctx.param(node.subscribed, 'text')} AND ${t}.status = 'subscribed')`;
}
