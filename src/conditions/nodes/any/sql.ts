import type { SqlContext } from '../../node-kind.js';
import type { AnyNode } from './schema.js';

export const anySql = (node: AnyNode, ctx: SqlContext): string => (node.any.length === 0 ? 'FALSE' : `(${node.any.map((c) => ctx.compile(c)).join(' OR ')})`);
