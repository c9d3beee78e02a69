import type { SqlContext } from '../../node-kind.js';
import type { BucketNode } from './schema.js';

export function bucketSql(node: BucketNode, ctx: SqlContext): string {
  const b = ctx.dialect.bucket(`${ctx.profile}.profile_id`, ctx.param(node.bucket.salt, 'text'));
  const terms: string[] = [];
  if (node.bucket.gte !== undefined) terms.push(`${b} >= ${ctx.param(node.bucket.gte, 'bigint')}`);
  if (node.bucket.lt !== undefined) terms.push(`${b} < ${ctx.param(node.bucket.lt, 'bigint')}`);
  return `COALESCE(${terms.join(' AND ')}, FALSE)`;
}
