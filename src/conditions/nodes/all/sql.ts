import type { SqlContext } from '../../node-kind.js';
import type { AllNode } from './schema.js';

export const allSql = (node: AllNode, ctx: SqlContext): string => (node.all.length === 0 ? 'TRUE' : `(${node.all.map((c) => ctx.compile(c)).join(' AND ')})`);
